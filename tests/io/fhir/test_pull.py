"""``icaht fhir pull`` against a real FHIR R4 server on loopback (sekmet-fhir, see
tests/utils/fhir_server.py) loaded with a synthetic example: bearer token and SMART Backend
Services, paging through ``next`` links, and the pulled record assessing like the native one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session
from tests.utils.fhir_server import (
    BACKEND_CLIENT,
    BACKEND_EC_CLIENT,
    EXAMPLES,
    FhirServer,
    fhir_server,
)
from typer.testing import CliRunner

from icaht.cli import app
from icaht.core.assessment import assess
from icaht.errors import IcahtError
from icaht.io.fhir import pull as pull_module
from icaht.io.fhir.backend_services import BackendClient
from icaht.io.fhir.pull import pull_bundle, pull_patient
from icaht.io.fhir.server import PullError
from icaht.io.inputs import load_courses
from icaht.io.records import read_records
from icaht.knowledge.profile import load_profile
from icaht.store.database import make_engine
from icaht.store.reading import load_record
from icaht.store.settings import StoreSettings

PATIENT = "jain-2023-case2"


@pytest.fixture(scope="module")
def ehr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    with fhir_server(tmp_path_factory.mktemp("fhir")) as server:
        yield server


def test_pull_with_a_bearer_token_pages_through_every_search(
    ehr: FhirServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages: list[str] = []
    real = pull_module.get_json

    def counting(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> object:
        pages.append(url)
        return real(client, url, params)

    monkeypatch.setattr(pull_module, "get_json", counting)
    record, report = pull_patient(ehr.base, PATIENT, token=ehr.static_token, page_size=7)
    native = read_records(EXAMPLES / "jain-case2.json")[0]
    assert record.patient == native.patient
    assert sorted(o.model_dump_json() for o in record.observations) == sorted(
        o.model_dump_json() for o in native.observations
    )
    assert len(record.events) == len(native.events)
    assert report.patients == 1
    # 7 per page: the observations alone need one request per 7, all but the first by next link
    observation_pages = [url for url in pages if "/Observation" in url]
    assert len(observation_pages) >= len(native.observations) // 7
    assert all(url.startswith(ehr.root) for url in pages)


def test_pulled_record_assesses_like_the_native_record(ehr: FhirServer) -> None:
    record, _ = pull_patient(ehr.base, PATIENT, token=ehr.static_token)
    profile = load_profile("seed-2023")
    native = load_courses(EXAMPLES / "jain-case2.json")[0]
    from icaht.io.fhir.courses import courses_from_records  # noqa: PLC0415

    pulled = courses_from_records([record], "pulled")[0]
    a, b = assess(native, 100, profile), assess(pulled, 100, profile)
    assert [r.rule_id for r in a.recommendations] == [r.rule_id for r in b.recommendations]
    assert a.model_dump(exclude={"generated_at"}) == b.model_dump(exclude={"generated_at"})


@pytest.mark.parametrize("key", ["rsa", "ec"])
def test_pull_with_smart_backend_services(ehr: FhirServer, key: str) -> None:
    path = ehr.backend_rsa_key if key == "rsa" else ehr.backend_ec_key
    client = BACKEND_CLIENT if key == "rsa" else BACKEND_EC_CLIENT
    kid = "backend-rsa" if key == "rsa" else None  # None: the key's JWK thumbprint
    record, _ = pull_patient(ehr.base, PATIENT, backend=BackendClient(client, path, kid))
    assert record.patient.patient_id == PATIENT


def test_backend_services_with_an_unregistered_key_is_refused(
    ehr: FhirServer, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "other.pem"
    path.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(PullError, match="refused the client"):
        pull_patient(ehr.base, PATIENT, backend=BackendClient(BACKEND_CLIENT, path))


def test_wrong_token_and_unknown_patient_are_errors_without_the_token(ehr: FhirServer) -> None:
    secret = "not-a-valid-token-xyz"
    with pytest.raises(PullError, match="401") as caught:
        pull_patient(ehr.base, PATIENT, token=secret)
    assert secret not in str(caught.value)
    with pytest.raises(PullError, match="404"):
        pull_patient(ehr.base, "nobody-here", token=ehr.static_token)
    with pytest.raises(IcahtError, match="not a FHIR id"):
        pull_patient(ehr.base, "a/b", token=ehr.static_token)


def test_cli_pull_writes_the_record_and_imports_it(
    ehr: FhirServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICAHT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ICAHT_FHIR_TOKEN", ehr.static_token)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    out = tmp_path / "pulled.json"
    args = ["fhir", "pull", "--base", ehr.base, "--patient", PATIENT, "--out", str(out)]
    result = runner.invoke(app, [*args, "--import"])
    assert result.exit_code == 0, result.output
    assert ehr.static_token not in result.output
    pulled = read_records(out)[0]
    assert pulled.patient.patient_id == PATIENT
    engine = make_engine(StoreSettings().url())
    with Session(engine) as session:
        stored = load_record(session, PATIENT)
    engine.dispose()
    assert stored is not None
    assert len(stored.observations) == len(pulled.observations)
    again = runner.invoke(app, [*args, "--import"])
    assert again.exit_code == 0
    assert "0 created, 0 updated; observations 0 added" in again.output


def test_cli_pull_with_backend_services(ehr: FhirServer, tmp_path: Path) -> None:
    out = tmp_path / "pulled.json"
    result = CliRunner().invoke(
        app,
        [
            "fhir", "pull", "--base", ehr.base, "--patient", PATIENT, "--out", str(out),
            "--client-id", BACKEND_EC_CLIENT, "--key-file", str(ehr.backend_ec_key),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_records(out)[0].patient.patient_id == PATIENT


def test_a_next_link_to_another_server_is_refused() -> None:
    """The bearer token goes to the FHIR base's own server only."""
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.path.endswith("/Patient/p1"):
            return httpx.Response(200, json={"resourceType": "Patient", "id": "p1"})
        link = {"relation": "next", "url": "http://elsewhere.invalid/fhir/Observation?page=2"}
        page = {"resourceType": "Bundle", "type": "searchset", "entry": [], "link": [link]}
        return httpx.Response(200, json=page)

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
        pytest.raises(PullError, match="another server"),
    ):
        pull_bundle(client, "http://ehr.invalid/fhir", "p1")
    assert set(hosts) == {"ehr.invalid"}
