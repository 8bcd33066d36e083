"""Denial of service and failures of the machine (issue 18, items 5, 6 and 12): request bodies
over their route's limit are refused before they are read (413), a busy database or a full disk
is a 503 with Retry-After, text that is not Unicode a 400, and the server refuses to start with
a weak secret. Every answer is problem+json, never a plain 500."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from tests.service.conftest import EXAMPLES
from tests.utils.icaht_process import running

from icaht.errors import IcahtError
from icaht.service.app import create_app
from icaht.service.settings import ServiceSettings
from icaht.store import database
from icaht.store.settings import SQLITE_FILE, StoreSettings
from icaht.store.sqlite_writer import lock_path

PROBLEM = "application/problem+json"
SECRET = "limits-test-secret-0123456789-abcdefghijkl"


def _record(patient_id: str = "limits-1") -> dict[str, object]:
    body: dict[str, object] = json.loads((EXAMPLES / "jain-case2.json").read_text("utf-8"))
    patient = body["patient"]
    assert isinstance(patient, dict)
    patient["patient_id"] = patient_id
    return body


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[TestClient, StoreSettings]]:
    """Demo mode on a migrated SQLite database, with small body limits."""
    store = StoreSettings(data_dir=tmp_path / "data", database_url=None)
    database.upgrade(database.make_engine(store.url()))
    settings = ServiceSettings(demo=True, max_body_bytes=4096, max_cds_body_bytes=64 * 1024)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
        yield client, store


def _raw_post(port: int, path: str, declared: int, sent: bytes) -> tuple[int, dict[str, str], str]:
    """POST with a declared Content-Length but only part of the body sent; the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        )
        sock.sendall(head.encode("ascii") + sent)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        raw_head, _, rest = data.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(rest) < int(headers.get("content-length", "0")):
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(lines[0].split()[1]), headers, rest.decode("utf-8")


def test_a_100_mb_body_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A researcher's 100 MB JSON body (issue 18, item 5) gets 413 problem+json at once, from
    its declared length, and the worker keeps answering."""
    data = tmp_path / "data"
    env = {**os.environ, "ICAHT_DATA_DIR": str(data), "ICAHT_DEMO": "1"}
    icaht = [sys.executable, "-m", "icaht.cli"]
    subprocess.run([*icaht, "db", "upgrade"], env=env, check=True, capture_output=True)
    with running(["serve"], env, tmp_path / "serve.log") as server:
        port = int(server.url.rsplit(":", 1)[1])
        started = time.monotonic()
        status, headers, body = _raw_post(port, "/api/v1/patients", 100 * 1024 * 1024, b"[" * 4096)
        assert status == 413, body
        assert headers["content-type"] == PROBLEM
        assert json.loads(body)["status"] == 413
        assert time.monotonic() - started < 30  # nothing was read or parsed
        assert httpx.get(f"{server.url}/api/v1/health", timeout=10).status_code == 200


def test_each_route_has_its_own_limit_and_chunked_bodies_are_counted(
    demo: tuple[TestClient, StoreSettings],
) -> None:
    client, _ = demo
    big = json.dumps(_record()).encode()
    assert 4096 < len(big) < 64 * 1024
    refused = client.post(
        "/api/v1/patients", content=big, headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 413
    assert refused.headers["content-type"] == PROBLEM
    assert "4096 bytes" in refused.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    chunked = client.post(
        "/api/v1/patients", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413
    assert chunked.headers["content-type"] == PROBLEM
    # A CDS call of the same size is under the CDS limit (here: refused for what it says).
    cds = client.post(
        "/cds-services/icaht-patient-view",
        content=big,
        headers={"Content-Type": "application/json"},
    )
    assert cds.status_code == 422


def test_a_database_locked_past_its_busy_timeout_is_a_503_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds the SQLite database longer than the busy timeout: the write is
    refused with 503 and Retry-After (it was a plain 500), and nothing is saved."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 300)
    store = StoreSettings(data_dir=tmp_path / "data", database_url=None)
    database.upgrade(database.make_engine(store.url()))
    app = create_app(ServiceSettings(demo=True), store)
    with TestClient(app, raise_server_exceptions=False) as client:
        lock = os.open(lock_path(str(tmp_path / "data" / SQLITE_FILE)), os.O_RDWR)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            response = client.post("/api/v1/patients", json=_record())
        finally:
            os.close(lock)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == PROBLEM
        assert int(response.headers["retry-after"]) > 0
        assert "jain" not in response.text
        assert "INSERT" not in response.text
        assert client.get("/api/v1/patients/limits-1").status_code == 404
        assert client.post("/api/v1/patients", json=_record()).status_code == 201


def test_a_full_disk_is_a_503_with_retry_after(tmp_path: Path) -> None:
    """SQLite cannot grow its file (here: ``max_page_count`` at the current size, which fails
    as a full disk does, SQLITE_FULL): 503 naming the storage, with Retry-After."""
    store = StoreSettings(data_dir=tmp_path / "data", database_url=None)
    database.upgrade(database.make_engine(store.url()))
    app = create_app(ServiceSettings(demo=True), store)
    engine = app.state.engine
    with engine.connect() as connection:
        pages = connection.execute(text("PRAGMA page_count")).scalar_one()

    @event.listens_for(engine, "connect")
    def _full(dbapi: object, _: object) -> None:
        dbapi.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]

    engine.dispose()
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/patients", json=_record())
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["title"] == "Storage full"
    assert int(response.headers["retry-after"]) > 0


def test_a_lone_surrogate_is_a_400_problem(demo: tuple[TestClient, StoreSettings]) -> None:
    """JSON may escape half of a UTF-16 pair (``"\\ud800"``); Python's parser takes it, the
    database cannot store it: 400 problem+json (it was a plain 500)."""
    client, _ = demo
    body = json.dumps({"patient": {"patient_id": "\ud800", "sex": "female"}})
    response = client.post(
        "/api/v1/patients", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "secret", ["short-secret-1", "a" * 64, "abababababababababababababababababab"]
)
def test_outside_demo_mode_a_weak_secret_stops_the_start(tmp_path: Path, secret: str) -> None:
    """Issue 18, item 12: ``ICAHT_SECRET_KEY`` needs at least 32 characters and about 96 bits
    of estimated entropy outside demo mode (it signs sessions and CSRF tokens)."""
    with pytest.raises(IcahtError, match="ICAHT_SECRET_KEY is too weak"):
        ServiceSettings(secret_key=secret).check()
    ServiceSettings(secret_key=SECRET).check()
    ServiceSettings(secret_key=secret, demo=True).check()
