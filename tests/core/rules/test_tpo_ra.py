"""TPO-RA rules (icaht.core.rules.tpo_ra): the candidate and its blocks, then one course card a
day (titrating, responding, taper, no response, ALT review, label adjustments), with liver tests,
dose checks and the eltrombopag salt on the card of the day; minimal records with near misses on
each side of each threshold. The seed cases are in ``test_seed_timeline_tpo_ra.py``.

Sources: JAIN L57 (indication well beyond day 30; eltrombopag 75 -> 150 mg, romiplostim 10 ug/kg;
stop on recovery or no response in 4-6 weeks), L65 (CHIP precedes MDS), L73 (children: TPO
mimetics and myeloid clonal evolution); BK abstract (response; taper once met); BAUR L202-206,
L252-255 (exclude infiltration and MDS; romiplostim 1 ug/kg weekly titrated until platelets > 50);
SCAL L22 (dose kept during the response); docs/decisions.md ("TPO-RA candidate", "A TPO-RA
course is one state machine", "TPO-RA response"); labels via docs/evidence.md 7 (eltrombopag
start 25 mg for East/Southeast Asian ancestry or hepatic impairment, 12.5 mg for both, 1-5 years
25 mg, 6-17 years 50 mg, maximum 75 mg; titration and liver tests; romiplostim US 200/400, EU
150/250; choline 36 mg ~ olamine 50 mg). Profile seed-2023 defaults: earliest day 30, 3 low
values, indication held 7 days, target 50, eltrombopag step 25 mg after 14 days, cap 150, no
response after 6 weeks, partial-response windows 14 days, taper at >= 50 over 14 days, liver
tests every 14 days, marrow on file 42 days.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.utils.rule_helpers import SEED, daily, fired, record, unevaluated

from icaht.core.course import course_from_record
from icaht.core.guidance import Recommendation, contradictions
from icaht.core.patient_record import PatientRecord
from icaht.core.rule_context import RuleContext

Labs = list[tuple[str, float, float]]


def med(drug: str, start: float, end: float | None = None, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "medication", "drug": drug, "start": start, **fields}
    if end is not None:
        event["end"] = end
    return event


def platelet_transfusion(day: float) -> dict[str, Any]:
    return {"kind": "transfusion", "start": day, "product": "platelets"}


def marrow(day: float, **findings: Any) -> dict[str, Any]:
    return {"kind": "marrow_biopsy", "start": day, **findings}


def eltrombopag(
    start: float, dose: float = 75, end: float | None = None, **kw: Any
) -> dict[str, Any]:
    return med("eltrombopag", start, end, dose=dose, dose_unit="mg", frequency="daily", **kw)


def romiplostim(start: float, dose: float, unit: str = "ug/kg") -> dict[str, Any]:
    return med("romiplostim", start, dose=dose, dose_unit=unit, frequency="weekly")


def tpo_cards(rec: PatientRecord, day: int) -> dict[str, Recommendation]:
    """The TPO-RA cards shown as of ``day``: at most one, and no rule fault behind it (no two
    rules of the decision fire; docs/decisions.md: one card at a time)."""
    ctx = RuleContext.as_of(course_from_record(rec), day, SEED)
    assert contradictions(ctx) == []
    got = {k: r for k, r in fired(rec, day).items() if r.decision == "tpo-ra"}
    assert len(got) <= 1
    return got


def card(rec: PatientRecord, day: int) -> Recommendation:
    """The one TPO-RA card of the day."""
    (only,) = tpo_cards(rec, day).values()
    return only


def facts_of(rec: Recommendation) -> dict[str, str]:
    return {f.label: f.value for f in rec.facts}


# --- candidate -----------------------------------------------------------------------------------

CLEAR_FINDINGS: dict[str, Any] = {
    "mds": False,
    "malignant_infiltration": False,
    "fibrosis": False,
    "dysplasia": False,
}
CLEAR_MARROW = marrow(25, **CLEAR_FINDINGS)


def candidate_record(
    *extra: dict[str, Any], marrow_event: dict[str, Any] | None = CLEAR_MARROW, **patient: Any
) -> PatientRecord:
    """Platelets 15 daily (< 20 from day 0), platelet transfusions on days 24 and 28."""
    events = [platelet_transfusion(24), platelet_transfusion(28), *extra]
    if marrow_event is not None:
        events.append(marrow_event)
    return record(
        patient={"age_years": 60, **patient}, labs=daily("platelets", 0, 80, 15), events=events
    )


@pytest.mark.parametrize(("day", "expected"), [(30, False), (31, True)])
def test_candidate_only_after_the_earliest_day(day: int, expected: bool) -> None:
    """docs/decisions.md: day > 30 (tpo_ra.earliest_day; JAIN 'well beyond day 30')."""
    assert ("tpo-ra.candidate" in fired(candidate_record(), day)) is expected


def test_candidate_action_facts_and_caveats() -> None:
    """JAIN L57 doses with the profile defaults; the 'no other cause' caveat (JAIN L57); marrow
    findings in words, never a raw boolean (issue 15, finding 13)."""
    rec = card(candidate_record(), 31)
    assert rec.rule_id == "tpo-ra.candidate"
    assert rec.category == "TPO-RA"
    assert "eltrombopag 75 mg daily" in rec.action
    assert "toward 150 mg/day" in rec.action
    assert "romiplostim 1 ug/kg weekly, +1 ug/kg per week while platelets are < 50" in rec.action
    assert "maximum 10 ug/kg" in rec.action
    assert any("No other cause" in c for c in rec.caveats)
    facts = facts_of(rec)
    assert facts["Marrow: MDS"] == "absent"
    assert facts["Marrow: malignant infiltration"] == "absent"
    assert facts["Platelet indication held since"] == "day 0"
    assert not any("does not state" in c for c in rec.caveats)


@pytest.mark.parametrize(
    ("patient", "start"),
    [
        ({"east_southeast_asian_ancestry": True}, "eltrombopag 25 mg daily (reduced start"),
        ({"hepatic_impairment": True}, "eltrombopag 25 mg daily (reduced start"),
        (
            {"east_southeast_asian_ancestry": True, "hepatic_impairment": True},
            "eltrombopag 12.5 mg daily (reduced start for East/Southeast Asian ancestry and "
            "hepatic impairment",
        ),
    ],
)
def test_candidate_reduced_start_per_label(patient: dict[str, Any], start: str) -> None:
    """Eltrombopag label: 25 mg for East/Southeast Asian ancestry or hepatic impairment, 12.5 mg
    for both (issue 15, finding 13: the old rule said 25 mg for both)."""
    assert start in card(candidate_record(**patient), 31).action


@pytest.mark.parametrize(
    ("age", "start", "cap"),
    [
        (3.0, "eltrombopag 25 mg daily (label, children 1-5 years)", "toward 75 mg/day"),
        (10.0, "eltrombopag 50 mg daily (label, children from 6 years", "toward 75 mg/day"),
        (17.9, "eltrombopag 50 mg daily (label, children from 6 years", "toward 75 mg/day"),
        (18.0, "eltrombopag 75 mg daily (JAIN", "toward 150 mg/day"),
    ],
)
def test_children_get_the_label_bands_never_an_adult_dose(age: float, start: str, cap: str) -> None:
    """Issue 15 finding 1: a 3-year-old got 'eltrombopag 75 mg ... toward 150 mg'. Label bands:
    1-5 years 25 mg, 6-17 years 50 mg, maximum 75 mg; the card names JAIN's warning that TPO
    mimetics might trigger myeloid clonal evolution in children (L73)."""
    rec = card(candidate_record(age_years=age), 31)
    assert start in rec.action
    assert cap in rec.action
    child = any("myeloid clonal evolution" in c for c in rec.caveats)
    assert child is (age < 18)
    if age < 18:
        assert "150 mg" not in rec.action
        assert "eltrombopag 75 mg" not in rec.action


def test_an_infant_gets_no_dose() -> None:
    """Under 1 year the eltrombopag label gives no dose: per paediatric protocol."""
    rec = card(candidate_record(age_years=0.5), 31)
    assert "per paediatric protocol" in rec.action
    assert " mg" not in rec.action
    assert "ug/kg" not in rec.action


def test_unknown_age_says_the_doses_are_adult_doses() -> None:
    rec = record(labs=daily("platelets", 0, 40, 15), events=[CLEAR_MARROW])
    assert "Age not recorded: the doses shown are adult doses." in card(rec, 31).caveats


@pytest.mark.parametrize(
    ("finding", "words"),
    [
        ({"mds": True}, "MDS"),
        ({"malignant_infiltration": True}, "malignant infiltration"),
        ({"fibrosis": True}, "fibrosis"),
        ({"dysplasia": True}, "dysplasia"),
    ],
)
def test_marrow_findings_block_the_candidate(finding: dict[str, Any], words: str) -> None:
    """docs/decisions.md: MDS, malignant infiltration, fibrosis or lineage dysplasia on the
    marrow block a TPO-RA (issue 15 finding 1: fibrosis and dysplasia were read by no rule); the
    reason is listed, not shown as a card."""
    rec = candidate_record(marrow_event=marrow(25, **{**CLEAR_MARROW, **finding}))
    assert tpo_cards(rec, 31) == {}
    blocked = unevaluated(rec, 31)["tpo-ra.candidate"]
    assert blocked.missing == [f"no TPO-RA: {words} on the marrow of day 25"]


def test_a_later_marrow_not_stating_mds_does_not_clear_it() -> None:
    rec = candidate_record(marrow(28, fibrosis=False), marrow_event=marrow(20, mds=True))
    assert tpo_cards(rec, 31) == {}


@pytest.mark.parametrize(("day", "on_file"), [(67, True), (68, False)])
def test_no_marrow_on_file_blocks_the_candidate(day: int, on_file: bool) -> None:
    """A marrow on file is the latest within 42 days (marrow.valid_days): the day-25 marrow
    answers through day 67; after it, with the picture not improving (platelet transfusions go on
    every 4 days), the candidate waits for a marrow (the marrow card asks)."""
    rec = candidate_record(*(platelet_transfusion(d) for d in range(32, 81, 4)))
    assert ("tpo-ra.candidate" in tpo_cards(rec, day)) is on_file
    if not on_file:
        missing = unevaluated(rec, day)["tpo-ra.candidate"].missing
        assert missing[0].startswith("a marrow on file (none in the last 42 days")


def test_marrow_not_stating_a_finding_is_a_caveat() -> None:
    rec = card(candidate_record(marrow_event=marrow(25, mds=False)), 31)
    assert (
        "The marrow report does not state malignant infiltration, fibrosis, dysplasia: confirm."
        in rec.caveats
    )


@pytest.mark.parametrize(("day", "expected"), [(46, False), (47, True)])
def test_low_platelets_must_persist_seven_days(day: int, expected: bool) -> None:
    """Platelets < 20 on 3 consecutive values from day 40, held >= 7 days (project default,
    docs/decisions.md): not on day 46, from day 47."""
    labs: Labs = [("platelets", float(d), 15) for d in (40, 42, 44)]
    rec = record(patient={"age_years": 60}, labs=labs, events=[marrow(35, **CLEAR_FINDINGS)])
    assert ("tpo-ra.candidate" in fired(rec, day)) is expected


@pytest.mark.parametrize(("value", "expected"), [(19.0, True), (20.0, False)])
def test_candidate_on_low_platelets_without_transfusions(value: float, expected: bool) -> None:
    """Platelets < 20 on 3 consecutive values also qualify (docs/decisions.md)."""
    labs: Labs = [("platelets", 40.0, 15), ("platelets", 42.0, 15), ("platelets", 44.0, value)]
    rec = record(patient={"age_years": 60}, labs=labs, events=[marrow(35, **CLEAR_FINDINGS)])
    assert ("tpo-ra.candidate" in fired(rec, 50)) is expected


def test_transfusion_dependence_must_persist_seven_days() -> None:
    """Dependent (2 platelet transfusions in 14 days) from day 40 with platelets 30: held 7 days
    on day 47, not on day 46."""
    rec = record(
        patient={"age_years": 60},
        labs=daily("platelets", 30, 50, 30),
        events=[platelet_transfusion(36), platelet_transfusion(40), marrow(35, **CLEAR_FINDINGS)],
    )
    assert "tpo-ra.candidate" not in fired(rec, 46)
    assert "tpo-ra.candidate" in fired(rec, 47)


def test_no_candidate_when_already_on_a_tpo_ra() -> None:
    assert "tpo-ra.candidate" not in fired(candidate_record(eltrombopag(30)), 31)


def test_chip_known_before_car_t() -> None:
    rec = card(candidate_record(chip=True), 31)
    assert any(c.startswith("CHIP known (known before CAR-T)") for c in rec.caveats)


def test_chip_event_never_leaks_backwards() -> None:
    """A CHIP found on day 40 is not a caveat on day 35."""
    chip = {"kind": "chip", "start": 40, "gene": "DNMT3A"}
    rec = candidate_record(chip)
    assert not any("CHIP" in c for c in card(rec, 35).caveats)
    assert any("CHIP known (DNMT3A)" in c for c in card(rec, 40).caveats)


def test_bleeding_raises_the_priority() -> None:
    """JAIN L57: TPO-RAs for patients at high risk of bleeding; a recorded bleed leads the card."""
    bleed = {"kind": "bleeding", "start": 29, "grade": 2}
    rec = card(candidate_record(bleed), 31)
    assert rec.action.startswith("Bleeding recorded (grade 2): consider a TPO-RA")
    assert not any("reserves TPO-RAs" in c for c in rec.caveats)
    assert facts_of(rec)["Bleeding"] == "grade 2"


@pytest.mark.parametrize(
    "findings", [{"mds": True}, {"mds": False, "malignant_infiltration": True}]
)
def test_no_tpo_ra_suggestion_with_mds_or_infiltration(findings: dict[str, Any]) -> None:
    """BAUR L252-255: exclude MDS and malignant infiltration before a TPO-RA."""
    got = fired(candidate_record(marrow_event=marrow(25, **findings)), 31)
    assert "tpo-ra.candidate" not in got
    assert "workup.marrow-biopsy" not in got  # the day-25 marrow answers the marrow question


# --- marrow first: the one marrow card of the marrow decision ---------------------------------


@pytest.mark.parametrize("marrow_event", [None, marrow(-10, mds=False)])
def test_marrow_card_before_a_tpo_ra_without_a_post_infusion_marrow(
    marrow_event: dict[str, Any] | None,
) -> None:
    """No marrow, or only a pre-infusion marrow: no TPO-RA card; the marrow card asks for one
    "before a TPO-RA" (BAUR L252-255; docs/decisions.md, TPO-RA candidate and Marrow)."""
    got = fired(candidate_record(marrow_event=marrow_event), 31)
    assert "tpo-ra.candidate" not in got
    card_ = got["workup.marrow-biopsy"]
    assert card_.decision == "marrow"
    assert "before a TPO-RA" in card_.action


def test_marrow_card_waits_for_the_tpo_ra_earliest_day() -> None:
    got = fired(candidate_record(marrow_event=None), 30)
    assert (
        "workup.marrow-biopsy" not in got
        or "before a TPO-RA" not in got["workup.marrow-biopsy"].action
    )


# --- romiplostim titration -----------------------------------------------------------------------


def romiplostim_record(
    dose: float, labs: Labs, unit: str = "ug/kg", **patient: Any
) -> PatientRecord:
    return record(patient=patient, labs=labs, events=[romiplostim(60, dose, unit)])


@pytest.mark.parametrize(
    ("platelets", "words"), [(49.0, "from 3 to 4 ug/kg"), (50.0, "continuing")]
)
def test_romiplostim_step_up_below_target(platelets: float, words: str) -> None:
    """Label: +1 ug/kg per week while platelets < 50 x10^9/L; at 50 the dose is kept."""
    rec = card(romiplostim_record(3, [("platelets", 70.0, platelets)]), 70)
    assert rec.rule_id == "tpo-ra.romiplostim-titration"
    assert words in rec.action
    assert facts_of(rec)["TPO-RA course state"] == "titrating"


def test_romiplostim_at_maximum_says_so() -> None:
    """Label maximum 10 ug/kg: no further increase."""
    rec = card(romiplostim_record(10, [("platelets", 70.0, 30)]), 70)
    assert "at the maximum of 10 ug/kg" in rec.action


@pytest.mark.parametrize(("platelets", "hold"), [(400.0, False), (401.0, True)])
def test_romiplostim_hold_above_400_us(platelets: float, hold: bool) -> None:
    """US label: hold > 400, resume at -1 ug/kg once < 200."""
    rec = card(romiplostim_record(3, [("platelets", 70.0, platelets)]), 70)
    assert ("holding" in rec.action) is hold
    if hold:
        assert "resuming at 2 ug/kg once platelets are < 200" in rec.action
        assert facts_of(rec)["TPO-RA course state"] == "label adjustment"


@pytest.mark.parametrize(("first_week", "reduce"), [(200.0, False), (201.0, True)])
def test_romiplostim_reduce_above_200_for_two_weeks(first_week: float, reduce: bool) -> None:
    """US label: > 200 for 2 consecutive weeks -> -1 ug/kg."""
    labs: Labs = [("platelets", 63.0, first_week), ("platelets", 70.0, 250.0)]
    rec = card(romiplostim_record(3, labs), 70)
    assert ("reducing romiplostim from 3 to 2 ug/kg" in rec.action) is reduce


def test_romiplostim_eu_thresholds() -> None:
    """EU SmPC: reduce > 150 for 2 weeks, hold > 250 (setting tpo_ra.romiplostim_label)."""
    eu = SEED.model_copy(
        update={"tpo_ra": SEED.tpo_ra.model_copy(update={"romiplostim_label": "eu"})}
    )
    reduce_labs: Labs = [("platelets", 63.0, 151.0), ("platelets", 70.0, 160.0)]
    got = fired(romiplostim_record(3, reduce_labs), 70, eu)
    assert "reducing" in got["tpo-ra.romiplostim-titration"].action
    assert "reducing" not in card(romiplostim_record(3, reduce_labs), 70).action
    hold = fired(romiplostim_record(3, [("platelets", 70.0, 251.0)]), 70, eu)
    assert "holding" in hold["tpo-ra.romiplostim-titration"].action


def test_romiplostim_in_ug_uses_the_weight() -> None:
    """180 ug at 60 kg = 3 ug/kg (label dosing by actual body weight)."""
    rec = card(romiplostim_record(180, [("platelets", 70.0, 30)], "ug", weight_kg=60), 70)
    assert "from 3 to 4 ug/kg" in rec.action
    assert any("60 kg" in c for c in rec.caveats)


def test_romiplostim_in_ug_without_weight_cannot_be_titrated() -> None:
    """BK's flat 125 ug cannot be titrated or checked against 10 ug/kg without a weight."""
    missing = unevaluated(romiplostim_record(125, [("platelets", 70.0, 30)], "ug"), 70)
    assert missing["tpo-ra.romiplostim-titration"].missing == ["patient.weight_kg"]


