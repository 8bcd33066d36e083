"""Early-phase rules: G-CSF and its deferral during CRS, anti-infective prophylaxis, transfusion
triggers and irradiated products, the day 21-28 screen and neutropenic fever
(icaht.core.rules.gcsf, .prophylaxis, .transfusion and .workup)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.utils.rule_helpers import ICAHT, SEED, daily, fired, record, unevaluated

from icaht.core.assessment import assess
from icaht.io.records import load_course
from icaht.knowledge.profile import Profile

GCSF = "growth-factor.consider-gcsf"
DEFER = "growth-factor.defer-gcsf-during-crs"
ABX = "prophylaxis.antibacterial-antifungal-start"
ABX_STOP = "prophylaxis.antibacterial-antifungal-stop"
ANTIVIRAL = "prophylaxis.antiviral-start"
ANTIVIRAL_STOP = "prophylaxis.antiviral-stop"
RBC = "transfusion.rbc-trigger"
PLT = "transfusion.platelet-trigger"
IRRADIATED = "transfusion.irradiated-products"
SCREEN = "workup.day21-28-cytopenia-screen"
FEVER = "workup.neutropenic-fever"


def med(drug: str, start: float, end: float | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "medication", "start": start, "drug": drug}
    if end is not None:
        event["end"] = end
    return event


def with_setting(profile: Profile, section: str, **values: Any) -> Profile:
    """A copy of a profile with some settings of one section changed."""
    changed = getattr(profile, section).model_copy(update=values)
    return profile.model_copy(update={section: changed})


HIGH_HT = [("platelets", -5.0, 74.0), ("anc", -5.0, 2.0), ("hb", -5.0, 12.0)]
HIGH_HT += [("crp", -5.0, 1.0), ("ferritin", -5.0, 100.0)]
LOW_HT = [("platelets", -5.0, 200.0), ("anc", -5.0, 2.0), ("hb", -5.0, 12.0)]
LOW_HT += [("crp", -5.0, 1.0), ("ferritin", -5.0, 100.0)]


# -- G-CSF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("anc", "fires"), [(0.5, True), (0.51, False)])
def test_gcsf_at_anc_0_5_or_below(anc: float, fires: bool) -> None:
    """JAIN L39 / Fig. 1: ANC not recovered to > 500/mm3 by day 7-10 -> consider G-CSF;
    ICAHT Table 3: 5 ug/kg once daily."""
    result = fired(record(labs=[("anc", 7.0, anc)]), 7)
    assert (GCSF in result) is fires
    if fires:
        assert "5 ug/kg" in result[GCSF].action
        assert result[GCSF].facts[0].value == "0.5 10^9/L"


@pytest.mark.parametrize(
    ("day", "fires"), [(6, False), (7, True), (29, True), (30, True), (120, True)]
)
def test_gcsf_from_day_7_in_any_phase(day: int, fires: bool) -> None:
    """gcsf.therapeutic_start_day = 7 (JAIN day 7-10). Revised: in any phase, not only the Jain
    early phase (docs/decisions.md, G-CSF; JAIN L53: prolonged severe neutropenia)."""
    assert (GCSF in fired(record(labs=[("anc", float(day), 0.2)]), day)) is fires


def test_gcsf_start_day_is_a_setting() -> None:
    """The start day is an institution setting (7-10 per docs/decisions.md)."""
    rec = record(labs=[("anc", 8.0, 0.2)])
    assert GCSF not in fired(rec, 8, with_setting(SEED, "gcsf", therapeutic_start_day=10))


def test_gcsf_not_while_gcsf_is_active() -> None:
    """No proposal while G-CSF is given."""
    rec = record(labs=[("anc", 8.0, 0.2)], events=[med("filgrastim", 7)])
    assert GCSF not in fired(rec, 8)


@pytest.mark.parametrize(
    ("events", "consider", "defer"),
    [
        ([{"kind": "crs", "start": 5, "grade": 2}], False, True),
        ([{"kind": "crs", "start": 5, "end": 8, "grade": 2}], False, True),  # ends on the day
        ([{"kind": "crs", "start": 5, "end": 7, "grade": 2}], True, False),  # ended the day before
        (
            [
                {"kind": "crs", "start": 5, "grade": 2},
                {"kind": "infection", "start": 7, "severity": "severe"},
            ],
            True,
            False,
        ),
        (
            [
                {"kind": "crs", "start": 5, "grade": 2},
                {"kind": "infection", "start": 7, "severity": "moderate"},
            ],
            False,
            True,
        ),
    ],
)
def test_gcsf_deferred_during_active_crs_unless_severe_infection(
    events: list[dict[str, Any]], consider: bool, defer: bool
) -> None:
    """JAIN L39: avoid G-CSF with ongoing CRS unless there is severe infection with neutropenia;
    the deferral is its own rule so a replay shows it."""
    result = fired(record(labs=[("anc", 8.0, 0.2)], events=events), 8)
    assert (GCSF in result) is consider
    assert (DEFER in result) is defer


def test_gcsf_not_deferred_when_the_profile_says_so() -> None:
    """gcsf.defer_during_active_crs = false: G-CSF is proposed with the CRS named as a caveat."""
    rec = record(labs=[("anc", 8.0, 0.2)], events=[{"kind": "crs", "start": 5, "grade": 2}])
    result = fired(rec, 8, with_setting(SEED, "gcsf", defer_during_active_crs=False))
    assert DEFER not in result
    assert "CRS (grade 2) active since day 5" in result[GCSF].caveats[0]


@pytest.mark.parametrize("labs", [[], [("anc", 4.0, 0.2)]])  # none; stale (day 4 as of day 8)
def test_gcsf_without_a_current_anc_cannot_be_evaluated(labs: list[Any]) -> None:
    """A missing or stale ANC (older than data_quality.stale_days_early = 3) is named."""
    rec = record(labs=labs)
    assert "current ANC (within 3 days)" in unevaluated(rec, 8)[GCSF].missing


def test_gcsf_caveat_for_children() -> None:
    """JAIN L73: prolonged growth-factor use is often deferred in children."""
    rec = record(patient={"age_years": 10}, labs=[("anc", 8.0, 0.2)])
    assert any("Child" in c for c in fired(rec, 8)[GCSF].caveats)


@pytest.mark.parametrize("day", range(7, 15))
def test_jain_case1_gcsf_within_the_first_two_weeks(day: int) -> None:
    """JAIN case 1 (L7): ANC nadir day 2, recovery > 500 on day 15, CRS day 2-3, ICANS grade 3
    day 5-10. Revised (docs/decisions.md, G-CSF: ICANS grade >= 2 defers too): the G-CSF card
    is the deferral on days 7-10 and the consideration on days 11-14."""
    course = load_course(Path("examples/jain-case1.json"))
    ids = {r.rule_id for r in assess(course, day, SEED).recommendations}
    assert (GCSF in ids) is (day > 10)
    assert (DEFER in ids) is (day <= 10)


def test_jain_case1_no_gcsf_once_anc_is_above_0_5() -> None:
    """JAIN case 1: ANC > 500/mm3 on day 15."""
    course = load_course(Path("examples/jain-case1.json"))
    assert GCSF not in {r.rule_id for r in assess(course, 15, SEED).recommendations}


# -- antibacterial / antifungal prophylaxis ------------------------------------------------------


@pytest.mark.parametrize(("anc", "fires"), [(0.5, True), (0.51, False)])
def test_prophylaxis_from_first_neutropenia(anc: float, fires: bool) -> None:
    """JAIN L37: bacterial and fungal prophylaxis at first neutropenia (seed-2023 setting
    prophylaxis.antibacterial_start = neutropenia)."""
    result = fired(record(labs=[("anc", 3.0, anc)]), 3)
    assert (ABX in result) is fires
    if fires:
        assert "antibacterial" in result[ABX].action
        assert "antifungal" in result[ABX].action
        # docs/decisions.md, "Absence is not a negative": the start card's caveat wording
        assert any("None recorded; if it is running" in c for c in result[ABX].caveats)


def test_prophylaxis_from_day_0_when_set() -> None:
    """JAIN L37: 'on day 0, or at the time of first neutropenia' (setting day0)."""
    profile = with_setting(SEED, "prophylaxis", antibacterial_start="day0")
    assert ABX in fired(record(), 0, profile)
    assert ABX not in fired(record(), -1, profile)
    assert ABX not in fired(record(labs=[("anc", 0.0, 3.0)]), 0)  # seed: waits for neutropenia


def test_prophylaxis_needs_an_anc_when_it_starts_at_neutropenia() -> None:
    """No ANC at all in the early phase: the start cannot be judged (named, not skipped)."""
    assert ABX in unevaluated(record(), 3)


@pytest.mark.parametrize(("recovered_values", "fires"), [(2, True), (3, False)])
def test_prophylaxis_until_anc_recovery(recovered_values: int, fires: bool) -> None:
    """Until ANC recovery = > 0.5 on 3 consecutive values (docs/decisions.md)."""
    labs = [("anc", 3.0, 0.3), *daily("anc", 4, 3 + recovered_values, 0.8)]
    assert (ABX in fired(record(labs=labs), 3 + recovered_values)) is fires


@pytest.mark.parametrize(
    ("drugs", "lacking"),
    [
        (["levofloxacin", "fluconazole"], None),
        (["levofloxacin"], "antifungal"),
        (["micafungin"], "antibacterial"),
    ],
)
def test_prophylaxis_names_the_missing_class(drugs: list[str], lacking: str | None) -> None:
    """JAIN L37/L61 (fluconazole or micafungin); ICAHT Table 3 (levofloxacin, ciprofloxacin)."""
    rec = record(labs=[("anc", 3.0, 0.2)], events=[med(d, 1) for d in drugs])
    result = fired(rec, 3)
    assert (ABX in result) is (lacking is not None)
    if lacking:
        assert result[ABX].action == (
            f"Consider starting {result[ABX].facts[-1].value} prophylaxis until ANC recovery."
        )
        assert lacking in result[ABX].action
        assert not result[ABX].caveats


@pytest.mark.parametrize(("labs", "fires"), [(HIGH_HT, True), (LOW_HT, False)])
def test_icaht_profile_prophylaxis_only_for_high_risk(
    labs: list[tuple[str, float, float]], fires: bool
) -> None:
    """ICAHT Table 3: antibacterial prophylaxis only at high risk once ANC < 500/uL (icaht-2023)."""
    rec = record(labs=[*labs, ("anc", 3.0, 0.2)])
    assert (ABX in fired(rec, 3, ICAHT)) is fires
    assert ABX in fired(rec, 3, SEED)


def test_icaht_profile_prophylaxis_unknown_risk_cannot_be_evaluated() -> None:
    """ICAHT profile: without CAR-HEMATOTOX the indication cannot be judged."""
    rec = record(labs=[("anc", 3.0, 0.2)])
    assert ABX in unevaluated(rec, 3, ICAHT)


@pytest.mark.parametrize(("values_above", "fires"), [(2, False), (3, True)])
def test_prophylaxis_stop_after_recovery(values_above: int, fires: bool) -> None:
    """JAIN L37: continue until ANC recovery (> 0.5 on 3 consecutive values)."""
    labs = [("anc", 3.0, 0.3), *daily("anc", 4, 3 + values_above, 0.8)]
    rec = record(labs=labs, events=[med("levofloxacin", 1)])
    result = fired(rec, 3 + values_above)
    assert (ABX_STOP in result) is fires
    if fires:
        assert result[ABX_STOP].facts[0].day == 6


def test_prophylaxis_stop_needs_an_active_agent() -> None:
    """Nothing to stop without an active agent."""
    labs = [("anc", 3.0, 0.3), *daily("anc", 4, 6, 0.8)]
    assert ABX_STOP not in fired(record(labs=labs, events=[med("levofloxacin", 1, 5)]), 6)


# -- antiviral prophylaxis -----------------------------------------------------------------------


def test_antiviral_from_infusion() -> None:
    """JAIN L37 / Fig. 1: antiviral prophylaxis early after infusion; ICAHT Table 3 doses."""
    result = fired(record(), 0)
    assert (
        "aciclovir 800 mg twice daily or valaciclovir 500 mg twice daily"
        in result[ANTIVIRAL].action
    )
    assert ANTIVIRAL not in fired(record(), -1)
    assert ANTIVIRAL not in fired(record(events=[med("valaciclovir", 0)]), 5)


@pytest.mark.parametrize(
    ("day", "cd4", "fires"),
    [
        (365, 0.5, True),  # 12 months = 365.25 days: not yet passed
        (366, 0.5, False),  # months passed and CD4 > 0.2
        (366, 0.2, True),  # CD4 must exceed 0.2 (JAIN Fig. 1: > 200/mm3)
        (366, 0.21, False),
    ],
)
def test_antiviral_until_months_and_cd4(day: int, cd4: float, fires: bool) -> None:
    """prophylaxis.antiviral_months (12) and cd4_stop_10e9_l (0.2): both must be met to stop."""
    rec = record(labs=[("cd4", 300.0, cd4)])
    assert (ANTIVIRAL in fired(rec, day)) is fires


def test_antiviral_caveat_without_cd4() -> None:
    """After the months, no CD4 on file: prophylaxis continues (CD4-driven stop, JAIN L37)."""
    assert any("no CD4" in c for c in fired(record(), 400)[ANTIVIRAL].caveats)


@pytest.mark.parametrize(
    ("day", "cd4", "fires"),
    [(366, 0.21, True), (366, 0.2, False), (365, 0.21, False)],
)
def test_antiviral_stop(day: int, cd4: float, fires: bool) -> None:
    """JAIN Fig. 1 / ICAHT Table 3: stop after 12 months and CD4 > 0.2 x10^9/L."""
    rec = record(labs=[("cd4", 300.0, cd4)], events=[med("aciclovir", 0)])
    assert (ANTIVIRAL_STOP in fired(rec, day)) is fires


def test_antiviral_stop_without_cd4_cannot_be_evaluated() -> None:
    """Months passed, antiviral active, no CD4 count: named as missing."""
    rec = record(events=[med("aciclovir", 0)])
    assert unevaluated(rec, 400)[ANTIVIRAL_STOP].missing == ["CD4 count"]
    assert ANTIVIRAL_STOP not in unevaluated(rec, 300)


# -- transfusion ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule_id", "analyte", "value", "fires"),
    [
        (RBC, "hb", 6.9, True),
        (RBC, "hb", 7.0, False),
        (PLT, "platelets", 9.9, True),
        (PLT, "platelets", 10.0, False),
    ],
)
def test_transfusion_triggers(rule_id: str, analyte: str, value: float, fires: bool) -> None:
    """JAIN L35 and case 1 (L7: Hb > 7 g/dL, platelets > 10 x10^3/uL); ICAHT Table 3."""
    result = fired(record(labs=[(analyte, 10.0, value)]), 10)
    assert (rule_id in result) is fires


@pytest.mark.parametrize(
    ("rule_id", "analyte", "product", "low", "given", "fires"),
    [
        (PLT, "platelets", "platelets", 9.0, 91.0, False),
        (PLT, "platelets", "platelets", 9.0, 91.5, False),
        (PLT, "platelets", "rbc", 9.0, 91.0, True),
        (PLT, "platelets", "platelets", 9.0, 90.0, True),
        (RBC, "hb", "rbc", 6.5, 91.0, False),
        (RBC, "hb", "platelets", 6.5, 91.0, True),
    ],
)
def test_transfusion_trigger_answered_by_a_transfusion_after_the_value(
    rule_id: str, analyte: str, product: str, low: float, given: float, fires: bool
) -> None:
    """JAIN L7 (case 1: transfusions every 3 to 4 days to keep platelets > 10 and Hb > 7) and
    L71 (case 3: platelets every 2 weeks): the low count that triggered a transfusion is the
    latest value until the next draw. A transfusion of that product at or after the low value
    answers the trigger; the card must not ask for it again for the days until the next count
    (Jain case 3 showed it on days 91-97 after the day-91 transfusion)."""
    rec = record(
        labs=[(analyte, 91.0, low)],
        events=[{"kind": "transfusion", "start": given, "product": product}],
    )
    assert (rule_id in fired(rec, 94)) is fires


def test_rbc_one_unit_at_a_time() -> None:
    """ICAHT Table 3: for pRBC consider one unit at a time."""
    assert "one unit at a time" in fired(record(labs=[("hb", 10.0, 6.0)]), 10)[RBC].action


@pytest.mark.parametrize(("day", "expected"), [(10, True), (40, False)])
def test_transfusion_trigger_without_current_value(day: int, expected: bool) -> None:
    """A stale Hb cannot be judged in the early phase; later phases leave it to data quality."""
    rec = record(labs=[("hb", 1.0, 9.0)])
    assert (RBC in unevaluated(rec, day)) is expected


@pytest.mark.parametrize(("day", "fires"), [(-1, False), (0, True), (90, True), (91, False)])
def test_irradiated_products_window(day: int, fires: bool) -> None:
    """ICAHT Table 3: irradiated products until >= 90 days after infusion."""
    rec = record(events=[{"kind": "transfusion", "start": -3, "product": "rbc"}])
    assert (IRRADIATED in fired(rec, day)) is fires


@pytest.mark.parametrize(("irradiated", "strength"), [(False, "alert"), (True, "consider")])
def test_irradiated_products_alert_when_not_irradiated(irradiated: bool, strength: str) -> None:
    """ICAHT Table 3: a non-irradiated product in the window is an alert."""
    rec = record(
        events=[
            {"kind": "transfusion", "start": 12, "product": "platelets", "irradiated": irradiated}
        ]
    )
    assert fired(rec, 12)[IRRADIATED].strength == strength


@pytest.mark.parametrize(("hb", "fires"), [(6.9, True), (7.0, False)])
def test_irradiated_products_when_a_trigger_is_met(hb: float, fires: bool) -> None:
    """No transfusion recorded yet, but a trigger is met: irradiated products apply."""
    assert (IRRADIATED in fired(record(labs=[("hb", 5.0, hb)]), 5)) is fires


# -- day 21-28 screen ----------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "fires"), [(20, False), (21, True), (28, True), (29, False)])
def test_day21_28_screen(day: int, fires: bool) -> None:
    """BK (abstract, methods): all patients screened for cytopenia on days 21-28."""
    labs = [("anc", float(day), 0.4), ("platelets", float(day), 30.0), ("hb", float(day), 8.0)]
    result = fired(record(labs=labs), day)
    assert (SCREEN in result) is fires
    if fires:
        labels = {f.label for f in result[SCREEN].facts}
        assert {"Latest ANC", "Latest Platelets", "Latest Hemoglobin"} <= labels
        assert any(label.startswith("platelet transfusion") for label in labels)


def test_day21_28_screen_without_counts_cannot_be_evaluated() -> None:
    """No blood count since day 21: named as missing (values before day 21 do not count)."""
    rec = record(labs=[("anc", 20.0, 0.4)])
    assert SCREEN in unevaluated(rec, 22)
    assert SCREEN not in unevaluated(rec, 29)


def test_day21_28_screen_names_a_missing_lineage() -> None:
    """A partial count is shown and the missing lineages named as caveats."""
    result = fired(record(labs=[("anc", 21.0, 0.4)]), 22)
    assert "No Platelets since day 21." in result[SCREEN].caveats


# -- neutropenic fever ---------------------------------------------------------------------------


@pytest.mark.parametrize(("anc", "fires"), [(0.5, True), (0.51, False)])
def test_neutropenic_fever(anc: float, fires: bool) -> None:
    """JAIN L37/L61 (infection evaluation), ICAHT Table 3: fever with ANC <= 0.5."""
    rec = record(
        labs=[("anc", 10.0, anc)],
        events=[{"kind": "fever", "start": 10.5, "temperature_c": 38.6}],
    )
    result = fired(rec, 10)
    assert (FEVER in result) is fires
    if fires:
        assert result[FEVER].strength == "alert"
        assert result[FEVER].facts[0].value == "38.6 °C"


@pytest.mark.parametrize(("as_of", "fires"), [(9, True), (10, False)])
def test_neutropenic_fever_lookback(as_of: int, fires: bool) -> None:
    """workup.fever_lookback_days = 2: a fever on day 8 counts on day 9, not on day 10."""
    rec = record(
        labs=[("anc", 8.0, 0.2), *daily("anc", 9, 10, 0.3)],
        events=[{"kind": "fever", "start": 8}],
    )
    assert (FEVER in fired(rec, as_of)) is fires


def test_neutropenic_fever_current_anc() -> None:
    """No ANC on the fever day, but the latest current ANC is <= 0.5."""
    rec = record(labs=[("anc", 9.0, 0.3)], events=[{"kind": "fever", "start": 10}])
    assert FEVER in fired(rec, 10)


def test_neutropenic_fever_without_anc_cannot_be_evaluated() -> None:
    """A fever without any ANC to judge neutropenia: named as missing."""
    rec = record(events=[{"kind": "fever", "start": 10}])
    assert FEVER in unevaluated(rec, 10)


def test_neutropenic_fever_during_crs_caveat() -> None:
    """LEE: CRS fever is fever not attributable to another cause: infection still to exclude."""
    rec = record(
        labs=[("anc", 3.0, 0.1)],
        events=[{"kind": "crs", "start": 2, "grade": 1}, {"kind": "fever", "start": 3}],
    )
    assert "CRS is active" in fired(rec, 3)[FEVER].caveats[0]


# -- GM-CSF --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "fires"), [(4, False), (5, True), (6, True), (7, False)])
def test_avoid_gm_csf_while_it_runs(day: int, fires: bool) -> None:
    """JAIN L39: avoid GM-CSF after CAR-T; the alert lasts while GM-CSF runs (days 5-6)."""
    rec = record(events=[med("sargramostim", 5, 6)])
    result = fired(rec, day)
    assert ("growth-factor.avoid-gm-csf" in result) is fires
    if fires:
        assert result["growth-factor.avoid-gm-csf"].strength == "alert"


@pytest.mark.parametrize(("day", "fires"), [(29, True), (30, False)])
def test_prophylaxis_start_only_in_the_early_phase(day: int, fires: bool) -> None:
    """Jain early phase (< day 30); prolonged/late severe neutropenia is the extended-prophylaxis
    rule (JAIN L61)."""
    rec = record(labs=daily("anc", 20, day, 0.3))
    assert (ABX in fired(rec, day)) is fires
