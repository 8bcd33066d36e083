"""Issue 18 (security and data integrity), items 1-4, 11, 13, 14 and 16, through the API on
SQLite and PostgreSQL: stored days follow the infusion date, POST merges and PUT replaces, a
deletion stays until an admin restores, every number and string of a record is bounded,
``?profile=`` takes names only, refused patient requests are audited, an admin manages users,
and a served session logs no patient data."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.service.conftest import Service
from tests.utils.icaht_process import running

from icaht.service.app import create_app
from icaht.service.settings import ServiceSettings
from icaht.store.audit import claimed_actor, verify_chain
from icaht.store.database import make_engine
from icaht.store.settings import StoreSettings
from icaht.store.tables import AuditEntry

KEY = "sec-1"


def _record(**facts: Any) -> dict[str, Any]:
    """A patient with one ISO-dated lab and one ISO-dated event."""
    return {
        "patient": {"patient_id": KEY, "infusion_date": "2024-01-01", **facts},
        "observations": [
            {"time": "2024-01-11", "analyte": "anc", "value": 0.3, "unit": "10^9/L"},
            {"time": 2, "analyte": "platelets", "value": 40, "unit": "10^9/L"},
        ],
        "events": [{"kind": "fever", "start": "2024-01-09"}],
    }


def _post(service: Service, body: dict[str, Any], role: str = "clinician") -> Any:
    return service.client.post("/api/v1/patients", json=body, headers=service.auth(role))


def _get(service: Service, path: str, role: str = "clinician", **params: Any) -> Any:
    return service.client.get(f"/api/v1{path}", params=params, headers=service.auth(role))


def _audit(service: Service) -> list[AuditEntry]:
    engine = make_engine(service.store.url())
    with Session(engine) as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    engine.dispose()
    return entries


# -- item 1: stored days follow the infusion date ------------------------------------------------


def test_reposting_with_another_infusion_date_redates_the_stored_rows(service: Service) -> None:
    """Issue 18 item 1: a lab posted as an ISO date at day 10 is day 5 once the infusion date
    moves 5 days later; the change of infusion date is audited with old and new values."""
    assert _post(service, _record()).status_code == 201
    moved = _record(infusion_date="2024-01-06")
    response = _post(service, moved)
    assert response.status_code == 201, response.text
    assert response.json()["patients_updated"] == 1
    days = {
        o["observation"]["analyte"]: o["day"]
        for o in _get(service, f"/patients/{KEY}/observations").json()
    }
    assert days == {"anc": 5.0, "platelets": 2.0}
    assert [e["day"] for e in _get(service, f"/patients/{KEY}/events").json()] == [3.0]
    change = [e for e in _audit(service) if e.action == "facts-change"]
    assert [(c.actor, c.detail) for c in change] == [
        (
            "clinician-user",
            {"old": {"infusion_date": "2024-01-01"}, "new": {"infusion_date": "2024-01-06"}},
        )
    ]


def test_removing_the_infusion_date_of_iso_dated_rows_is_refused(service: Service) -> None:
    """Issue 18 item 1: a record without an infusion date while ISO-dated rows are stored is
    refused, and nothing changes."""
    assert _post(service, _record()).status_code == 201
    cleared = _post(service, {"patient": {"patient_id": KEY, "infusion_date": None}})
    assert cleared.status_code == 422, cleared.text
    replaced = service.client.put(
        f"/api/v1/patients/{KEY}", json={"patient_id": KEY}, headers=service.auth("clinician")
    )
    assert replaced.status_code == 422, replaced.text
    assert _get(service, f"/patients/{KEY}").json()["patient"]["infusion_date"] == "2024-01-01"
    assert _get(service, f"/patients/{KEY}/assessment").status_code == 200


# -- item 2: POST merges, PUT replaces -----------------------------------------------------------


def test_post_merges_the_facts_and_put_replaces_them(service: Service) -> None:
    """Issue 18 item 2: facts not sent are kept by POST (they were wiped); PUT replaces all."""
    assert _post(service, _record(age_years=61, product="axi-cel")).status_code == 201
    more = {
        "patient": {"patient_id": KEY},
        "observations": [{"time": 12, "analyte": "anc", "value": 0.6, "unit": "10^9/L"}],
    }
    assert _post(service, more).status_code == 201
    facts = _get(service, f"/patients/{KEY}").json()["patient"]
    assert (facts["age_years"], facts["product"], facts["infusion_date"]) == (
        61,
        "axi-cel",
        "2024-01-01",
    )
    assert _post(service, {"patient": {"patient_id": KEY, "product": None}}).status_code == 201
    assert _get(service, f"/patients/{KEY}").json()["patient"]["product"] is None
    put = service.client.put(
        f"/api/v1/patients/{KEY}",
        json={"patient_id": KEY, "infusion_date": "2024-01-01"},
        headers=service.auth("clinician"),
    )
    assert put.json() == {"changed": True}
    assert _get(service, f"/patients/{KEY}").json()["patient"]["age_years"] is None
    changes = [e.detail for e in _audit(service) if e.action == "facts-change"]
    assert changes[-1] == {"old": {"age_years": 61.0}, "new": {"age_years": None}}


def test_the_api_documents_merge_and_replacement(service: Service) -> None:
    paths = service.client.get("/openapi.json").json()["paths"]
    assert "merge" in paths["/api/v1/patients"]["post"]["description"].lower()
    assert "replace all" in paths["/api/v1/patients/{patient_id}"]["put"]["description"].lower()


# -- item 3: a deletion stays until an admin restores --------------------------------------------


def test_a_deleted_patient_stays_deleted_until_an_admin_restores_it(service: Service) -> None:
    """Issue 18 item 3: a clinician's re-post of a deleted patient is 409 naming the deletion
    (it brought every row back); an admin's restore (audited) does."""
    assert _post(service, _record(age_years=61)).status_code == 201
    deleted = service.client.delete(f"/api/v1/patients/{KEY}", headers=service.auth("admin"))
    assert deleted.status_code == 204
    again = _post(service, _record())
    assert again.status_code == 409, again.text
    assert "deleted by an admin" in again.json()["detail"]
    assert _get(service, f"/patients/{KEY}").status_code == 404
    not_allowed = service.client.post(
        f"/api/v1/patients/{KEY}/restore", headers=service.auth("clinician")
    )
    assert not_allowed.status_code == 403
    restored = service.client.post(f"/api/v1/patients/{KEY}/restore", headers=service.auth("admin"))
    assert restored.status_code == 204
    record = _get(service, f"/patients/{KEY}").json()
    assert (record["patient"]["age_years"], len(record["observations"])) == (61, 2)
    assert ("admin-user", "restore", KEY) in [
        (e.actor, e.action, e.patient_key) for e in _audit(service)
    ]


