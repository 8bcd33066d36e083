"""Identifiers (issue 16, "Print/PDF for the chart"): name, MRN and birth date are optional
patient facts, shown to clinicians on the patient page, the print view and the PDF, never sent
to researchers and never kept in the audit trail."""

from __future__ import annotations

import json
import re
import zlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.service.dashboard.conftest import Site
from tests.utils.rule_helpers import daily, record

from icaht.store.patients import import_records
from icaht.store.tables import AuditEntry

KEY = "ident-1"
NAME = "Doe, Jane"
MRN = "MRN-778899"
BORN = "1961-04-02"


@pytest.fixture
def identified(site: Site) -> Site:
    """A patient with identifiers, imported, then renamed (a facts change)."""
    labs = daily("anc", 20, 40, 0.3)
    facts = {"patient_id": KEY, "name": "Doe, J.", "mrn": MRN, "birth_date": BORN}
    with Session(site.engine) as session, session.begin():
        import_records(session, [record(patient=facts, labs=labs)], "test")
        renamed = record(patient={**facts, "name": NAME}, labs=labs)
        import_records(session, [renamed], "test", actor="clinician-user")
    return site


def _pdf_text(body: bytes) -> str:
    """The text drawn in a PDF made by fpdf2 (zlib-compressed content streams)."""
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S):
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return "".join(out)


def test_identifiers_shown_to_clinicians(identified: Site) -> None:
    identified.sign_in("clinician-user")
    for path in ("/patient", "/patient/print"):
        html = identified.client.get(path, params={"id": KEY}).text
        assert "Doe, Jane" in html
        assert MRN in html
        assert BORN in html
    pdf = identified.client.get("/patient/summary.pdf", params={"id": KEY}).content
    text = _pdf_text(pdf)
    assert "Doe, Jane" in text
    assert MRN in text


def test_identifiers_never_reach_researchers_or_the_audit_trail(identified: Site) -> None:
    identified.sign_in("researcher-user")
    for fmt in ("json", "csv"):
        export = identified.client.get("/api/v1/cohort/results", params={"format": fmt})
        assert export.status_code == 200
        assert "Doe" not in export.text
        assert MRN not in export.text
        assert BORN not in export.text
    with Session(identified.engine) as session:
        entries = session.scalars(select(AuditEntry)).all()
        trail = json.dumps([e.detail for e in entries], default=str)
    assert "facts-change" in {e.action for e in entries}
    for identifier in ("Doe", MRN, BORN):
        assert identifier not in trail


def _listed(site: Site, query: str) -> list[str]:
    html = site.client.get("/patients", params={"q": query}).text
    return re.findall(r'<tr class="patient-row" data-patient="([^"]+)"', html)


def test_clinicians_find_a_patient_by_mrn_or_name(identified: Site) -> None:
    """Issue 16: the list search reads the MRN and the name when the record has them (any part,
    any case), and the row shows them."""
    identified.sign_in("clinician-user")
    for query in (MRN, "mrn-7788", "doe, jane", "JANE"):
        assert _listed(identified, query) == [KEY], query
    assert _listed(identified, "Doe, J.") == []  # the name as it is now, not as first imported
    row = identified.client.get("/patients", params={"q": MRN}).text.split(KEY, 1)[1]
    assert NAME in row.split("</tr>", 1)[0]
    assert MRN in row.split("</tr>", 1)[0]
    renamed = {"patient_id": KEY, "name": "Roe, Ann", "mrn": MRN, "birth_date": BORN}
    with Session(identified.engine) as session, session.begin():
        import_records(session, [record(patient=renamed, labs=daily("anc", 20, 40, 0.3))], "test")
    assert _listed(identified, "roe, ann") == [KEY]  # the list row follows a facts change
    assert _listed(identified, "jane") == []


def test_researchers_get_neither_the_identifiers_nor_the_search(identified: Site) -> None:
    """The research role cannot open the list (so cannot search it by MRN or name), and the
    patient API refuses it too: no identifier in either answer."""
    identified.sign_in("researcher-user")
    for path in ("/patients", "/api/v1/patients"):
        response = identified.client.get(path, params={"q": MRN})
        assert response.status_code == 403, path
        for identifier in ("Doe", MRN, BORN):
            assert identifier not in response.text, path