# --- eltrombopag titration -----------------------------------------------------------------------


def eltrombopag_record(*events: dict[str, Any], labs: Labs, **patient: Any) -> PatientRecord:
    return record(patient=patient, labs=labs, events=list(events))


@pytest.mark.parametrize(("day", "increase"), [(73, False), (74, True)])
def test_eltrombopag_step_up_after_14_days(day: int, increase: bool) -> None:
    """Label: < 50 x10^9/L after >= 2 weeks at a dose -> +25 mg (13 vs 14 days at 75 mg); before,
    the card says when the step is due (the 'started' state)."""
    rec = card(eltrombopag_record(eltrombopag(60), labs=[("platelets", 72.0, 20)]), day)
    assert rec.rule_id == "tpo-ra.eltrombopag-titration"
    if increase:
        assert "from 75 to 100 mg/day" in rec.action
    else:
        assert "is due on day 74" in rec.action
        assert "increasing" not in rec.action


@pytest.mark.parametrize(("platelets", "increase"), [(49.0, True), (50.0, False)])
def test_eltrombopag_step_up_below_target(platelets: float, increase: bool) -> None:
    rec = eltrombopag_record(eltrombopag(60), labs=[("platelets", 74.0, platelets)])
    assert ("increasing" in card(rec, 74).action) is increase


