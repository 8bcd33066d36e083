"""The service over real HTTP: ``icaht serve`` as a process, called on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.service.conftest import EXAMPLES
from tests.utils.icaht_process import IcahtProcess, running


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[IcahtProcess]:
    env = {
        **os.environ,
        "ICAHT_DATA_DIR": str(tmp_path / "data"),
        "ICAHT_DEMO": "1",
    }
    icaht = [sys.executable, "-m", "icaht.cli"]
    subprocess.run([*icaht, "db", "upgrade"], env=env, check=True, capture_output=True)
    with running(["serve", "--workers", str(request.param)], env, tmp_path / "serve.log") as s:
        yield s


def test_add_and_assess_over_http(server: IcahtProcess) -> None:
    """Over real HTTP with one and two worker processes; the server's own output names no
    patient (issue 4: no patient data in application logs)."""
    body = json.loads((EXAMPLES / "jain-case2.json").read_text(encoding="utf-8"))
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/api/v1/patients", json=body).status_code == 201
        response = client.get("/api/v1/patients/jain-2023-case2/assessment", params={"as_of": 100})
        assert response.status_code == 200
        ids = [r["rule_id"] for r in response.json()["recommendations"]]
        assert "hct.complete-aplasia" in ids
        spec = client.get("/openapi.json").json()
        assert "/api/v1/patients/{patient_id}/assessment" in spec["paths"]
        missing = client.get("/api/v1/patients/nobody")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert client.post("/api/v1/patients", json={"patient": {}}).status_code == 422
    logs = server.stop()
    assert "icaht serving on" in logs
    for secret in ("jain-2023-case2", "nobody", "/api/v1/patients"):
        assert secret not in logs
