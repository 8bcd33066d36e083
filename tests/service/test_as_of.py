"""One as-of vocabulary and one documented default per entry point (issue 19 item 3;
docs/architecture.md "As-of"): the API's ``as_of`` takes a day or an ISO date, bounded, and
defaults to the latest data; the researchers' export takes ``as_of`` (a day); a CDS Hooks call
is assessed as of today at the site."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import EXAMPLES, Service
from tests.service.test_cds_hooks import KEY_OF

from icaht.core.course import course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.core.record import MAX_DAY_RANGE
from icaht.core.timeline import calendar_day
from icaht.io.fhir.cards import SUMMARY_CODE
from icaht.io.fhir.options import site_today
from icaht.io.fhir.writer import record_resources
from icaht.io.records import read_record
from icaht.service.app import create_app
from icaht.service.cds_hooks import PREFETCH, SERVICE_ID
from icaht.service.settings import ServiceSettings
from icaht.store.settings import StoreSettings

INFUSION = date(2024, 3, 4)


def _record(case: str, infusion: date | None = INFUSION) -> PatientRecord:
    record = read_record(EXAMPLES / f"{case}.json")
    facts = record.patient.model_copy(update={"infusion_date": infusion})
    return record.model_copy(update={"patient": facts})


def _store(service: Service, record: PatientRecord) -> str:
    body = json.loads(record.model_dump_json(exclude_none=True))
    response = service.client.post("/api/v1/patients", json=body, headers=service.auth("clinician"))
    assert response.status_code == 201, response.text
    return record.patient.patient_id


def _assessment(service: Service, key: str, **params: Any) -> Any:
    return service.client.get(
        f"/api/v1/patients/{key}/assessment", params=params, headers=service.auth("clinician")
    )


def test_the_api_default_is_the_latest_data_day(service: Service) -> None:
    record = _record("baur")
    key = _store(service, record)
    latest = course_from_record(record).last_data_day()
    assert latest is not None
    answer = _assessment(service, key)
    assert answer.status_code == 200
    assert answer.json()["as_of_day"] == calendar_day(latest)


def test_the_api_as_of_takes_a_day_or_an_iso_date(service: Service) -> None:
    key = _store(service, _record("baur"))
    by_day = _assessment(service, key, as_of=100).json()
    by_date = _assessment(service, key, as_of=(INFUSION + timedelta(days=100)).isoformat()).json()
    assert by_day["as_of_day"] == by_date["as_of_day"] == 100
    assert by_day["recommendations"] == by_date["recommendations"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("tomorrow", "'tomorrow' is neither a day number nor an ISO date"),
        ("60.5", "'60.5' is neither a day number nor an ISO date"),
        (str(MAX_DAY_RANGE + 1), f"more than {MAX_DAY_RANGE} days"),
        ("2099-01-01", f"more than {MAX_DAY_RANGE} days"),
    ],
)
def test_a_bad_as_of_is_refused_naming_it(service: Service, value: str, says: str) -> None:
    key = _store(service, _record("baur"))
    answer = _assessment(service, key, as_of=value)
    assert answer.status_code == 422
    assert says in answer.text


def test_a_date_as_of_needs_the_infusion_date(service: Service) -> None:
    key = _store(service, _record("baur", infusion=None))
    answer = _assessment(service, key, as_of="2024-06-01")
    assert answer.status_code == 422
    assert "no infusion_date" in answer.text
    assert _assessment(service, key, as_of=30).json()["as_of_day"] == 30


def test_the_researchers_export_takes_as_of_and_defaults_to_the_latest_data(
    service: Service,
) -> None:
    record = _record("baur")
    _store(service, record)
    latest = course_from_record(record).last_data_day()
    assert latest is not None
    researcher = service.auth("researcher")
    rows = service.client.get("/api/v1/cohort/results", headers=researcher).json()
    assert [row["as_of_day"] for row in rows] == [calendar_day(latest)]
    rows = service.client.get(
        "/api/v1/cohort/results", params={"as_of": 45}, headers=researcher
    ).json()
    assert [row["as_of_day"] for row in rows] == [45]
    refused = service.client.get(
        "/api/v1/cohort/results", params={"as_of": "2024-06-01"}, headers=researcher
    )
    assert refused.status_code == 422  # day numbers only: researchers see no dates


def _prefetch(record: PatientRecord) -> dict[str, Any]:
    prefetch: dict[str, Any] = dict.fromkeys(PREFETCH)
    for resource in record_resources(record):
        key = KEY_OF[resource["resourceType"]]
        if key == "patient":
            prefetch[key] = resource
            continue
        if prefetch[key] is None:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
        prefetch[key]["entry"].append({"resource": resource})
    for key in PREFETCH:
        if prefetch[key] is None:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    return prefetch


def test_a_cds_call_is_assessed_as_of_today_at_the_site(store: StoreSettings) -> None:
    """The EHR asks about the patient now: 120 days after the infusion the card says day 120,
    although the last count is older (docs/architecture.md "As-of")."""
    record = _record("baur", infusion=site_today() - timedelta(days=120))
    last = course_from_record(record).last_data_day()
    assert last is not None
    assert calendar_day(last) != 120
    prefetch = _prefetch(record)
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": prefetch["patient"]["id"]},
        "prefetch": prefetch,
    }
    with TestClient(create_app(ServiceSettings(demo=True), store)) as client:
        answer = client.post(f"/cds-services/{SERVICE_ID}", json=body)
    assert answer.status_code == 200, answer.text
    summary = next(c for c in answer.json()["cards"] if SUMMARY_CODE in json.dumps(c))
    assert "Day 120 after infusion" in summary["detail"]