def test_eltrombopag_days_at_dose_span_contiguous_segments() -> None:
    """Two contiguous segments at 75 mg count as one dose period from day 60."""
    rec = eltrombopag_record(
        eltrombopag(60, end=66), eltrombopag(67), labs=[("platelets", 74.0, 20)]
    )
    assert "increasing" in card(rec, 74).action
    changed = eltrombopag_record(
        eltrombopag(60, 50, end=66), eltrombopag(67), labs=[("platelets", 74.0, 20)]
    )
    assert "is due on day 81" in card(changed, 74).action


def test_eltrombopag_at_the_cap_says_so() -> None:
    """JAIN/BK titration cap 150 mg/day (tpo_ra.eltrombopag_max_mg_day)."""
    rec = eltrombopag_record(eltrombopag(60, 150), labs=[("platelets", 74.0, 20)])
    assert "titration cap of 150 mg/day" in card(rec, 74).action


def test_eltrombopag_cap_for_a_child_is_the_label_maximum() -> None:
    """A 10-year-old at 75 mg: no increase beyond the label maximum of 75 mg/day."""
    rec = eltrombopag_record(eltrombopag(60, 75), labs=[("platelets", 74.0, 20)], age_years=10)
    got = card(rec, 74)
    assert "titration cap of 75 mg/day" in got.action
    assert any("myeloid clonal evolution" in c for c in got.caveats)