# -- item 4: bounded records ---------------------------------------------------------------------


def _lab(**changes: Any) -> dict[str, Any]:
    return {
        "observations": [{"time": 1, "analyte": "anc", "value": 1, "unit": "10^9/L", **changes}]
    }


UNASSESSABLE = [
    ("a time of 1e19", _lab(time=1e19)),
    ("a time of 3e9", _lab(time=3e9)),
    ("a date 8000 years on", _lab(time="9999-01-01")),
    ("an event 3e9 days on", {"events": [{"kind": "fever", "start": 3e9}]}),
    ("inverted lln/uln", _lab(lln=2, uln=1)),
    ("a 1 MB ld_regimen", {"patient": {"patient_id": KEY, "ld_regimen": "x" * 1_000_000}}),
    ("a 100-character analyte", _lab(analyte="a" * 100)),
    ("a 100-character unit", _lab(unit="u" * 100)),
]


@pytest.mark.parametrize(("what", "part"), UNASSESSABLE, ids=[w for w, _ in UNASSESSABLE])
def test_unassessable_data_is_refused_at_the_record(
    service: Service, what: str, part: dict[str, Any]
) -> None:
    """Issue 18 item 4: refused with 422 (they were stored, and every later assessment and the
    dashboard answered 500; on PostgreSQL a long string was a 500 itself)."""
    body = {"patient": {"patient_id": KEY, "infusion_date": "2024-01-01"}, **part}
    response = _post(service, body)
    assert response.status_code == 422, (what, response.text)
    assert _get(service, "/patients").status_code == 200


LAB = '"time": 1, "analyte": "anc", "value": 1, "unit": "10^9/L"'
NON_FINITE = [
    (f'{{{LAB}, "lln": NaN}}', "observations"),
    (f'{{{LAB}, "uln": Infinity}}', "observations"),
    ('{"kind": "medication", "start": 1, "drug": "filgrastim", "dose": Infinity}', "events"),
    ('{"kind": "stem_cell_boost", "start": 1, "source": "donor", "cd34_per_kg": 1e999}', "events"),
]


