"""Prophylaxis and the lesser findings of issue 15 in the prophylaxis, medication-review,
risk-factor and day 21-28 screen rules (docs/decisions.md, Prophylaxis; "Absence is not a
negative"): paediatric dosing, the PJP agent, the mold-active azole, one card for TMP-SMX, none
recorded, CD28 and the screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.utils.rule_helpers import SEED, daily, fired, record

from icaht.core.assessment import assess
from icaht.io.records import load_course

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ANTIVIRAL = "prophylaxis.antiviral-start"
ABX = "prophylaxis.antibacterial-antifungal-start"
PJP = "prophylaxis.pjp-start"
SWITCH = "prophylaxis.pjp-switch-from-tmp-smx"
EXTENDED = "prophylaxis.extended-antimicrobial"
REVIEW = "medication.myelosuppressive-review"
RISK = "risk.cytopenia-risk-factors"
SCREEN = "workup.day21-28-cytopenia-screen"
NONE_RECORDED = "None recorded; if it is running, this does not apply"


def med(drug: str, start: float, end: float | None = None) -> dict[str, Any]:
    return {"kind": "medication", "drug": drug, "start": start, "end": end}


# -- children: the agent, dose by weight ---------------------------------------------------------
@pytest.mark.parametrize("day", [1, 20, 35])
def test_jain_case_3_gets_no_adult_antiviral_doses(day: int) -> None:
    """Issue 15 finding 1: Jain case 3 (31 months) got aciclovir 800 mg / valaciclovir 500 mg.
    docs/decisions.md, Prophylaxis: children (< 18 years) get the agent and 'dose by weight
    per paediatric protocol', never adult doses."""
    assessment = assess(load_course(EXAMPLES / "jain-case3.json"), day, SEED)
    card = {r.rule_id: r for r in assessment.recommendations}[ANTIVIRAL]
    assert "mg" not in card.action
    assert "aciclovir or valaciclovir, dose by weight per paediatric protocol" in card.action


@pytest.mark.parametrize(
    ("patient", "adult_dose", "caveat"),
    [({"age_years": 17.9}, False, False), ({"age_years": 18}, True, False), ({}, True, True)],
)
def test_antiviral_doses_for_adults_only(
    patient: dict[str, Any], adult_dose: bool, caveat: bool
) -> None:
    """patient_groups.child_max_age_years = 18: doses only for adults; unknown age shows the adult
    doses named as such."""
    card = fired(record(patient=patient), 5)[ANTIVIRAL]
    assert ("800 mg" in card.action) is adult_dose
    assert any(c.startswith("Age not recorded") for c in card.caveats) is caveat


# -- PJP: no TMP-SMX unseen ----------------------------------------------------------------------
def test_pjp_without_counts_does_not_recommend_tmp_smx() -> None:
    """Issue 15 finding 12: with no counts the PJP card recommended myelosuppressive TMP-SMX. The
    choice cannot be evaluated and the missing counts are named."""
    card = fired(record(), 30)[PJP]
    assert "with TMP-SMX" not in card.action
    values = {f.label: f.value for f in card.facts}
    assert values["Agent choice"].startswith("cannot evaluate (missing: current ANC")
    assert "current Platelets" in values["Agent choice"]


def test_pjp_with_counts_and_no_persistent_cytopenia_is_tmp_smx() -> None:
    """JAIN L37: TMP-SMX commonly, with current counts and no severe lineage."""
    card = fired(record(labs=[("anc", 29, 2.0), ("platelets", 29, 150.0)]), 30)[PJP]
    assert "with TMP-SMX" in card.action


def test_jain_case_3_pjp_agent_is_pentamidine_or_atovaquone() -> None:
    """Jain case 3: aplastic neutropenia from day 0 (a severe lineage for >= 14 days by day 30)."""
    assessment = assess(load_course(EXAMPLES / "jain-case3.json"), 30, SEED)
    card = {r.rule_id: r for r in assessment.recommendations}[PJP]
    assert "pentamidine or atovaquone (persistent" in card.action


# -- one card for TMP-SMX ------------------------------------------------------------------------
def test_no_replace_tmp_smx_at_the_lymphodepletion_nadir() -> None:
    """Issue 15 finding 13: 'replace TMP-SMX' on day 0 at the lymphodepletion nadir duplicated the
    myelosuppressive-drug review: the review shows, the switch waits for persistent cytopenia."""
    rec = record(labs=[("anc", 0, 0.1), ("platelets", 0, 15.0)], events=[med("co-trimoxazole", -7)])
    out = fired(rec, 0)
    assert REVIEW in out
    assert SWITCH not in out


def test_persistent_cytopenia_on_tmp_smx_shows_the_switch_not_the_review() -> None:
    """Finding 13: one of the two, not both; the review keeps the other drugs."""
    labs = [*daily("anc", 10, 40, 0.3), ("platelets", 40, 100.0)]
    only_tmp_smx = fired(record(labs=labs, events=[med("co-trimoxazole", 0)]), 40)
    assert SWITCH in only_tmp_smx
    assert REVIEW not in only_tmp_smx
    both = fired(record(labs=labs, events=[med("co-trimoxazole", 0), med("linezolid", 35)]), 40)
    assert SWITCH in both
    assert [f.value for f in both[REVIEW].facts] == ["linezolid"]


