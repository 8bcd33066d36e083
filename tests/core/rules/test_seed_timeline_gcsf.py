"""Seed timeline rows of issue 15 for the G-CSF decision: every day of each window, on the example
records (examples/*.json; their provenance files say which days are stated and which chosen).

- Jain case 1 (JAIN L7, L41; jain-case1.provenance.md): ANC nadir 20/mm3 on day 2, > 500 on day
  15; CRS grade 2 days 2-3; ICANS grade 3 days 5-10. G-CSF is a consideration on days 7-14 as the
  authors' course allows: deferred while the grade-3 ICANS is active (days 7-10, JAIN L39), then
  considered (days 11-14). No G-CSF card on any other day 0-200 (the day-39/50/63 dips are met by
  G-CSF started the same day).
- Jain case 3 (JAIN L71, L73; jain-case3.provenance.md): 31-month-old, CRS grade 3 days 1-10,
  ICANS grade 3 days 5-18, ANC < 100/mm3 for 6 weeks, G-CSF from day 42. Deferred while CRS/ICANS
  grade >= 2 is active, then considered until it starts on day 42, with the child caveat and no
  adult dose; "defer growth factors" is never a card of its own.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from icaht.core.assessment import assess
from icaht.core.course import Course
from icaht.core.guidance import Recommendation
from icaht.io.records import load_course
from icaht.knowledge.profile import load_profile

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SEED = load_profile("seed-2023")
CONSIDER = "growth-factor.consider-gcsf"
DEFER = "growth-factor.defer-gcsf-during-crs"


@cache
def _course(case: str) -> Course:
    return load_course(EXAMPLES / f"{case}.json")


def gcsf_cards(case: str, day: int) -> dict[str, Recommendation]:
    """The G-CSF decision's cards shown on a day (at most one)."""
    shown = assess(_course(case), float(day), SEED).recommendations
    return {r.rule_id: r for r in shown if r.decision == "gcsf"}


# -- Jain case 1 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("day", range(7, 15))
def test_jain_case1_gcsf_consideration_on_days_7_to_14(day: int) -> None:
    """JAIN L7 (ANC > 500 only from day 15), L39 (consider G-CSF if not recovered by day 7-10;
    avoid it in ongoing CRS, early G-CSF may worsen CRS and ICANS): the card defers while the
    grade-3 ICANS runs (to day 10), then considers G-CSF."""
    cards = gcsf_cards("jain-case1", day)
    if day <= 10:
        assert list(cards) == [DEFER]
        assert "ICANS (grade 3) is active" in cards[DEFER].action
    else:
        assert list(cards) == [CONSIDER]
        assert "5 ug/kg" in cards[CONSIDER].action


@pytest.mark.parametrize("day", [*range(7), *range(15, 201)])
def test_jain_case1_no_gcsf_card_outside_days_7_to_14(day: int) -> None:
    """JAIN L41 ('responsive to intermittent G-CSF'): each later dip below 750/mm3 is met by
    G-CSF started the same day (provenance), so the biphasic advice never shows."""
    assert gcsf_cards("jain-case1", day) == {}


# -- Jain case 3 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("day", range(7, 19))
def test_jain_case3_gcsf_deferred_while_crs_or_icans_is_active(day: int) -> None:
    """JAIN L71 (grade 3 CRS and ICANS), L39: the G-CSF card is the deferral, naming the active
    episodes (CRS to day 10, ICANS to day 18)."""
    cards = gcsf_cards("jain-case3", day)
    assert list(cards) == [DEFER]
    action = cards[DEFER].action
    assert ("CRS (grade 3)" in action) is (day <= 10)
    assert "ICANS (grade 3)" in action
    assert any(c.startswith("Child:") for c in cards[DEFER].caveats)


@pytest.mark.parametrize("day", range(19, 42))
def test_jain_case3_gcsf_considered_until_it_starts_on_day_42(day: int) -> None:
    """JAIN L71 (ANC < 100/mm3 for 6 weeks, G-CSF started at about 6 weeks), L73 (children): the
    card considers G-CSF, by weight per paediatric protocol, with the child caveat (issue 15
    finding 7: silent on days 30-41 before)."""
    cards = gcsf_cards("jain-case3", day)
    assert list(cards) == [CONSIDER]
    card = cards[CONSIDER]
    assert "dose by weight per paediatric protocol" in card.action
    assert any("often deferred in paediatric patients" in c for c in card.caveats)


@pytest.mark.parametrize("day", range(42, 201))
def test_jain_case3_no_gcsf_card_once_gcsf_runs_and_no_separate_defer_card(day: int) -> None:
    """JAIN L71: G-CSF from day 42 'continued beyond 90 days' (to day 120, then ANC > 500).
    Issue 15: 'defer growth factors' as a separate card from day 42 (the day the authors started
    G-CSF) must not show: the child caveat is on the G-CSF card."""
    shown = assess(_course("jain-case3"), float(day), SEED).recommendations
    assert not [r.rule_id for r in shown if r.rule_id.startswith("growth-factor.")]


@pytest.mark.parametrize("day", range(201))
def test_jain_case3_never_an_adult_dose(day: int) -> None:
    """Issue 15 finding 1 (adult doses for a toddler), G-CSF part: any dose on a G-CSF card is
    per weight per paediatric protocol."""
    for card in gcsf_cards("jain-case3", day).values():
        if "ug/kg" in card.action:
            assert "dose by weight per paediatric protocol" in card.action
