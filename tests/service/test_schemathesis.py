"""Property-based API testing against the published OpenAPI schema: no server errors, and
responses conform to the schema (schemathesis strategies, in-process ASGI). Every operation is
exercised with generated requests as an admin (who may call every endpoint)."""

from __future__ import annotations

import json

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, checks
from tests.service.conftest import EXAMPLES, Service

EXAMPLES_PER_OPERATION = 15
#: No server errors and no schema violations. Not "positive data acceptance": the schema cannot
#: express units and plausibility, which icaht checks and rejects with a 422 problem.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def test_every_operation_conforms_to_the_schema(service: Service) -> None:
    body = json.loads((EXAMPLES / "baur.json").read_text(encoding="utf-8"))
    service.client.post("/api/v1/patients", json=body, headers=service.auth("admin"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.client.app)
    headers = service.auth("admin")
    operations = [result.ok() for result in schema.get_all_operations()]
    calls: list[int] = []
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Case) -> None:
            calls.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

        check()
    # every operation was called, and some calls succeeded
    assert len(calls) >= len(operations)
    assert 200 in calls