@pytest.mark.parametrize(
    ("platelets", "words"),
    [
        (199.0, "continuing"),
        (200.0, "reducing eltrombopag from 75 to 50"),
        (400.0, "reducing"),
        (401.0, "stopping"),
    ],
)
def test_eltrombopag_reduce_and_stop_thresholds(platelets: float, words: str) -> None:
    """Label: 200-400 x10^9/L -> -25 mg; > 400 -> stop, check twice weekly, restart once < 150."""
    rec = eltrombopag_record(eltrombopag(60), labs=[("platelets", 64.0, platelets)])
    assert words in card(rec, 64).action


def test_eltrombopag_choline_titration_shows_the_equivalence() -> None:
    rec = eltrombopag_record(
        eltrombopag(60, 54, product="eltrombopag choline"), labs=[("platelets", 74.0, 20)]
    )
    assert any("36 mg choline ~ 50 mg olamine" in c for c in card(rec, 74).caveats)


# --- liver monitoring and the ALT review ---------------------------------------------------------


def alt(day: float, value: float, uln: float | None = 40.0) -> dict[str, Any]:
    obs: dict[str, Any] = {"time": day, "analyte": "alt", "value": value, "unit": "U/L"}
    if uln is not None:
        obs["uln"] = uln
    return obs


def liver_record(*observations: dict[str, Any], dose: float = 75) -> PatientRecord:
    platelets = [
        {"time": float(d), "analyte": "platelets", "value": 20.0, "unit": "10^9/L"}
        for d in range(56, 90, 2)
    ]
    return PatientRecord.model_validate(
        {
            "patient": {"patient_id": "t"},
            "observations": [*platelets, *observations],
            "events": [eltrombopag(60, dose)],
        }
    )


