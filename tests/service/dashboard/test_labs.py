"""Laboratory values in the dashboard: listed with their history, corrected with a reason (the
earlier value kept, superseded), audited; a bad correction or a missing CSRF token saves
nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.service.dashboard.conftest import Site, csrf_of

from icaht.store.tables import AuditEntry, ObservationRow, Patient

PATIENT = "jain-2023-case1"


def _current_hb(site: Site) -> ObservationRow:
    """The patient's first current haemoglobin row."""
    with Session(site.engine) as session:
        row = session.scalars(
            select(ObservationRow)
            .join(Patient, Patient.id == ObservationRow.patient_id)
            .where(
                Patient.patient_key == PATIENT,
                ObservationRow.analyte == "hb",
                ObservationRow.superseded_by.is_(None),
            )
            .order_by(ObservationRow.day, ObservationRow.id)
        ).first()
        assert row is not None
        session.expunge(row)
        return row


def _rows(site: Site) -> int:
    with Session(site.engine) as session:
        return session.scalar(select(func.count()).select_from(ObservationRow)) or 0


def _prefilled(html: str, name: str) -> str:
    found = re.search(rf'id="fix-{name}" name="{name}" value="([^"]*)"', html)
    assert found, f"no prefilled {name}"
    return found.group(1)


def _form(site: Site, row: ObservationRow, **changes: str) -> dict[str, str]:
    """The correction form as the page prefills it, with ``changes``."""
    page = site.client.get(f"/patient/labs/correct?id={PATIENT}&row={row.id}")
    assert page.status_code == 200
    fields = {
        "csrf_token": csrf_of(page.text),
        "id": PATIENT,
        "row": str(row.id),
        "time": _prefilled(page.text, "time"),
        "analyte": "hb",
        "value": _prefilled(page.text, "value"),
        "unit": row.unit,
        "reason": "transcription error: the analyser printout says otherwise",
    }
    return fields | changes


def test_the_labs_page_lists_values_with_a_correct_link(clinician: Site) -> None:
    page = clinician.client.get(f"/patient/labs?id={PATIENT}")
    assert page.status_code == 200
    hb = _current_hb(clinician)
    assert f'href="/patient/labs/correct?id={PATIENT}&amp;row={hb.id}"' in page.text
    patient = clinician.client.get(f"/patient?id={PATIENT}")
    assert f'href="/patient/labs?id={PATIENT}"' in patient.text


def test_a_correction_keeps_the_old_value_and_is_audited(clinician: Site) -> None:
    hb = _current_hb(clinician)
    before = _rows(clinician)
    form = _form(clinician, hb, value="6.1")
    assert form["time"]
    assert form["value"] == "6.1"
    done = clinician.client.post("/patient/labs/correct", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].endswith("msg=lab-corrected")
    assert _rows(clinician) == before + 1
    with Session(clinician.engine) as session:
        old = session.get(ObservationRow, hb.id)
        assert old is not None
        assert old.superseded_by is not None
        new = session.get(ObservationRow, old.superseded_by)
        assert new is not None
        assert (new.value, new.day, new.unit) == (6.1, hb.day, hb.unit)
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "correct-observation")
        ).one()
    assert entry.actor == "clinician-user"
    assert entry.patient_key == PATIENT
    assert entry.detail["old"] == hb.id
    assert entry.detail["new"] == new.id
    assert entry.detail["reason"].startswith("transcription error")
    current = clinician.client.get(f"/patient/labs?id={PATIENT}&msg=lab-corrected")
    assert "Laboratory value corrected" in current.text
    assert f'id="obs-{hb.id}"' not in current.text
    history = clinician.client.get(f"/patient/labs?id={PATIENT}&history=true")
    assert f'<tr id="obs-{hb.id}" class="superseded">' in history.text
    again = clinician.client.get(f"/patient/labs/correct?id={PATIENT}&row={hb.id}")
    assert again.status_code == 404  # a corrected value is not corrected twice


def test_bad_corrections_save_nothing(clinician: Site) -> None:
    hb = _current_hb(clinician)
    before = _rows(clinician)
    no_reason = clinician.client.post(
        "/patient/labs/correct", data=_form(clinician, hb, value="6.1", reason="")
    )
    assert no_reason.status_code == 422
    assert "say why the value is corrected" in no_reason.text
    implausible = clinician.client.post(
        "/patient/labs/correct", data=_form(clinician, hb, value="65", unit="g/dL")
    )
    assert implausible.status_code == 422
    assert "implausible hb value" in implausible.text
    unchanged = clinician.client.post("/patient/labs/correct", data=_form(clinician, hb))
    assert unchanged.status_code == 422  # the same value again is already stored
    assert "already stored" in unchanged.text
    forged = _form(clinician, hb, value="6.1") | {"csrf_token": "forged"}
    refused = clinician.client.post("/patient/labs/correct", data=forged)
    assert refused.status_code == 403
    assert _rows(clinician) == before
    assert _current_hb(clinician).id == hb.id


def test_a_researcher_cannot_open_or_correct_labs(site: Site) -> None:
    site.sign_in("researcher-user")
    assert site.client.get(f"/patient/labs?id={PATIENT}").status_code == 403
    hb = _current_hb(site)
    assert site.client.get(f"/patient/labs/correct?id={PATIENT}&row={hb.id}").status_code == 403
