"""The REST API in-process: patients, assessment, replay, catalogue, errors and roles."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.service.conftest import EXAMPLES, Service

from icaht.errors import IcahtError
from icaht.service.app import create_app
from icaht.service.settings import ServiceSettings
from icaht.store.database import make_engine
from icaht.store.settings import StoreSettings
from icaht.store.tables import AssessmentShown, AuditEntry

PROBLEM = "application/problem+json"


def _post_example(service: Service, case: str) -> dict[str, object]:
    body = json.loads((EXAMPLES / f"{case}.json").read_text(encoding="utf-8"))
    response = service.client.post("/api/v1/patients", json=body, headers=service.auth("clinician"))
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def test_add_twice_then_assess_as_of_a_day(service: Service) -> None:
    first = _post_example(service, "jain-case1")
    assert first["patients_created"] == 1
    again = _post_example(service, "jain-case1")
    assert (again["patients_created"], again["observations_added"]) == (0, 0)
    response = service.client.get(
        "/api/v1/patients/jain-2023-case1/assessment",
        # day 12: on day 10 the grade-3 ICANS (days 5-10) defers G-CSF (docs/decisions.md)
        params={"as_of": 12},
        headers=service.auth("clinician"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of_day"] == 12
    assert "growth-factor.consider-gcsf" in [r["rule_id"] for r in body["recommendations"]]
    engine = make_engine(service.store.url())
    with Session(engine) as session:
        shown = session.scalars(select(AssessmentShown)).one()
        assert shown.actor == "clinician-user"
        assert "growth-factor.consider-gcsf" in shown.rule_ids
        actions = session.scalars(select(AuditEntry.action)).all()
        assert actions.count("import") == 2
        assert "assessment" in actions
    engine.dispose()


def test_list_read_replay_and_delete(service: Service) -> None:
    _post_example(service, "baur")
    listed = service.client.get("/api/v1/patients", headers=service.auth("clinician")).json()
    assert [p["patient_id"] for p in listed] == ["baur-2021"]
    assert listed[0]["open_recommendations"] >= 1
    record = service.client.get("/api/v1/patients/baur-2021", headers=service.auth("clinician"))
    assert record.json()["patient"]["product"] == "axi-cel"
    replayed = service.client.get(
        "/api/v1/patients/baur-2021/replay",
        params={"from": 85, "to": 100},
        headers=service.auth("clinician"),
    ).json()
    appeared = {r["rule_id"] for d in replayed["days"] for r in d["appeared"]}
    assert "tpo-ra.candidate" in appeared
    assert (
        service.client.delete(
            "/api/v1/patients/baur-2021", headers=service.auth("clinician")
        ).status_code
        == 403
    )
    assert (
        service.client.delete(
            "/api/v1/patients/baur-2021", headers=service.auth("admin")
        ).status_code
        == 204
    )
    gone = service.client.get("/api/v1/patients/baur-2021", headers=service.auth("clinician"))
    assert gone.status_code == 404
    assert gone.headers["content-type"] == PROBLEM


def test_a_bad_record_is_a_problem_listing_every_field(service: Service) -> None:
    body = json.loads((EXAMPLES / "baur.json").read_text(encoding="utf-8"))
    body["observations"][0]["unit"] = "furlongs"
    body["observations"][1]["value"] = -3
    response = service.client.post("/api/v1/patients", json=body, headers=service.auth("clinician"))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    fields = {e["field"] for e in problem["errors"]}
    assert "observations[0].unit" in fields
    assert "observations[1].value" in fields
    listed = service.client.get("/api/v1/patients", headers=service.auth("clinician")).json()
    assert listed == []


def test_a_malformed_body_is_a_field_level_problem(service: Service) -> None:
    response = service.client.post(
        "/api/v1/patients", json={"patient": {}}, headers=service.auth("clinician")
    )
    assert response.status_code == 422
    assert "patient.patient_id" in [
        e["field"].removeprefix("body.") for e in response.json()["errors"]
    ]


# role x endpoint: which status each role gets (401 = no token)
MATRIX = [
    ("GET", "/api/v1/patients", {"clinician": 200, "researcher": 403, "admin": 200, None: 401}),
    ("GET", "/api/v1/patients/x", {"clinician": 404, "researcher": 403, "admin": 404, None: 401}),
    (
        "GET",
        "/api/v1/patients/x/assessment",
        {"clinician": 404, "researcher": 403, "admin": 404, None: 401},
    ),
    (
        "GET",
        "/api/v1/patients/x/replay",
        {"clinician": 404, "researcher": 403, "admin": 404, None: 401},
    ),
    (
        "DELETE",
        "/api/v1/patients/x",
        {"clinician": 403, "researcher": 403, "admin": 404, None: 401},
    ),
    ("GET", "/api/v1/rules", {"clinician": 200, "researcher": 200, "admin": 200, None: 401}),
    ("GET", "/api/v1/profiles", {"clinician": 200, "researcher": 200, "admin": 200, None: 401}),
    (
        "GET",
        "/api/v1/profiles/icaht-2023",
        {"clinician": 200, "researcher": 200, "admin": 200, None: 401},
    ),
    ("GET", "/api/v1/health", {"clinician": 200, "researcher": 200, "admin": 200, None: 200}),
    ("POST", "/api/v1/patients", {"clinician": 422, "researcher": 403, "admin": 422, None: 401}),
    ("PUT", "/api/v1/patients/x", {"clinician": 422, "researcher": 403, "admin": 422, None: 401}),
    (
        "POST",
        "/api/v1/patients/x/data",
        {"clinician": 422, "researcher": 403, "admin": 422, None: 401},
    ),
    (
        "GET",
        "/api/v1/patients/x/observations",
        {"clinician": 404, "researcher": 403, "admin": 404, None: 401},
    ),
    (
        "PUT",
        "/api/v1/patients/x/observations/1",
        {"clinician": 422, "researcher": 403, "admin": 422, None: 401},
    ),
    (
        "GET",
        "/api/v1/patients/x/events",
        {"clinician": 404, "researcher": 403, "admin": 404, None: 401},
    ),
    (
        "PUT",
        "/api/v1/patients/x/events/1",
        {"clinician": 422, "researcher": 403, "admin": 422, None: 401},
    ),
    (
        "GET",
        "/api/v1/cohort/results",
        {"clinician": 403, "researcher": 200, "admin": 200, None: 401},
    ),
    (
        "POST",
        "/api/v1/patients/x/restore",
        {"clinician": 403, "researcher": 403, "admin": 404, None: 401},
    ),
    (
        "POST",
        "/api/v1/users/nobody/disable",
        {"clinician": 403, "researcher": 403, "admin": 404, None: 401},
    ),
    (
        "POST",
        "/api/v1/users/nobody/enable",
        {"clinician": 403, "researcher": 403, "admin": 404, None: 401},
    ),
    (
        "PUT",
        "/api/v1/users/nobody/role",
        {"clinician": 403, "researcher": 403, "admin": 422, None: 401},
    ),
]


def test_the_matrix_covers_every_api_operation(service: Service) -> None:
    """Every operation of the published OpenAPI schema has a row in the matrix."""
    schema = service.client.get("/openapi.json").json()
    published = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1")
        for method in operations
    }
    covered = set()
    for method, path, _ in MATRIX:
        for template in schema["paths"]:
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
            if re.fullmatch(pattern, path) and method.lower() in schema["paths"][template]:
                covered.add((method, template))
    assert published - covered == set()


@pytest.mark.parametrize(("method", "path", "expected"), MATRIX)
def test_authorization_matrix(
    service: Service, method: str, path: str, expected: dict[str | None, int]
) -> None:
    for role, status in expected.items():
        headers = service.auth(role) if role else {}
        response = service.client.request(method, path, headers=headers)
        assert response.status_code == status, (role, method, path, response.text)


def test_a_revoked_or_unknown_token_is_refused(service: Service) -> None:
    response = service.client.get(
        "/api/v1/rules", headers={"Authorization": "Bearer icaht_nothing"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_the_server_refuses_default_secrets_and_old_schemas(tmp_path: object) -> None:
    with pytest.raises(IcahtError, match="ICAHT_SECRET_KEY"):
        create_app(ServiceSettings(), StoreSettings(data_dir=tmp_path))  # type: ignore[arg-type]
    with pytest.raises(IcahtError, match="icaht db upgrade"):
        create_app(
            ServiceSettings(secret_key="x-not-default-0123456789-abcdefghijklmn"),
            StoreSettings(data_dir=tmp_path),  # type: ignore[arg-type]
        )


def test_demo_mode_acts_as_a_demo_clinician(store: StoreSettings) -> None:
    app = create_app(ServiceSettings(demo=True), store)
    with TestClient(app) as client:
        assert client.get("/api/v1/patients").status_code == 200
    engine = make_engine(store.url())
    with Session(engine) as session:
        actors = session.scalars(select(AuditEntry.actor)).all()
        assert actors == ["demo"]
    engine.dispose()


def test_add_data_list_by_range_and_correct_with_history(service: Service) -> None:
    """A lab added later changes the recommendations; a correction keeps the old value."""
    _post_example(service, "jain-case1")
    clinician = service.auth("clinician")
    base = "/api/v1/patients/jain-2023-case1"
    before = service.client.get(f"{base}/assessment", params={"as_of": 3}, headers=clinician)
    assert "workup.neutropenic-fever" not in [
        r["rule_id"] for r in before.json()["recommendations"]
    ]
    added = service.client.post(
        f"{base}/data",
        json={"events": [{"kind": "fever", "start": 3, "temperature_c": 38.9}]},
        headers=clinician,
    )
    assert added.status_code == 201
    assert added.json()["events_added"] == 1
    after = service.client.get(f"{base}/assessment", params={"as_of": 3}, headers=clinician)
    assert "workup.neutropenic-fever" in [r["rule_id"] for r in after.json()["recommendations"]]

    window = service.client.get(
        f"{base}/observations", params={"from": 10, "to": 10.99}, headers=clinician
    ).json()
    anc = next(r for r in window if r["observation"]["analyte"] == "anc")
    corrected = {**anc["observation"], "value": anc["observation"]["value"] * 2}
    response = service.client.put(
        f"{base}/observations/{anc['id']}", json=corrected, headers=clinician
    )
    assert response.status_code == 200, response.text
    new_id = response.json()["id"]
    current = service.client.get(
        f"{base}/observations", params={"from": 10, "to": 10.99}, headers=clinician
    ).json()
    assert [r["id"] for r in current if r["observation"]["analyte"] == "anc"] == [new_id]
    history = service.client.get(
        f"{base}/observations",
        params={"from": 10, "to": 10.99, "history": "true"},
        headers=clinician,
    ).json()
    old = next(r for r in history if r["id"] == anc["id"])
    assert old["superseded_by"] == new_id
    twice = service.client.put(
        f"{base}/observations/{anc['id']}", json=corrected, headers=clinician
    )
    assert twice.status_code == 422
    bad = service.client.post(
        f"{base}/data",
        json={"observations": [{"day": 40, "analyte": "anc", "value": 1, "unit": "furlongs"}]},
        headers=clinician,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "observations[0].unit"
    nobody = service.client.post("/api/v1/patients/nobody/data", json={}, headers=clinician)
    assert nobody.status_code == 404


def test_events_list_by_range_and_correct_with_history(service: Service) -> None:
    """A revised CRS grade supersedes the recorded one; the history keeps both."""
    _post_example(service, "jain-case1")
    clinician = service.auth("clinician")
    base = "/api/v1/patients/jain-2023-case1"
    listed = service.client.get(f"{base}/events", params={"to": 10}, headers=clinician).json()
    crs = next(r for r in listed if r["event"]["kind"] == "crs")
    assert all(r["day"] <= 10 for r in listed)
    revised = {**crs["event"], "grade": 3}
    response = service.client.put(f"{base}/events/{crs['id']}", json=revised, headers=clinician)
    assert response.status_code == 200, response.text
    new_id = response.json()["id"]
    current = service.client.get(f"{base}/events", params={"to": 10}, headers=clinician).json()
    assert [r["event"]["grade"] for r in current if r["event"]["kind"] == "crs"] == [3]
    history = service.client.get(
        f"{base}/events", params={"to": 10, "history": "true"}, headers=clinician
    ).json()
    assert next(r for r in history if r["id"] == crs["id"])["superseded_by"] == new_id
    record = service.client.get(base, headers=clinician).json()
    assert [e["grade"] for e in record["events"] if e["kind"] == "crs"] == [3]
    again = service.client.put(f"{base}/events/{crs['id']}", json=revised, headers=clinician)
    assert again.status_code == 422
    missing = service.client.put(f"{base}/events/999999", json=revised, headers=clinician)
    assert missing.status_code == 404


def test_updating_facts_revalidates_the_stored_rows(service: Service) -> None:
    """Facts can change; a new infusion date moves ISO-dated rows; removing the infusion date
    leaves ISO-dated rows without a day, so it is refused and changes nothing."""
    clinician = service.auth("clinician")
    facts = {"patient_id": "dated", "infusion_date": "2024-03-01", "weight_kg": 70}
    record = {
        "patient": facts,
        "observations": [{"time": "2024-03-11", "analyte": "anc", "value": 0.3, "unit": "10^9/L"}],
    }
    assert service.client.post("/api/v1/patients", json=record, headers=clinician).is_success
    url = "/api/v1/patients/dated"
    moved = {**facts, "infusion_date": "2024-03-04", "weight_kg": 81.5}
    assert service.client.put(url, json=moved, headers=clinician).json() == {"changed": True}
    assert service.client.put(url, json=moved, headers=clinician).json() == {"changed": False}
    days = [r["day"] for r in service.client.get(f"{url}/observations", headers=clinician).json()]
    assert days == [7.0]
    undated = {key: value for key, value in moved.items() if key != "infusion_date"}
    refused = service.client.put(url, json=undated, headers=clinician)
    assert refused.status_code == 422, refused.text
    renamed = service.client.put(url, json={**moved, "patient_id": "other"}, headers=clinician)
    assert renamed.status_code == 422
    assert renamed.json()["errors"][0]["field"] == "patient_id"
    stored = service.client.get(url, headers=clinician).json()["patient"]
    assert (stored["infusion_date"], stored["weight_kg"]) == ("2024-03-04", 81.5)


def test_researchers_get_de_identified_rows_only(service: Service) -> None:
    """Issue 4: researchers see cohort results, never a patient id or a record."""
    for case in ("jain-case1", "baur"):
        _post_example(service, case)
    researcher = service.auth("researcher")
    rows = service.client.get(
        "/api/v1/cohort/results", params={"as_of": 60}, headers=researcher
    ).json()
    ids = {"jain-2023-case1", "baur-2021"}
    assert len(rows) == 2
    assert all(row["patient_id"].startswith("pt-") for row in rows)
    assert not ids & {str(value) for row in rows for value in row.values()}
    assert {row["as_of_day"] for row in rows} == {60}
    again = service.client.get(
        "/api/v1/cohort/results", params={"as_of": 60}, headers=researcher
    ).json()
    assert [r["patient_id"] for r in again] == [r["patient_id"] for r in rows]
    text = service.client.get(
        "/api/v1/cohort/results", params={"format": "csv"}, headers=researcher
    )
    assert text.headers["content-type"].startswith("text/csv")
    header, *lines = text.text.strip().splitlines()
    assert header.startswith("patient_id,as_of_day")
    assert len(lines) == 2
    record = service.client.get("/api/v1/patients/baur-2021", headers=researcher)
    assert record.status_code == 403


def test_text_with_a_nul_character_is_refused_on_every_database(service: Service) -> None:
    """PostgreSQL refuses NUL in text; the API refuses it first, as a field-level problem."""
    body = json.loads((EXAMPLES / "baur.json").read_text(encoding="utf-8"))
    body["patient"]["diagnosis"] = "DLBCL\x00"
    response = service.client.post("/api/v1/patients", json=body, headers=service.auth("admin"))
    assert response.status_code == 422
    assert "NUL" in response.text
    path = service.client.get("/api/v1/patients/a%00b", headers=service.auth("admin"))
    assert path.status_code == 422