@pytest.mark.parametrize(("day", "due"), [(74, False), (75, True)])
def test_liver_tests_due_after_14_days_ride_on_the_card(day: int, due: bool) -> None:
    """Label: ALT, AST, bilirubin every 2 weeks in titration (tpo_ra.liver_test_interval_days);
    a caveat of the card of the day, which on day 74-75 is the dose step."""
    rec = card(liver_record(alt(60, 30)), day)
    assert rec.rule_id == "tpo-ra.eltrombopag-titration"
    assert any(c.startswith("Liver tests due") for c in rec.caveats) is due
    if due:
        assert any(f.label == "ALT" and f.day == 60 for f in rec.facts)


def test_liver_tests_due_without_any_alt() -> None:
    rec = card(liver_record(), 61)
    assert facts_of(rec)["Last ALT"] == "none recorded"


@pytest.mark.parametrize(("value", "review"), [(119.0, False), (120.0, True)])
def test_alt_at_three_times_uln_is_the_card_of_the_day(value: float, review: bool) -> None:
    """Label boxed warning: ALT >= 3x ULN -> hold/stop review (ULN 40 -> 120); it replaces the
    dose step, so 'increase' never shows beside it."""
    rec = card(liver_record(alt(74, value)), 76)
    assert (rec.rule_id == "tpo-ra.eltrombopag-alt-rise") is review
    if review:
        assert rec.strength == "alert"
        assert "persistent for >= 4 weeks" in rec.action
        assert "increasing" not in rec.action
    else:
        assert "from 75 to 100 mg/day" in rec.action