@pytest.mark.parametrize(("row", "where"), NON_FINITE)
def test_non_finite_numbers_are_refused(service: Service, row: str, where: str) -> None:
    """Issue 18 item 4: ``dose: Infinity`` and NaN/Infinity limits were stored."""
    body = f'{{"patient": {{"patient_id": "{KEY}"}}, "{where}": [{row}]}}'
    response = service.client.post(
        "/api/v1/patients",
        content=body,
        headers={**service.auth("clinician"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/assessment", {"as_of": 10**30}),
        ("/assessment", {"as_of": 3 * 10**9}),
        ("/replay", {"from": -(10**30), "to": 10}),
        ("/observations", {"from": "-inf"}),
        ("/events", {"to": "nan"}),
    ],
)
def test_an_overflowing_day_parameter_is_422(
    service: Service, path: str, params: dict[str, Any]
) -> None:
    """Issue 18 item 4: an ``as_of`` that overflows is a 422, never a 500."""
    assert _post(service, _record()).status_code == 201
    assert _get(service, f"/patients/{KEY}{path}", **params).status_code == 422


# -- item 11: profiles by name only --------------------------------------------------------------


def test_a_profile_path_is_never_read_by_the_service(service: Service, tmp_path: Path) -> None:
    """Issue 18 item 11: ``?profile=<a TOML file on the server>`` was read and its parsed
    content returned in the 400 error."""
    secret = tmp_path / "secrets.toml"
    secret.write_text('name = ["TOPSECRET-4711"]\nversion = "1"\n', encoding="utf-8")
    for path in ("/rules", f"/patients/{KEY}/assessment", f"/patients/{KEY}/replay"):
        response = _get(service, path, profile=str(secret))
        assert response.status_code in (400, 404, 422), (path, response.text)
        assert "TOPSECRET" not in response.text
    short = tmp_path.parent / "s.toml"  # a path short enough to pass the name's length check
    short.write_text(secret.read_text(encoding="utf-8"), encoding="utf-8")
    refused = _get(service, "/rules", profile=str(short))
    assert refused.status_code == 400
    assert "no such profile" in refused.text
    assert "TOPSECRET" not in refused.text


@pytest.fixture
def registered(store: StoreSettings, tmp_path: Path) -> Iterator[TestClient]:
    """The service with an admin-registered profile ``local`` (ICAHT_PROFILES)."""
    local = tmp_path / "local.toml"
    local.write_text('name = "local"\nversion = "7"\n', encoding="utf-8")
    settings = ServiceSettings(
        secret_key="service-test-secret-0123456789-abcdefghij", profiles={"local": str(local)}
    )
    with TestClient(create_app(settings, store)) as client:
        yield client


def test_an_admin_registered_profile_is_named(registered: TestClient, service: Service) -> None:
    headers = service.auth("clinician")
    assert "local" in registered.get("/api/v1/profiles", headers=headers).json()
    assert registered.get("/api/v1/profiles/local", headers=headers).json()["version"] == "7"
    assert registered.get("/api/v1/rules", params={"profile": "local"}, headers=headers).is_success


# -- item 14: audit completeness -----------------------------------------------------------------


def test_refused_patient_requests_are_audited(service: Service) -> None:
    """Issue 18 item 14: 401, 403 and 404 on patient routes leave an audit entry (id guessing
    left no trace); the caller without credentials is recorded as unauthenticated."""
    assert service.client.get("/api/v1/patients/guess-1").status_code == 401
    assert _get(service, "/patients/guess-2", role="researcher").status_code == 403
    assert _get(service, "/patients/guess-3/assessment").status_code == 404
    assert _get(service, "/patients/guess-4/observations").status_code == 404
    refused = [(e.actor, e.action, e.patient_key) for e in _audit(service)]
    assert refused == [
        ("unauthenticated", "refused-401", "guess-1"),
        ("researcher-user", "refused-403", "guess-2"),
        ("clinician-user", "refused-404", "guess-3"),
        ("clinician-user", "refused-404", "guess-4"),
    ]


def test_a_list_audits_which_patients_it_returned(service: Service) -> None:
    """Issue 18 item 14: the audit entry of a list and of a cohort export names the patients
    it returned."""
    assert _post(service, _record()).status_code == 201
    assert _get(service, "/patients").status_code == 200
    assert _get(service, "/cohort/results", role="researcher").status_code == 200
    entries = _audit(service)
    listed = [e for e in entries if e.action == "list-patients"]
    assert listed[-1].detail["patient_keys"] == [KEY]
    exported = [e for e in entries if e.action == "cohort-export"]
    assert exported[-1].detail["patient_keys"] == [KEY]


def test_an_unauthenticated_name_is_capped_and_marked() -> None:
    """Issue 18 item 14: a name typed by someone not signed in is never written as an actor."""
    actor = claimed_actor("admin\n" + "x" * 500)
    assert actor.startswith("unauthenticated:admin")
    assert "\n" not in actor
    assert len(actor) <= len("unauthenticated:") + 64


def test_the_audit_chain_holds_after_an_api_session(service: Service) -> None:
    assert _post(service, _record()).status_code == 201
    assert _get(service, f"/patients/{KEY}/assessment").status_code == 200
    engine = make_engine(service.store.url())
    with Session(engine) as session:
        check = verify_chain(session)
    engine.dispose()
    assert check.broken_at is None
    assert check.entries >= 2


# -- item 16: an admin manages users -------------------------------------------------------------


def test_an_admin_disables_enables_and_changes_roles(service: Service) -> None:
    """Issue 18 item 16: the README's promise; a disabled user's token stops working at once;
    every change is audited."""
    admin = service.auth("admin")
    assert _get(service, "/patients").status_code == 200
    users = "/api/v1/users/clinician-user"
    assert (
        service.client.post(f"{users}/disable", headers=service.auth("clinician")).status_code
        == 403
    )
    assert service.client.post(f"{users}/disable", headers=admin).status_code == 204
    assert _get(service, "/patients").status_code == 401
    assert service.client.post(f"{users}/enable", headers=admin).status_code == 204
    assert _get(service, "/patients").status_code == 200
    role = service.client.put(f"{users}/role", json={"role": "researcher"}, headers=admin)
    assert role.status_code == 204
    assert _get(service, "/patients").status_code == 403
    bad = service.client.put(f"{users}/role", json={"role": "root"}, headers=admin)
    assert bad.status_code == 422
    actions = [(e.action, e.detail) for e in _audit(service) if e.action.startswith("user-")]
    assert actions == [
        ("user-disable", {"user": "clinician-user", "changed": True}),
        ("user-enable", {"user": "clinician-user", "changed": True}),
        ("user-role", {"user": "clinician-user", "old": "clinician", "new": "researcher"}),
    ]


# -- item 13: no patient data in logs; item 14: X-Forwarded-For only from trusted proxies ---------

SEED_ID = "ZQXSEED7741"
SEED_FACT = "ZQXREGIMEN5309"


def _full_disk(database: Path) -> None:
    """Every new patient row fails as on a full disk (what the probe saw print patient rows)."""
    with sqlite3.connect(database) as connection:
        connection.execute(
            "CREATE TRIGGER full_disk BEFORE INSERT ON patients "
            "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END"
        )


def test_logs_hold_no_patient_data_and_forwarded_for_is_not_trusted(tmp_path: Path) -> None:
    """Issue 18 item 13: a server and CLI session with seeded distinctive values, a failing
    write included, leaves none of them in the captured output (SQL parameters were dumped and
    the CLI traceback showed the records). Item 14: ``X-Forwarded-For`` from a proxy that is not
    configured is not taken as the caller's address."""
    env = {
        **os.environ,
        "ICAHT_DATA_DIR": str(tmp_path / "data"),
        "ICAHT_SECRET_KEY": "a-test-secret-that-is-long-enough",
    }
    icaht = [sys.executable, "-m", "icaht.cli"]
    subprocess.run([*icaht, "db", "upgrade"], env=env, check=True, capture_output=True)
    user = [*icaht, "user", "create", "ana", "--role", "clinician", "--password", "long password!"]
    subprocess.run(user, env=env, check=True, capture_output=True)
    token = (
        subprocess.run(
            [*icaht, "token", "create", "ana", "--name", "t"],
            env=env,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .strip()
    )
    record = {
        "patient": {"patient_id": SEED_ID, "ld_regimen": SEED_FACT, "infusion_date": "2024-01-01"},
        "observations": [{"time": 1, "analyte": "anc", "value": 0.4321, "unit": "10^9/L"}],
    }
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": "203.0.113.9"}
    with running(["serve"], env, tmp_path / "serve.log") as server:
        assert httpx.post(f"{server.url}/api/v1/patients", json=record, headers=headers).is_success
        httpx.get(f"{server.url}/api/v1/patients/{SEED_ID}/assessment", headers=headers)
        _full_disk(tmp_path / "data" / "icaht.sqlite3")
        failing = {**record, "patient": {**record["patient"], "patient_id": SEED_ID + "B"}}
        answer = httpx.post(f"{server.url}/api/v1/patients", json=failing, headers=headers)
        assert answer.status_code >= 500
        served = server.stop()
    (tmp_path / "record.json").write_text(json.dumps(failing), encoding="utf-8")
    imported = subprocess.run(
        [*icaht, "db", "import", str(tmp_path / "record.json")],
        env=env,
        capture_output=True,
        check=False,
    )
    assert imported.returncode != 0
    cli = imported.stdout.decode() + imported.stderr.decode()
    assert "database or disk is full" in cli
    for seeded in (SEED_ID, SEED_FACT, "0.4321"):
        assert seeded not in served, served
        assert seeded not in cli, cli
    engine = make_engine(StoreSettings(data_dir=tmp_path / "data").url())
    with Session(engine) as session:
        remotes = set(
            session.scalars(select(AuditEntry.remote).where(AuditEntry.remote.is_not(None)))
        )
    engine.dispose()
    assert remotes == {"127.0.0.1"}
