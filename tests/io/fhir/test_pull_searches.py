"""``fhir pull`` searches what the server requires and declares (issue 17, "fhir pull and SMART").

Fixture shapes and their sources: Epic on FHIR documents that an Observation search needs a
``category`` (or ``code``) and answers 400 otherwise; US Core servers SHALL support
``patient`` + ``category`` for Observation; a CapabilityStatement (FHIR R4
``rest.resource.type``, ``interaction.code`` ``search-type``, ``searchParam.name``) lists the
types and parameters a server supports (Oracle Health (Cerner) declares no MedicationStatement
search, some servers declare ``subject`` only).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx

from icaht.io.fhir.pull import pull_bundle

BASE = "http://ehr.invalid/fhir"


def _capability(*types: tuple[str, list[str]]) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": kind,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [{"name": n, "type": "token"} for n in params],
                    }
                    for kind, params in types
                ],
            }
        ],
    }


EPIC_LIKE = _capability(
    ("Patient", ["_id"]),
    ("Observation", ["patient", "category", "code", "date"]),
    ("MedicationAdministration", ["patient"]),
    ("MedicationRequest", ["patient"]),
    ("Procedure", ["patient"]),
    ("Condition", ["subject"]),
    ("DiagnosticReport", ["patient"]),
)  # no MedicationStatement


def _server(capability: object, searched: list[tuple[str, dict[str, str]]]) -> httpx.Client:
    """A FHIR server that refuses an Observation search without category (400, as Epic)."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/fhir/")
        if path == "metadata":
            return httpx.Response(200 if capability else 404, json=capability or {})
        if path == "Patient/p1":
            return httpx.Response(200, json={"resourceType": "Patient", "id": "p1"})
        params = dict(parse_qsl(request.url.query.decode()))
        searched.append((path, params))
        if path == "Observation" and "category" not in params and "code" not in params:
            return httpx.Response(400, json={"resourceType": "OperationOutcome"})
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset"})

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_observations_are_searched_per_category_and_only_declared_searches() -> None:
    """Epic-style server: Observations per category (without one it answers 400, which failed
    the pull), no MedicationStatement search (not declared), Condition by subject."""
    searched: list[tuple[str, dict[str, str]]] = []
    notes: list[str] = []
    with _server(EPIC_LIKE, searched) as client:
        pull_bundle(client, BASE, "p1", notes=notes)
    kinds = [kind for kind, _ in searched]
    assert "MedicationStatement" not in kinds
    categories = {p.get("category") for kind, p in searched if kind == "Observation"}
    assert {"laboratory", "vital-signs"} <= categories
    assert all("category" in p or "code" in p for kind, p in searched if kind == "Observation")
    (condition,) = [p for kind, p in searched if kind == "Condition"]
    assert condition["subject"] == "Patient/p1"
    assert any("MedicationStatement: not searched" in n for n in notes)


def test_without_a_capability_statement_every_search_is_tried_with_categories() -> None:
    """No CapabilityStatement: every type is searched, Observations still per category, and
    the report says the statement was not read."""
    searched: list[tuple[str, dict[str, str]]] = []
    notes: list[str] = []
    with _server(None, searched) as client:
        pull_bundle(client, BASE, "p1", notes=notes)
    kinds = {kind for kind, _ in searched}
    assert "MedicationStatement" in kinds
    assert all("category" in p or "code" in p for kind, p in searched if kind == "Observation")
    assert any("CapabilityStatement was not read" in n for n in notes)


def test_draft_orders_carry_rxnorm_codes() -> None:
    """Issue 17: draft orders in CDS suggestions carry RxNorm codes, not only ATC. Filgrastim:
    the RxNorm ingredient; aciclovir 800 mg: the reviewed clinical drug of that strength
    (``rxnorm_products.csv``); TMP-SMX names no dose (local protocol): ATC only."""
    from types import SimpleNamespace  # noqa: PLC0415

    from icaht.io.fhir import codes  # noqa: PLC0415
    from icaht.io.fhir.cards import ORDERS  # noqa: PLC0415
    from icaht.knowledge.regimens import ACICLOVIR_MG_TWICE_DAILY  # noqa: PLC0415

    subject = {"reference": "Patient/p1"}

    def coding(rule: str, action: str) -> dict[str, str]:
        order = ORDERS[rule](subject, SimpleNamespace(action=action))  # type: ignore[arg-type]
        assert order is not None
        found = order[1]["medicationCodeableConcept"]["coding"]
        return {c["system"]: c["code"] for c in found}

    antiviral = f"Consider aciclovir {ACICLOVIR_MG_TWICE_DAILY:g} mg twice daily."
    assert coding("prophylaxis.antiviral-start", antiviral) == {
        codes.RXNORM: "197313",  # acyclovir 800 MG Oral Tablet (SCD)
        codes.ATC: "J05AB01",
    }
    assert coding("growth-factor.consider-gcsf", "Consider filgrastim.") == {
        codes.RXNORM: "68442",
        codes.ATC: "L03AA02",
    }
    assert coding("prophylaxis.pjp-start", "Consider PJP prophylaxis with TMP-SMX.") == {
        codes.ATC: "J01EE01"
    }