def test_alt_without_uln_cannot_be_judged() -> None:
    missing = unevaluated(liver_record(alt(70, 200, uln=None)), 72)
    assert missing["tpo-ra.eltrombopag-alt-rise"].missing == ["ALT upper limit of normal"]


# --- responding, taper, no response --------------------------------------------------------------


def response_record(pre_dose_platelets: float = 10.0, after: float = 25.0) -> PatientRecord:
    """Eltrombopag from day 40; last platelet transfusion day 40 (TI day 54); platelets `after`
    on days 45, 47, 49, 56: platelet response on day 54."""
    labs: Labs = [
        *[("platelets", float(d), pre_dose_platelets) for d in (36, 38, 40)],
        *[("platelets", float(d), after) for d in (45, 47, 49, 56)],
    ]
    return record(labs=labs, events=[eltrombopag(40), platelet_transfusion(40)])


@pytest.mark.parametrize(("day", "state"), [(53, "titrating"), (54, "responding")])
def test_responding_keeps_the_dose(day: int, state: str) -> None:
    """Platelet response (BK) and a partial response from day 54: continue the dose, no increase
    and no taper while platelets are < 50 (docs/decisions.md; SCAL L22)."""
    rec = card(response_record(), day)
    assert facts_of(rec)["TPO-RA course state"] == state
    if state == "responding":
        assert rec.rule_id == "tpo-ra.responding"
        assert rec.action.startswith("Consider continuing eltrombopag at 75 mg/day: responding")
        assert "taper" in rec.action
        assert "increas" not in rec.action
        assert facts_of(rec)["Platelet response (Beyar-Katz)"] == "met"


