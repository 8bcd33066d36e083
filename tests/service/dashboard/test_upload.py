"""Uploads: a preview with a per-row error report, nothing saved when any row is wrong, an import
after confirmation, and untrusted text (a name with markup) escaped on every page."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.service.dashboard.conftest import Site, csrf_of

from icaht.io.fhir.writer import bundle
from icaht.io.records import read_record
from icaht.store.tables import ObservationRow, Patient

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
MARKUP_ID = "<script>alert('x')</script>"
MARKUP_PRODUCT = '<img src=x onerror="alert(1)">'


def _rows(site: Site) -> tuple[int, int]:
    with Session(site.engine) as session:
        obs = session.scalar(select(func.count()).select_from(ObservationRow)) or 0
        patients = session.scalar(select(func.count()).select_from(Patient)) or 0
    return obs, patients


def _upload(site: Site, name: str, content: str, target: str = "") -> tuple[int, str]:
    page = site.client.get("/upload")
    response = site.client.post(
        "/upload",
        data={"csrf_token": csrf_of(page.text), "target": target},
        files={"file": (name, content.encode("utf-8"), "text/plain")},
    )
    return response.status_code, response.text


def _confirm(clinician: Site, html: str, filename: str) -> httpx.Response:
    """Confirm a previewed upload as the page's form does (the content travels hidden)."""
    content = re.search(
        r'<textarea name="content" hidden aria-hidden="true">(.*?)</textarea>', html, re.S
    )
    assert content
    return clinician.client.post(
        "/upload/confirm",
        data={
            "csrf_token": csrf_of(html),
            "target": "",
            "filename": filename,
            "content": htmllib.unescape(content.group(1)),
        },
        files={"unused": ("", b"")},
    )


def test_csv_with_one_bad_row_reports_it_and_saves_nothing(clinician: Site) -> None:
    before = _rows(clinician)
    csv_text = (
        "day,analyte,value,unit\n"
        "366,anc,0.4,10^9/L\n"
        "366,platelets,12,10^9/L\n"
        "367,hb,7.9,mg/furlong\n"
        "367,anc,0.6,10^9/L\n"
    )
    status, html = _upload(clinician, "labs.csv", csv_text, target="jain-2023-case1")
    assert status == 422
    assert "problem(s): nothing was saved" in html
    assert re.search(r"<strong>row 4</strong>, field <code>unit</code>", html)
    assert "mg/furlong" in html
    assert 'id="confirm-import"' not in html  # no way to import a file with problems
    assert _rows(clinician) == before


def test_clean_csv_previews_then_imports_on_confirmation(clinician: Site) -> None:
    before = _rows(clinician)
    csv_text = "patient_id,day,analyte,value,unit\nbaur-2021,181,anc,1.4,10^9/L\n"
    csv_text += "baur-2021,181,platelets,88,10^3/uL\n"
    status, html = _upload(clinician, "labs.csv", csv_text)
    assert status == 200
    assert "Ready to import" in html
    assert "2 observation(s)" in html
    assert _rows(clinician) == before  # the preview writes nothing
    confirmed = _confirm(clinician, html, "labs.csv")
    assert confirmed.status_code == 200
    assert "Upload imported" in confirmed.text
    assert _rows(clinician) == (before[0] + 2, before[1])


def test_unknown_patient_and_a_bad_bundle_are_refused(clinician: Site) -> None:
    before = _rows(clinician)
    status, html = _upload(
        clinician, "labs.csv", "patient_id,day,analyte,value,unit\nx,1,anc,1,10^9/L\n"
    )
    assert status == 422
    assert "unknown patient" in html
    status, html = _upload(clinician, "b.json", json.dumps({"resourceType": "Bundle"}))
    assert status == 422
    assert "Bundle type not supported" in html
    assert _rows(clinician) == before


def test_a_fhir_bundle_previews_then_imports(clinician: Site) -> None:
    """A Bundle written from a record (Jain 2023 case 3) is mapped, previewed and stored."""
    record = read_record(EXAMPLES / "jain-case3.json")
    renamed = record.model_copy(
        update={"patient": record.patient.model_copy(update={"patient_id": "from-fhir"})}
    )
    before = _rows(clinician)
    status, html = _upload(clinician, "bundle.json", json.dumps(bundle([renamed])))
    assert status == 200, html
    assert "FHIR Bundle" in html
    assert "Ready to import" in html
    assert "new patient(s): from-fhir" in html
    assert _rows(clinician) == before
    confirmed = _confirm(clinician, html, "bundle.json")
    assert "Upload imported" in confirmed.text
    assert _rows(clinician) == (before[0] + len(record.observations), before[1] + 1)


def test_markup_in_uploaded_names_is_escaped_everywhere(clinician: Site) -> None:
    record = {
        "patient": {
            "patient_id": MARKUP_ID,
            "product": MARKUP_PRODUCT,
            "diagnosis": "<b>LBCL</b>",
        },
        "observations": [{"time": 3, "analyte": "anc", "value": 0.2, "unit": "10^9/L"}],
        "events": [{"kind": "marrow_biopsy", "start": 2, "note": "<i>hypo</i>cellular"}],
    }
    status, html = _upload(clinician, "record.json", json.dumps(record))
    assert status == 200
    assert MARKUP_ID not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    content = re.search(
        r'<textarea name="content" hidden aria-hidden="true">(.*?)</textarea>', html, re.S
    )
    assert content
    assert "<script>" not in content.group(1)
    confirmed = clinician.client.post(
        "/upload/confirm",
        data={
            "csrf_token": csrf_of(html),
            "target": "",
            "filename": "record.json",
            "content": htmllib.unescape(content.group(1)),
        },
        files={"unused": ("", b"")},
    )
    assert confirmed.status_code == 200
    pages = [
        confirmed.text,
        clinician.client.get("/patients").text,
        clinician.client.get("/patients", params={"q": "<script>"}).text,
        clinician.client.get("/patient/print", params={"id": MARKUP_ID}).text,
    ]
    for page in pages:
        assert MARKUP_ID in htmllib.unescape(page)  # the name is shown ...
        assert "<script>alert" not in page  # ... but never as markup
        assert "<img src=x" not in page
        assert "<b>LBCL</b>" not in page
    assert "&lt;img src=x onerror=" in pages[1]
    pdf = clinician.client.get("/patient/summary.pdf", params={"id": MARKUP_ID})
    assert pdf.status_code == 200
    disposition = pdf.headers["content-disposition"]
    assert "<" not in disposition
    assert disposition.count('"') == 2
