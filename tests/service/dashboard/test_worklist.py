"""The worklist (issue 16): decisions per episode, snooze, worse signature, tiers on the patient
page, the summary band and errors at the top, the list order and "new since you last looked"
(docs/worklist.md; docs/decisions.md, "Standing care, death and what is shown")."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session
from tests.service.dashboard.conftest import Site
from tests.utils.rule_helpers import daily, record

from icaht.store.patients import import_records

FEVER = "workup.neutropenic-fever"
LATE = "workup.late-cytopenia"
KEY = "fever-410"


@pytest.fixture
def ward(clinician: Site) -> Site:
    """A patient with ANC 0.3 x10^9/L from day 350, fevers on days 366 and 410, and platelets
    falling to 20 x10^9/L from day 400."""
    rec = record(
        patient={"patient_id": KEY},
        labs=[
            *daily("anc", 350, 420, 0.3),
            *daily("platelets", 350, 399, 120.0),
            *daily("platelets", 400, 420, 20.0),
        ],
        events=[
            {"kind": "fever", "start": 366, "temperature_c": 38.6},
            {"kind": "fever", "start": 410, "temperature_c": 39.4},
        ],
    )
    with Session(clinician.engine) as session, session.begin():
        import_records(session, [rec], "test")
    return clinician


def _card(html: str, rule_id: str) -> str:
    """The card of one rule on a patient page."""
    found = re.search(rf'<article[^>]*data-rule="{re.escape(rule_id)}".*?</article>', html, re.S)
    assert found, f"no card for {rule_id}"
    return found.group(0)


def _page(site: Site, day: int) -> str:
    return site.client.get("/patient", params={"id": KEY, "as_of": day}).text


def _decide(site: Site, day: int, rule_id: str, choice: str, **extra: str) -> int:
    form = {"csrf_token": site.token(), "id": KEY, "rule_id": rule_id, "as_of": str(day)}
    return site.client.post(
        "/patient/decision", data={**form, "choice": choice, **extra}
    ).status_code


def test_a_dismissed_fever_does_not_hide_a_new_fever(ward: Site) -> None:
    """Issue 16: a neutropenic-fever alert dismissed on day 366 came back already "dismissed" for
    a new fever of 39.4 with ANC 0.08 on day 410. A dismissal applies to its episode only."""
    assert _decide(ward, 366, FEVER, "dismiss", reason="cultures drawn, CRS fever") == 200
    assert "Dismissed by clinician-user" in _card(_page(ward, 367), FEVER)  # same episode
    again = _card(_page(ward, 410), FEVER)
    assert "Dismissed by" not in again
    assert "rec-dismiss" not in again.split(">", 1)[0]


def test_acknowledged_card_opens_again_when_worse(ward: Site) -> None:
    """docs/decisions.md, Episodes: the same episode with worse facts (a new lineage) shows
    again as new. The late-cytopenia card acknowledged on day 370 (neutrophils) stays
    acknowledged on day 390 and opens on day 400 when platelets fall to grade 4."""
    assert _decide(ward, 370, LATE, "accept") == 200
    assert "Acknowledged by clinician-user" in _card(_page(ward, 390), LATE)
    assert "Acknowledged by" not in _card(_page(ward, 400), LATE)


def test_snooze_ends_on_its_day(ward: Site) -> None:
    """A snooze until day 380 covers the card on day 379 and not on day 380."""
    assert _decide(ward, 370, LATE, "snooze", until="380") == 200
    assert "Snoozed by clinician-user" in _card(_page(ward, 379), LATE)
    assert "Snoozed by" not in _card(_page(ward, 380), LATE)


def test_rejected_decision_shows_errors_at_the_top(ward: Site) -> None:
    """A snooze without a later day is refused; the error is the first thing on the page."""
    form = {"csrf_token": ward.token(), "id": KEY, "rule_id": LATE, "as_of": "370"}
    response = ward.client.post("/patient/decision", data={**form, "choice": "snooze"})
    assert response.status_code == 422
    main = response.text.split("<main", 1)[1]
    assert main.index('id="page-errors"') < main.index('id="summary-band"')
    assert "Snoozing needs a day after day 370" in main


def test_patient_page_orders_cards_by_tier(ward: Site) -> None:
    """Summary band first (counts with grades and trends, ICAHT grades, act-now cards), then the
    tiers: act now before review before folded; standing items only in the checklist."""
    html = _page(ward, 410)
    band = html.split('id="summary-band"', 1)[1].split("</section>", 1)[0]
    assert "ANC" in band
    assert "G4" in band
    assert 'href="#rec-workup.neutropenic-fever"' in band
    tiers = re.findall(r'id="tier-(act-now|review|folded)"', html)
    assert tiers == sorted(tiers, key=["act-now", "review", "folded"].index)
    assert 'data-tier="standing"' not in html
    assert 'id="checklist"' in html


def test_list_is_a_worklist_with_new_since_last_look(ward: Site) -> None:
    """Default order: unacknowledged act-now items first; each row has a one-line summary; a
    patient the user just looked at shows nothing new."""
    listed = ward.client.get("/patients").text
    order = re.findall(r'<tr class="patient-row" data-patient="([^"]+)"', listed)
    assert order[0] == KEY  # the late fever: an unacknowledged alert
    row = listed.split(f'data-patient="{KEY}"', 1)[1].split("</tr>", 1)[0]
    assert re.search(r"D\+420 · ANC 0\.3 → G4 · PLT 20 → G4", row)
    assert "new (not seen)" in row
    ward.client.get("/patient", params={"id": KEY})
    again = ward.client.get("/patients").text.split(f'data-patient="{KEY}"', 1)[1]
    assert "new" not in again.split("</tr>", 1)[0].split("summary-line", 1)[0]


def test_snoozed_card_stays_folded_while_unchanged(ward: Site) -> None:
    """docs/worklist.md, "Dashboard decisions": a snoozed episode whose facts do not change
    stays folded, as snoozed, on every day before the snooze day."""
    assert _decide(ward, 370, LATE, "snooze", until="420") == 200
    for day in (371, 385, 399):
        html = _page(ward, day)
        assert "Snoozed by clinician-user" in _card(html, LATE), day
        folded = html.split('id="tier-folded"', 1)[1]
        assert f'data-rule="{LATE}"' in folded, day


def test_snooze_gives_way_to_a_worse_or_new_episode(ward: Site) -> None:
    """A snooze until day 420 covers neither the same episode once it is worse (platelets fall
    to grade 4 on day 400) nor a new episode of the same rule (the fever of day 410): both open
    again before the snooze day."""
    assert _decide(ward, 370, LATE, "snooze", until="420") == 200
    assert _decide(ward, 366, FEVER, "snooze", until="420") == 200
    assert "Snoozed by" in _card(_page(ward, 399), LATE)
    assert "Snoozed by" not in _card(_page(ward, 400), LATE)
    assert "Snoozed by" in _card(_page(ward, 367), FEVER)
    reopened = _page(ward, 410)
    assert "Snoozed by" not in _card(reopened, FEVER)
    act_now = reopened.split('id="tier-act-now"', 1)[1].split("</section>", 1)[0]
    assert f'data-rule="{FEVER}"' in act_now