@pytest.mark.parametrize(("last_day", "taper"), [(69, False), (70, True)])
def test_taper_after_platelets_above_50_for_14_days(last_day: int, taper: bool) -> None:
    """docs/decisions.md: taper once platelets >= 50 on values spanning >= 14 days without
    platelet transfusion (from day 56 here: day 70)."""
    labs: Labs = [
        *[("platelets", float(d), 10.0) for d in (36, 38, 40)],
        *[("platelets", float(d), 30.0) for d in (45, 50)],
        ("platelets", 56.0, 55.0),
        ("platelets", 63.0, 60.0),
        ("platelets", float(last_day), 65.0),
    ]
    rec = record(labs=labs, events=[eltrombopag(40), platelet_transfusion(40)])
    got = card(rec, last_day)
    assert (got.rule_id == "tpo-ra.stop-on-response") is taper
    if taper:
        assert got.action.startswith("Consider tapering and then stopping eltrombopag")
        assert facts_of(got)["Platelets >= 50 x10^9/L since"] == "day 56"


def test_a_platelet_transfusion_in_the_span_delays_the_taper() -> None:
    labs: Labs = [
        *[("platelets", float(d), 10.0) for d in (36, 38, 40)],
        *[("platelets", float(d), 60.0) for d in (56, 63, 70)],
    ]
    rec = record(
        labs=labs, events=[eltrombopag(40), platelet_transfusion(40), platelet_transfusion(60)]
    )
    assert card(rec, 70).rule_id != "tpo-ra.stop-on-response"


