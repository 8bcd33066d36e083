"""Laboratory values as a flowsheet (issue 16, "Labs as a flowsheet"): analytes as rows, days
as columns newest first, one unit per analyte, L/H against the lab's range, critical = CTCAE
v5.0 grade 4, the CTCAE grade of the value, corrected values marked."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session
from tests.service.dashboard.conftest import Site

from icaht.core.observation import Observation
from icaht.core.patient_record import PatientRecord
from icaht.store.corrections import correct_observation
from icaht.store.patients import import_records
from icaht.store.reading import list_observations

KEY = "flow-1"


@pytest.fixture
def flow(clinician: Site) -> Site:
    """ANC 1.2 on day 10, 0.8 on day 11 (G3), 0.05 on day 12 (G4); platelets 140 x10^9/L on
    day 10 reported as 140,000 /uL; CRP 5 mg/dL over a ULN of 0.5 on day 12; Hb 9.5 g/dL on
    day 11 entered as 7.5 and corrected."""
    rec = PatientRecord.model_validate(
        {
            "patient": {"patient_id": KEY},
            "observations": [
                {"time": 10, "analyte": "anc", "value": 1.2, "unit": "10^9/L", "lln": 1.5},
                {"time": 11, "analyte": "anc", "value": 0.8, "unit": "10^9/L"},
                {"time": 12, "analyte": "anc", "value": 0.05, "unit": "10^9/L"},
                {"time": 10, "analyte": "platelets", "value": 140000, "unit": "/uL"},
                {"time": 12, "analyte": "crp", "value": 5, "unit": "mg/dL", "uln": 0.5},
                {"time": 11, "analyte": "hb", "value": 7.5, "unit": "g/dL"},
            ],
        }
    )
    with Session(clinician.engine) as session, session.begin():
        import_records(session, [rec], "test")
        (hb,) = [
            r
            for r in list_observations(session, KEY, -1e9, 1e9, False)
            if r.observation.analyte == "hb"
        ]
        fixed = Observation(time=11, analyte="hb", value=9.5, unit="g/dL")
        correct_observation(session, KEY, hb.id, fixed)
    return clinician


def _row(html: str, analyte: str) -> list[str]:
    found = re.search(rf'<tr data-analyte="{analyte}">(.*?)</tr>', html, re.S)
    assert found, analyte
    return re.findall(r"<td[^>]*>.*?</td>", found.group(1), re.S)


def test_flowsheet_days_newest_first_with_flags_grades_and_corrections(flow: Site) -> None:
    html = flow.client.get("/patient/flowsheet", params={"id": KEY}).text
    days = re.findall(r'<th scope="col" class="num">Day (-?\d+)</th>', html)
    assert days == ["12", "11", "10"]
    anc = _row(html, "anc")
    assert 'data-flag="critical"' in anc[0]
    assert "G4" in anc[0]
    assert "G3" in anc[1]
    assert 'data-flag="L"' in anc[2]  # 1.2 under the lab's LLN 1.5
    plt = _row(html, "platelets")
    assert ">140 " in plt[2]  # 140,000 /uL shown in the one unit, 10^9/L
    assert "10^9/L" in html.split('data-analyte="platelets"', 1)[1].split("</th>", 1)[0]
    crp = _row(html, "crp")
    assert 'data-flag="H"' in crp[0]
    assert "grade" not in crp[0]  # CTCAE does not grade CRP
    hb = _row(html, "hb")
    assert "9.5" in hb[1]
    assert "corrected" in hb[1]
    assert "corrected" not in "".join(anc)


def test_flowsheet_limits_days_and_links_the_rest(flow: Site) -> None:
    html = flow.client.get("/patient/flowsheet", params={"id": KEY, "days": 2}).text
    assert re.findall(r"Day (\d+)</th>", html) == ["12", "11"]
    assert "1 earlier day(s) with values" in html
    assert flow.client.get("/patient/flowsheet", params={"id": "nobody"}).status_code == 404
