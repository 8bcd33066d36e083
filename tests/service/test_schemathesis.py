"""Property-based API testing against the published OpenAPI schema (issue 18, "done when"): the
API and the CDS Hooks endpoints of a server in demo mode, every operation with schema-valid
(positive) and schema-invalid (negative) generated requests, all of schemathesis' checks: no
server error, responses that conform to the schema, and no request the schema says is invalid
accepted. The requests carry an admin's token so that every operation is reached (the admin
endpoints too); the CDS service is called unsigned, as demo mode allows.

One check is left out: ``positive_data_acceptance`` (a schema-valid request must be accepted).
The schema cannot express what icaht checks beyond it and answers with a 4xx problem: units and
plausibility of values and times (422), a path's patient id that differs from the body's (422),
profile names (shipped or registered by an admin: 400), patients and rows that exist, and CDS
prefetch content that can be assessed (412)."""

from __future__ import annotations

import json
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode, checks
from sqlalchemy.orm import Session
from tests.service.conftest import EXAMPLES

from icaht.service.app import create_app
from icaht.service.settings import ServiceSettings
from icaht.store.database import make_engine, upgrade
from icaht.store.settings import StoreSettings
from icaht.store.users import create_token, create_user

#: Bounded so that the whole run stays under a minute or two on a busy two-core machine (40 per
#: operation and mode found nothing more than 10 did).
EXAMPLES_PER_OPERATION = 10
EXCLUDED = [checks.positive_data_acceptance]


def _demo_app(tmp_path: Path) -> tuple[TestClient, dict[str, str]]:
    """A server in demo mode on a migrated SQLite database, and an admin's bearer header."""
    store = StoreSettings(database_url=f"sqlite:///{tmp_path / 'icaht.sqlite3'}")
    engine = make_engine(store.url())
    upgrade(engine)
    with Session(engine) as session, session.begin():
        create_user(session, "admin-user", "a long enough password", "admin")
        token = create_token(session, "admin-user", "t", 1).secret
    engine.dispose()
    client = TestClient(create_app(ServiceSettings(demo=True), store))
    return client, {"Authorization": f"Bearer {token}"}


def test_every_operation_passes_all_checks_in_demo_mode(tmp_path: Path) -> None:
    client, headers = _demo_app(tmp_path)
    with client:
        body = json.loads((EXAMPLES / "baur.json").read_text(encoding="utf-8"))
        assert client.post("/api/v1/patients", json=body, headers=headers).status_code == 201
        schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
        operations = [result.ok() for result in schema.get_all_operations()]
        labels = {operation.label for operation in operations}
        assert "POST /cds-services/icaht-patient-view" in labels
        assert len(operations) >= 20
        calls: list[int] = []
        without_inputs: list[str] = []
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=EXAMPLES_PER_OPERATION,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    database=None,
                )
                def check(case: Case) -> None:
                    answer = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
                    calls.append(answer.status_code)

                try:
                    check()
                except Unsatisfiable:  # nothing to make invalid: no parameters and no body
                    assert mode is GenerationMode.NEGATIVE
                    without_inputs.append(operation.label)
    # every operation was called, some calls succeeded, and invalid requests were refused
    assert len(calls) >= 2 * len(operations) - len(without_inputs)
    assert 200 in calls
    assert 422 in calls
    assert "POST /api/v1/patients" not in without_inputs