def test_a_neutrophil_response_never_tapers_a_drug_given_for_platelets() -> None:
    """Issue 15 finding 4: ANC > 0.5 on 3 values without transfusions met the Beyar-Katz response
    and the old rule tapered eltrombopag with platelets still 15. The response is reported; the
    card is the platelets' state."""
    labs: Labs = [
        *[("anc", float(d), 0.2) for d in (36, 38, 40)],
        *[("platelets", float(d), 15.0) for d in range(36, 61, 2)],
        *[("anc", float(d), 1.0) for d in (45, 47, 49)],
    ]
    rec = record(labs=labs, events=[eltrombopag(40)])
    got = card(rec, 60)
    assert got.rule_id == "tpo-ra.eltrombopag-titration"
    assert "taper" not in got.action
    assert any(f.label.startswith("neutrophils response (reported") for f in got.facts)


@pytest.mark.parametrize(("day", "stop"), [(81, False), (82, True)])
def test_stop_without_response_after_6_weeks(day: int, stop: bool) -> None:
    """JAIN L57: stop if no response in 4-6 weeks (tpo_ra.no_response_weeks = 6: 42 days), with
    weekly platelet transfusions throughout (no partial response)."""
    rec = record(
        labs=daily("platelets", 36, 82, 10),
        events=[eltrombopag(40), *(platelet_transfusion(d) for d in range(33, 83, 7))],
    )
    got = card(rec, day)
    assert (got.rule_id == "tpo-ra.stop-without-response") is stop
    if stop:
        assert "neither a response nor a partial response of the platelets after 6 weeks" in (
            got.action
        )
        assert "stem cell boost" in got.action
        assert "allogeneic HCT" in got.action
        assert "increas" not in got.action


def test_no_stop_without_response_on_a_partial_response() -> None:
    """Transfusions fall to at most half (2 in days 27-40 -> 0 in the last 14 days) while
    platelets stay 15: a partial response, never 'stop: no response' (docs/decisions.md)."""
    rec = record(
        labs=daily("platelets", 36, 90, 15),
        events=[eltrombopag(40), platelet_transfusion(33), platelet_transfusion(40)],
    )
    assert card(rec, 90).rule_id == "tpo-ra.responding"


# --- dose checks on the card of the day ----------------------------------------------------------


@pytest.mark.parametrize(("dose", "alert"), [(10.0, False), (10.1, True)])
def test_romiplostim_above_label_maximum(dose: float, alert: bool) -> None:
    """Label maximum 10 ug/kg weekly (JAIN L57 10 ug/kg): the card of the day becomes an alert."""
    rec = card(romiplostim_record(dose, [("platelets", 70.0, 60)]), 70)
    assert (rec.strength == "alert") is alert
    assert any("above the label maximum of 10 ug/kg" in c for c in rec.caveats) is alert


def test_romiplostim_in_ug_with_weight_is_checked() -> None:
    weighed = romiplostim_record(660, [("platelets", 70.0, 60)], "ug", weight_kg=60)
    assert card(weighed, 70).strength == "alert"  # 11 ug/kg


@pytest.mark.parametrize(("dose", "alert"), [(150.0, False), (175.0, True)])
def test_eltrombopag_above_150(dose: float, alert: bool) -> None:
    """JAIN L57 / BK: maximum 150 mg/day."""
    rec = card(eltrombopag_record(eltrombopag(60, dose), labs=[("platelets", 64.0, 60)]), 64)
    assert (rec.strength == "alert") is alert


@pytest.mark.parametrize(("dose", "strength"), [(108.0, "consider"), (109.0, "alert")])
def test_eltrombopag_choline_salt(dose: float, strength: str) -> None:
    """Choline 36 mg ~ olamine 50 mg: any choline product shows the equivalence; above 108 mg/day
    (the choline equivalent of 150 mg olamine) the card is an alert."""
    event = eltrombopag(60, dose, product="eltrombopag choline")
    rec = card(eltrombopag_record(event, labs=[("platelets", 64.0, 60)]), 64)
    assert rec.strength == strength
    assert any("36 mg choline ~ 50 mg olamine" in c for c in rec.caveats)


def test_olamine_product_has_no_salt_caveat() -> None:
    rec = card(eltrombopag_record(eltrombopag(60, 75), labs=[("platelets", 64.0, 60)]), 64)
    assert not any("choline" in c for c in rec.caveats)
