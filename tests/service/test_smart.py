"""SMART App Launch over real HTTP on loopback: ``icaht serve`` as a process, the EHR of
tests/utils/fhir_server.py (sekmet-fhir plus a SMART authorization server fixture), and a minimal
browser that follows redirects and keeps the icaht cookies."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tests.utils.fhir_server import FHIR_USER, AppClient, FhirServer, fhir_server, public_jwk, s256
from tests.utils.icaht_process import IcahtProcess, start
from tests.utils.postgres_harness import free_port

from icaht.store.database import make_engine
from icaht.store.settings import StoreSettings
from icaht.store.tables import AuditEntry, Patient, User

CLIENT_ID = "icaht-app"
EHR_PATIENT = "jain-2023-case2"
PICKED_PATIENT = "jain-2023-case1"


@pytest.fixture(scope="module")
def ehr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    workdir = tmp_path_factory.mktemp("ehr")
    with fhir_server(workdir, ["jain-case2.json", "jain-case1.json"]) as server:
        yield server


@dataclass
class Icaht:
    url: str
    data_dir: Path
    server: IcahtProcess

    def logs(self) -> str:
        return self.server.stop()


@contextmanager
def _serve(
    ehr: FhirServer, tmp_path: Path, client_id: str, jwks: dict[str, Any] | None = None
) -> Iterator[Icaht]:
    """``icaht serve`` registered at the EHR as a public client, or a confidential one with a
    private key (private_key_jwt) when ``jwks`` is given (the key is written for the server)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ICAHT_DATA_DIR": str(tmp_path / "data"),
        "ICAHT_SECRET_KEY": "a-test-secret-that-is-not-the-default",
        "ICAHT_SMART_CLIENT_ID": client_id,
        "ICAHT_SMART_REDIRECT_URL": f"{url}/smart/callback",
        "ICAHT_SMART_ISSUERS": f'["{ehr.base}"]',
        "ICAHT_SMART_FHIR_BASE": ehr.base,
    }
    env.pop("ICAHT_DEMO", None)
    if jwks is not None:
        env["ICAHT_SMART_KEY_FILE"] = str(ehr.backend_ec_key)
    ehr.auth.clients[client_id] = AppClient([f"{url}/smart/callback"], jwks)
    command = [sys.executable, "-m", "icaht.cli"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    process = start(["serve"], env, tmp_path / "serve.log", port=port)
    server = Icaht(url, tmp_path / "data", process)
    try:
        yield server
    finally:
        server.logs()


@pytest.fixture
def icaht(ehr: FhirServer, tmp_path: Path) -> Iterator[Icaht]:
    with _serve(ehr, tmp_path, CLIENT_ID) as server:
        yield server


@dataclass
class Browser:
    """Follows redirects across hosts; keeps icaht's cookies (Secure ones too: loopback)."""

    icaht: str
    cookies: dict[str, str] = field(default_factory=dict)
    visited: list[str] = field(default_factory=list)

    def get(self, url: str, stop: str | None = None) -> httpx.Response:
        """GET and follow redirects; stop before a URL starting with ``stop``."""
        for _ in range(10):
            if stop is not None and url.startswith(stop):
                raise StopAt(url)
            self.visited.append(url)
            headers = {}
            if url.startswith(self.icaht) and self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            response = httpx.get(url, headers=headers, timeout=60)
            if url.startswith(self.icaht):
                for cookie in response.cookies.jar:
                    if cookie.value:
                        self.cookies[cookie.name] = cookie.value
                    else:
                        self.cookies.pop(cookie.name, None)
                for header in response.headers.get_list("set-cookie"):
                    if "Max-Age=0" in header or 'expires="Thu, 01 Jan 1970' in header:
                        self.cookies.pop(header.split("=", 1)[0], None)
            if response.status_code not in (301, 302, 303, 307):
                return response
            location = response.headers["location"]
            url = location if "://" in location else self.icaht + location
        raise AssertionError("too many redirects")


class StopAt(Exception):  # noqa: N818 (a control-flow signal)
    def __init__(self, url: str) -> None:
        self.url = url


def _users(data_dir: Path) -> dict[str, str]:
    engine = make_engine(StoreSettings(data_dir=data_dir).url())
    with Session(engine) as session:
        found = {u.username: u.role for u in session.scalars(select(User))}
    engine.dispose()
    return found


def _audit_actions(data_dir: Path) -> list[tuple[str, str, str | None]]:
    engine = make_engine(StoreSettings(data_dir=data_dir).url())
    with Session(engine) as session:
        rows = [(a.actor, a.action, a.patient_key) for a in session.scalars(select(AuditEntry))]
    engine.dispose()
    return rows


def _assert_on_patient_page(response: httpx.Response, patient: str) -> None:
    assert response.status_code == 200, response.text[:500]
    final = urlsplit(str(response.url))
    assert final.path == "/patient"
    assert parse_qs(final.query)["id"] == [patient]
    assert patient in response.text


def test_ehr_launch_opens_the_launched_patient(ehr: FhirServer, icaht: Icaht) -> None:
    before = ehr.auth.events.count("pkce-ok")
    browser = Browser(icaht.url)
    launch = ehr.auth.new_launch(EHR_PATIENT)
    query = urlencode({"iss": ehr.base, "launch": launch})
    response = browser.get(f"{icaht.url}/smart/launch?{query}")
    _assert_on_patient_page(response, EHR_PATIENT)
    assert ehr.auth.events.count("pkce-ok") == before + 1
    authorize = next(u for u in browser.visited if u.startswith(f"{ehr.root}/auth/authorize"))
    params = parse_qs(urlsplit(authorize).query)
    assert params["code_challenge_method"] == ["S256"]
    assert params["launch"] == [launch]
    assert "launch" in params["scope"][0].split()
    assert params["aud"] == [ehr.base]
    username = f"smart:{ehr.base}/{FHIR_USER}"
    assert _users(icaht.data_dir)[username] == "clinician"
    assert (username, "smart-launch", EHR_PATIENT) in _audit_actions(icaht.data_dir)
    # a second launch reuses the user and adds no data
    second = urlencode({"iss": ehr.base, "launch": ehr.auth.new_launch(EHR_PATIENT)})
    again = browser.get(f"{icaht.url}/smart/launch?{second}")
    _assert_on_patient_page(again, EHR_PATIENT)
    assert list(_users(icaht.data_dir)).count(username) == 1
    logs = icaht.logs()
    assert ehr.auth.issued, "the fixture issued access tokens"
    for token in ehr.auth.issued:
        assert token not in logs


def test_standalone_launch_opens_the_patient_picked_at_the_ehr(
    ehr: FhirServer, icaht: Icaht
) -> None:
    ehr.auth.standalone_patient = PICKED_PATIENT
    browser = Browser(icaht.url)
    response = browser.get(f"{icaht.url}/smart/launch")  # default FHIR base
    _assert_on_patient_page(response, PICKED_PATIENT)
    authorize = next(u for u in browser.visited if u.startswith(f"{ehr.root}/auth/authorize"))
    params = parse_qs(urlsplit(authorize).query)
    assert "launch" not in params
    assert "launch/patient" in params["scope"][0].split()


def test_wrong_state_is_refused_and_nothing_is_stored(ehr: FhirServer, icaht: Icaht) -> None:
    browser = Browser(icaht.url)
    launch = ehr.auth.new_launch(EHR_PATIENT)
    query = urlencode({"iss": ehr.base, "launch": launch})
    with pytest.raises(StopAt) as stopped:
        browser.get(f"{icaht.url}/smart/launch?{query}", stop=f"{icaht.url}/smart/callback")
    callback = urlsplit(stopped.value.url)
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    issued = len(ehr.auth.issued)
    forged = {**params, "state": params["state"][:-2] + "xx"}
    response = browser.get(f"{icaht.url}/smart/callback?{urlencode(forged)}")
    assert response.status_code == 400
    assert "state" in response.text
    assert len(ehr.auth.issued) == issued  # the code was not exchanged
    assert not any(u.startswith("smart:") for u in _users(icaht.data_dir))
    # without the launch cookie (another browser) the right state is refused too
    response = Browser(icaht.url).get(f"{icaht.url}/smart/callback?{urlencode(params)}")
    assert response.status_code == 400
    # the genuine callback still completes
    _assert_on_patient_page(
        browser.get(f"{icaht.url}/smart/callback?{urlencode(params)}"), EHR_PATIENT
    )


def test_the_fixture_checks_the_pkce_verifier(ehr: FhirServer, icaht: Icaht) -> None:
    """The code of a real launch, redeemed with a wrong verifier, is refused by the EHR."""
    browser = Browser(icaht.url)
    launch = ehr.auth.new_launch(EHR_PATIENT)
    with pytest.raises(StopAt) as stopped:
        browser.get(
            f"{icaht.url}/smart/launch?{urlencode({'iss': ehr.base, 'launch': launch})}",
            stop=f"{icaht.url}/smart/callback",
        )
    code = parse_qs(urlsplit(stopped.value.url).query)["code"][0]
    answer = httpx.post(
        f"{ehr.root}/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{icaht.url}/smart/callback",
            "client_id": CLIENT_ID,
            "code_verifier": "a-guessed-verifier-" + s256("x"),
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert ehr.auth.events[-1] == "pkce-mismatch"


def test_an_untrusted_issuer_is_refused(icaht: Icaht) -> None:
    response = httpx.get(
        f"{icaht.url}/smart/launch", params={"iss": "http://127.0.0.1:9/fhir", "launch": "x"}
    )
    assert response.status_code == 400
    assert "not a trusted" in response.text


def test_ehr_launch_as_a_confidential_client(ehr: FhirServer, tmp_path: Path) -> None:
    """private_key_jwt: the EHR verifies icaht's signed assertion before issuing the token."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key  # noqa: PLC0415

    key = load_pem_private_key(ehr.backend_ec_key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    jwks = {"keys": [public_jwk(key, "app-ec", "ES384")]}
    with _serve(ehr, tmp_path, "icaht-confidential", jwks) as server:
        failures = ehr.auth.events.count("token-error:client")
        launch = ehr.auth.new_launch(EHR_PATIENT)
        query = urlencode({"iss": ehr.base, "launch": launch})
        response = Browser(server.url).get(f"{server.url}/smart/launch?{query}")
        _assert_on_patient_page(response, EHR_PATIENT)
        assert ehr.auth.events.count("token-error:client") == failures
        # without the assertion (as a public client would ask) the EHR refuses the code
        browser = Browser(server.url)
        with pytest.raises(StopAt) as stopped:
            browser.get(
                f"{server.url}/smart/launch?{urlencode({'iss': ehr.base, 'launch': launch})}",
                stop=f"{server.url}/smart/callback",
            )
        code = parse_qs(urlsplit(stopped.value.url).query)["code"][0]
        answer = httpx.post(
            f"{ehr.root}/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": f"{server.url}/smart/callback",
                "client_id": "icaht-confidential",
                "code_verifier": "x" * 43,
            },
        )
        assert answer.status_code == 401
        assert ehr.auth.events[-1] == "token-error:client"


def test_a_forged_id_token_is_refused(ehr: FhirServer, icaht: Icaht) -> None:
    ehr.auth.forge_id_token_with = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    try:
        launch = ehr.auth.new_launch(EHR_PATIENT)
        query = urlencode({"iss": ehr.base, "launch": launch})
        response = Browser(icaht.url).get(f"{icaht.url}/smart/launch?{query}")
    finally:
        ehr.auth.forge_id_token_with = None
    assert response.status_code == 400
    assert "id_token" in response.text
    assert not any(u.startswith("smart:") for u in _users(icaht.data_dir))


def test_launching_a_deleted_patient_answers_with_the_deletion(
    ehr: FhirServer, icaht: Icaht
) -> None:
    """Issue 18 item 3: a patient an admin deleted stays deleted until an admin restores it; a
    SMART launch of it is answered with the deletion (409), not as an EHR failure (502)."""
    first = urlencode({"iss": ehr.base, "launch": ehr.auth.new_launch(EHR_PATIENT)})
    _assert_on_patient_page(
        Browser(icaht.url).get(f"{icaht.url}/smart/launch?{first}"), EHR_PATIENT
    )
    engine = make_engine(StoreSettings(data_dir=icaht.data_dir).url())
    with Session(engine) as session, session.begin():
        session.execute(
            update(Patient)
            .where(Patient.patient_key == EHR_PATIENT)
            .values(deleted_at=datetime.now(UTC))
        )
    engine.dispose()
    again = urlencode({"iss": ehr.base, "launch": ehr.auth.new_launch(EHR_PATIENT)})
    response = Browser(icaht.url).get(f"{icaht.url}/smart/launch?{again}")
    assert response.status_code == 409
    assert "deleted by an admin" in response.text
    assert (
        _audit_actions(icaht.data_dir).count(
            (f"smart:{ehr.base}/{FHIR_USER}", "smart-launch", EHR_PATIENT)
        )
        == 1
    )