# -- mold-active azole ---------------------------------------------------------------------------
def test_no_mold_active_azole_for_one_severe_anc_after_day_30() -> None:
    """Issue 15 finding 13: a mold-active azole for every ANC <= 0.5 after day 30. JAIN L61: 'for
    select patients' with prolonged or late severe neutropenia (docs/decisions.md: persistent
    severe neutropenia)."""
    labs = [*daily("anc", 20, 38, 1.2), ("anc", 40, 0.2)]
    card = fired(record(labs=labs), 40)[EXTENDED]
    assert "azole" not in card.action
    persistent = fired(record(labs=daily("anc", 20, 40, 0.2)), 40)[EXTENDED]
    assert "For select patients with this persistent severe neutropenia" in persistent.action


# -- absence is not a negative -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule_id", "day", "labs"),
    [(ANTIVIRAL, 5, []), (ABX, 3, [("anc", 3, 0.2)]), (PJP, 30, [])],
)
def test_start_cards_say_none_recorded(
    rule_id: str, day: int, labs: list[tuple[str, float, float]]
) -> None:
    """docs/decisions.md, "Absence is not a negative": a start card fires with the caveat
    'none recorded; if it is running, this does not apply' unless the medication stream is
    declared complete."""
    open_stream = fired(record(labs=labs), day)[rule_id]
    assert any(c.startswith(NONE_RECORDED) for c in open_stream.caveats)
    complete = fired(record(patient={"complete_streams": ["medications"]}, labs=labs), day)
    assert not any(c.startswith(NONE_RECORDED) for c in complete[rule_id].caveats)


def test_prophylaxis_status_reads_none_recorded_not_none_running() -> None:
    """The antiviral card's fact reads 'none recorded' unless the stream is declared complete."""
    facts = {f.label: f.value for f in fired(record(), 5)[ANTIVIRAL].facts}
    assert facts["Antiviral prophylaxis"] == "none recorded"
    complete = record(patient={"complete_streams": ["medications"]})
    facts = {f.label: f.value for f in fired(complete, 5)[ANTIVIRAL].facts}
    assert facts["Antiviral prophylaxis"] == "none running"


def test_no_prophylaxis_on_the_day_of_death() -> None:
    """Issue 15 finding 10: antiviral and PJP prophylaxis were advised on the day of death."""
    rec = record(labs=[("anc", 35, 0.2)], events=[{"kind": "death", "start": 35}])
    assert not [r for r in fired(rec, 35) if r.startswith("prophylaxis.")]


# -- CD28 ----------------------------------------------------------------------------------------
def test_cd28_is_not_a_risk_factor() -> None:
    """Issue 15 finding 13: CD28 was listed as a risk factor; JAIN L45 says only that the
    costimulatory domain 'may impact' count recovery: a note at most."""
    assert RISK not in fired(record(patient={"costimulatory_domain": "CD28"}), 10)
    card = fired(record(patient={"costimulatory_domain": "CD28", "prior_allo_hct": True}), 10)[RISK]
    assert [f.label for f in card.facts] == ["Prior allogeneic HCT"]
    assert any("may impact" in c for c in card.caveats)


# -- day 21-28 screen ----------------------------------------------------------------------------
def test_screen_now_only_until_its_results_are_on_file() -> None:
    """Issue 15 finding 13: the day 21-28 screen said 'screen now' on 8 days while showing its
    results. 'Now' only while a count since day 21 is missing (BK: all patients screened)."""
    labs = [("anc", 21, 0.8), ("platelets", 24, 60.0), ("hb", 24, 9.0)]
    rec = record(labs=labs)
    for day in range(21, 29):
        says_now = "now" in fired(rec, day)[SCREEN].action
        assert says_now is (day < 24), day


def test_screen_transfusions_none_recorded() -> None:
    """docs/decisions.md, "Absence is not a negative": with no transfusion recorded and the
    stream not declared complete the screen says 'none recorded', not 'independent'."""
    labs = [("anc", 21, 0.8), ("platelets", 21, 60.0), ("hb", 21, 9.0)]
    values = [f.value for f in fired(record(labs=labs), 22)[SCREEN].facts]
    assert "independent" not in values
    assert values.count("none recorded") == 2


# -- CDS Hooks draft orders follow the card ------------------------------------------------------
def _suggestions(rec_or_path: Any, day: int, rule_id: str) -> list[str]:
    from icaht.io.fhir.cards import card  # noqa: PLC0415 - only these tests need the FHIR layer

    course = load_course(rec_or_path) if isinstance(rec_or_path, Path) else rec_or_path
    assessment = assess(course, day, SEED)
    recommendation = {r.rule_id: r for r in assessment.recommendations}[rule_id]
    return [s["label"] for s in card(recommendation, assessment).get("suggestions", [])]


def test_no_adult_or_tmp_smx_draft_orders_for_jain_case_3() -> None:
    """Findings 1 and 12 through the CDS Hooks cards: the draft order showed aciclovir 800 mg for
    a 31-month-old and TMP-SMX in persistent cytopenia; a draft follows only what the card says."""
    case3 = EXAMPLES / "jain-case3.json"
    assert _suggestions(case3, 35, ANTIVIRAL) == []
    assert _suggestions(case3, 35, PJP) == []


def test_no_tmp_smx_draft_order_without_counts() -> None:
    """Finding 12: no counts, no TMP-SMX (not even as a draft order); with counts it is offered."""
    from icaht.core.course import course_from_record  # noqa: PLC0415

    assert _suggestions(course_from_record(record()), 30, PJP) == []
    with_counts = record(labs=[("anc", 29, 2.0), ("platelets", 29, 150.0)])
    labels = _suggestions(course_from_record(with_counts), 30, PJP)
    assert labels == ["Draft: TMP-SMX for PJP prophylaxis"]
