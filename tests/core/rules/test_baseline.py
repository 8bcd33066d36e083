"""Baseline rules: CAR-HEMATOTOX risk, prophylactic G-CSF (icaht-2023), myelosuppressive drugs and
their label count limits, risk factors for prolonged cytopenia
(icaht.core.rules.risk, .gcsf and .medication)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.utils.rule_helpers import ICAHT, SEED, daily, fired, record, unevaluated

HT = "risk.car-hematotox"
PROPHYLACTIC = "growth-factor.prophylactic-gcsf"
REVIEW = "medication.myelosuppressive-review"
LIMIT = "medication.label-count-limit"
RISK = "risk.cytopenia-risk-factors"


def pre_ld(
    platelets: float | None = 200.0,
    anc: float | None = 2.0,
    hb: float | None = 12.0,
    crp: float | None = 1.0,
    ferritin: float | None = 100.0,
) -> list[tuple[str, float, float]]:
    """Pre-lymphodepletion values on day -5 (None = not measured); defaults score 0."""
    values = {"platelets": platelets, "anc": anc, "hb": hb, "crp": crp, "ferritin": ferritin}
    return [(name, -5.0, v) for name, v in values.items() if v is not None]


def med(drug: str, start: float, end: float | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "medication", "start": start, "drug": drug}
    if end is not None:
        event["end"] = end
    return event


def facts_of(rec: Any, day: int, rule_id: str, profile: Any = SEED) -> dict[str, str]:
    return {f.label: f.value for f in fired(rec, day, profile)[rule_id].facts}


# -- CAR-HEMATOTOX -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anc", "category"),
    [(1.19, "high"), (1.2, "low")],  # ANC < 1.2 -> 1 point; 1.2 -> 0 (docs/decisions.md)
)
def test_hematotox_high_at_two_points_low_below(anc: float, category: str) -> None:
    """HT: low 0-1, high >= 2; platelets 100 (1 point) plus ANC < 1.2 (1 point) is high."""
    rec = record(labs=pre_ld(platelets=100.0, anc=anc))
    facts = facts_of(rec, -1, HT)
    assert facts["CAR-HEMATOTOX"].endswith(f"({category} risk)")
    assert facts["Pre-lymphodepletion Platelets (1 point)"] == "100 10^9/L"
    action = fired(rec, -1)[HT].action
    assert ("closer" in action) == (category == "high")
    assert action.startswith("Consider")


@pytest.mark.parametrize(("day", "shown"), [(-1, True), (0, True), (29, True), (30, False)])
def test_hematotox_shown_from_pre_infusion_through_the_early_phase(day: int, shown: bool) -> None:
    """JAIN phases (L1): the score matters before infusion and in the early phase (< day 30)."""
    assert (HT in fired(record(labs=pre_ld()), day)) is shown


def test_hematotox_missing_inputs_cannot_be_evaluated() -> None:
    """HT: a missing input is never imputed; the missing pre-LD inputs are named."""
    rec = record(labs=pre_ld(platelets=100.0, crp=None, ferritin=None))
    missing = unevaluated(rec, 0)[HT].missing
    assert any("CRP" in m for m in missing)
    assert any("Ferritin" in m for m in missing)
    assert HT not in fired(rec, 0)


def test_hematotox_known_inputs_already_high() -> None:
    """HT: platelets < 75 (2 points) makes the category high whatever the missing ferritin."""
    rec = record(labs=pre_ld(platelets=74.0, ferritin=None))
    recommendation = fired(rec, 0)[HT]
    assert recommendation.facts[0].value.startswith("at least 2")
    assert recommendation.caveats


# -- prophylactic G-CSF (icaht-2023) -------------------------------------------------------------

HIGH = pre_ld(platelets=74.0)  # 2 points: high


@pytest.mark.parametrize(("profile", "fires"), [(ICAHT, True), (SEED, False)])
def test_prophylactic_gcsf_only_with_the_icaht_profile(profile: Any, fires: bool) -> None:
    """ICAHT Table 3: prophylactic G-CSF from day +2 for CAR-HEMATOTOX-high; not the seed approach
    (JAIN L39)."""
    rec = record(labs=HIGH)
    result = fired(rec, 2, profile)
    assert (PROPHYLACTIC in result) is fires
    if fires:
        assert "5 ug/kg once daily" in result[PROPHYLACTIC].action


@pytest.mark.parametrize(("day", "fires"), [(1, False), (2, True), (30, True), (31, False)])
def test_prophylactic_gcsf_from_day_2_in_the_early_icaht_window(day: int, fires: bool) -> None:
    """ICAHT Table 3 (from day +2); ICAHT early window = day 0-30."""
    rec = record(labs=HIGH)
    assert (PROPHYLACTIC in fired(rec, day, ICAHT)) is fires


def test_prophylactic_gcsf_not_for_low_risk() -> None:
    """ICAHT Table 3: probably not needed at low risk (CAR-HEMATOTOX 0-1)."""
    assert PROPHYLACTIC not in fired(record(labs=pre_ld(platelets=100.0)), 2, ICAHT)


def test_prophylactic_gcsf_not_when_gcsf_is_active() -> None:
    """No G-CSF proposal while G-CSF is running."""
    rec = record(labs=HIGH, events=[med("filgrastim", 2)])
    assert PROPHYLACTIC not in fired(rec, 3, ICAHT)


def test_prophylactic_gcsf_not_after_anc_recovery() -> None:
    """Recovery (> 0.5 on 3 consecutive values, docs/decisions.md) after the nadir ends it."""
    labs = HIGH + daily("anc", 2, 4, 0.3) + daily("anc", 5, 7, 0.6)
    assert PROPHYLACTIC in fired(record(labs=HIGH + daily("anc", 2, 6, 0.3)), 6, ICAHT)
    assert PROPHYLACTIC not in fired(record(labs=labs), 7, ICAHT)


def test_prophylactic_gcsf_unknown_risk_cannot_be_evaluated() -> None:
    """HT: without the pre-LD inputs the risk group is unknown: named, not skipped."""
    rec = record(labs=pre_ld(platelets=100.0, ferritin=None))
    assert PROPHYLACTIC in unevaluated(rec, 2, ICAHT)
    assert PROPHYLACTIC not in unevaluated(rec, 2, SEED)


def test_prophylactic_gcsf_caveat_during_crs() -> None:
    """JAIN L39 avoids G-CSF during ongoing CRS; ICAHT reports no CRS signal: a caveat naming the
    episode (wording revised with docs/decisions.md, G-CSF: the caveat names the CRS)."""
    rec = record(labs=HIGH, events=[{"kind": "crs", "start": 1, "grade": 2}])
    assert "CRS (grade 2) active since day 1" in fired(rec, 2, ICAHT)[PROPHYLACTIC].caveats[0]


# -- myelosuppressive medication review ----------------------------------------------------------


@pytest.mark.parametrize(
    ("drug", "advice"),
    [
        ("sulfamethoxazole-trimethoprim", "pentamidine or atovaquone"),
        ("valganciclovir", "label advises against use"),
        ("linezolid", "weekly blood counts"),
        ("mycophenolate mofetil", "interrupting or reducing"),
        ("lenalidomide", "BAUR"),
    ],
)
def test_review_names_drug_specific_advice(drug: str, advice: str) -> None:
    """JAIN L35 (review before LD), L37 (TMP-SMX), L75 (ganciclovir); labels; Gerson 2002; BAUR."""
    rec = record(events=[med(drug, -10)])
    recommendation = fired(rec, -6)[REVIEW]
    assert recommendation.action.startswith("Review")
    assert advice in recommendation.action
    assert recommendation.facts[0].value == drug
    assert recommendation.facts[0].day == -10


@pytest.mark.parametrize(("end", "fires"), [(4.0, False), (5.0, True), (None, True)])
def test_review_only_while_the_drug_is_active(end: float | None, fires: bool) -> None:
    """A drug that ended before the as-of day is not reviewed (JAIN L35: active medication)."""
    rec = record(events=[med("linezolid", 1, end)])
    assert (REVIEW in fired(rec, 5)) is fires


@pytest.mark.parametrize(
    ("analyte", "value", "crosses"),
    [
        ("anc", 0.49, True),
        ("anc", 0.5, False),
        ("platelets", 24.9, True),
        ("platelets", 25.0, False),
        ("hb", 7.9, True),
        ("hb", 8.0, False),
    ],
)
def test_ganciclovir_label_limits(analyte: str, value: float, crosses: bool) -> None:
    """LABEL-GANCICLOVIR (docs/evidence.md 7): do not give if ANC < 0.5, PLT < 25, Hb < 8."""
    normal = {"anc": 2.0, "platelets": 150.0, "hb": 12.0}
    normal[analyte] = value
    rec = record(labs=[(a, 10.0, v) for a, v in normal.items()], events=[med("ganciclovir", 8)])
    result = fired(rec, 10)
    assert (LIMIT in result) is crosses
    if crosses:
        assert result[LIMIT].strength == "alert"
        assert any(f.day == 10 and f"{value:g}" in f.value for f in result[LIMIT].facts)


@pytest.mark.parametrize(("anc", "crosses"), [(1.29, True), (1.3, False)])
def test_mycophenolate_anc_limit(anc: float, crosses: bool) -> None:
    """LABEL-MYCOPHENOLATE: ANC < 1.3 x10^3/uL -> interrupt or reduce the dose."""
    rec = record(labs=[("anc", 10.0, anc)], events=[med("mycophenolate mofetil", 8)])
    assert (LIMIT in fired(rec, 10)) is crosses


def test_label_limit_without_current_counts_cannot_be_evaluated() -> None:
    """A stale count (day 3 as of day 10; early phase 3 days) cannot show the limit is kept."""
    rec = record(labs=[("anc", 3.0, 2.0)], events=[med("mycophenolate mofetil", 1)])
    assert LIMIT in unevaluated(rec, 10)
    assert LIMIT not in fired(rec, 10)


# -- risk factors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labs", "present"),
    [
        (pre_ld(anc=1.19), True),
        (pre_ld(anc=1.2), False),
        (pre_ld(platelets=74.9), True),
        (pre_ld(platelets=75.0), False),
        (pre_ld(hb=8.9), True),
        (pre_ld(hb=9.0), False),
    ],
)
def test_pre_ld_cytopenia_in_the_hematotox_bands(
    labs: list[tuple[str, float, float]], present: bool
) -> None:
    """JAIN L45 (preceding cytopenia); bands of HT: ANC < 1.2, platelets < 75, Hb < 9.0."""
    assert (RISK in fired(record(labs=labs), 0)) is present


@pytest.mark.parametrize(
    ("patient", "events", "present"),
    [
        ({"prior_allo_hct": True}, [], True),
        ({"prior_allo_hct": False}, [], False),
        ({}, [{"kind": "hct", "start": -200, "hct_type": "allogeneic"}], True),
        ({}, [{"kind": "hct", "start": -200, "hct_type": "autologous"}], False),
        ({"marrow_disease_pct": 50}, [], True),
        ({"marrow_disease_pct": 49.9}, [], False),
        # CD28 is a note, not a risk factor (issue 15 finding 13: JAIN L45 says only that the
        # costimulatory domain "may impact" recovery; test_prophylaxis.py has its note)
        ({"costimulatory_domain": "CD28"}, [], False),
        ({"costimulatory_domain": "4-1BB"}, [], False),
        ({}, [{"kind": "crs", "start": 1, "end": 4, "grade": 3}], True),
        ({}, [{"kind": "crs", "start": 1, "end": 4, "grade": 2}], False),
        ({}, [{"kind": "icans", "start": 5, "grade": 3}], True),
        ({}, [{"kind": "icans", "start": 5, "grade": 2}], False),
    ],
)
def test_risk_factors(patient: dict[str, Any], events: list[dict[str, Any]], present: bool) -> None:
    """JAIN L43 (grade 3-4 CRS/ICANS), L45 (prior allo-BMT, marrow disease; the costimulatory
    domain only "may impact" recovery), L75, L81; high marrow burden =
    patient_groups.high_marrow_burden_pct (default 50%)."""
    rec = record(patient=patient, labs=pre_ld(), events=events)
    assert (RISK in fired(rec, 10)) is present


def test_severe_crs_counts_only_once_known() -> None:
    """Grade >= 3 CRS is a risk factor as known on the day (no look-ahead)."""
    rec = record(labs=pre_ld(), events=[{"kind": "crs", "start": 6, "grade": 3}])
    assert RISK not in fired(rec, 5)
    assert fired(rec, 6)[RISK].facts[0].day == 6


@pytest.mark.parametrize(("day", "shown"), [(90, True), (91, False)])
def test_risk_factors_not_in_the_late_phase(day: int, shown: bool) -> None:
    """Risk factors for prolonged cytopenia (JAIN L45): shown until day 90 (Jain late > 90)."""
    rec = record(patient={"prior_allo_hct": True})  # was CD28, now a note only (finding 13)
    assert (RISK in fired(rec, day)) is shown
