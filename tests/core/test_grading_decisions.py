"""The revised grading defaults of docs/decisions.md ("Grading"), issue 15 finding 9.

Each test names the decisions-page paragraph (or the CTCAE table / LIANG-ICAHT text) it checks,
through the whole assessment (record -> course -> assess) where the default lives in the profile.
"""

from __future__ import annotations

import numpy as np
from tests.utils.rule_helpers import assessment_of, daily, record

from icaht.core.assessment import Assessment
from icaht.core.lineage import LineageStatus
from icaht.core.neutrophil_icaht import grade_early_icaht
from icaht.core.patient_record import PatientRecord
from icaht.knowledge.profile import load_profile
from icaht.knowledge.profile.grading import IcahtSettings

SEED = load_profile("seed-2023")


# --------------------------------------------------------------------------------------------
# Ties at a window's end go to the event
# --------------------------------------------------------------------------------------------


def test_death_on_the_as_of_day_closes_the_early_window_grade_4() -> None:
    """docs/decisions.md, Grading ("Ties at a window's end go to the event"): ANC <= 0.5
    from day 0 and death on day 20 -> early ICAHT grade 4 as of day 20, censored by death (was
    grade 3 provisional as of day 20 and grade 4 only as of day 21)."""
    rec = record(labs=daily("anc", 0, 20, 0.3), events=[{"kind": "death", "start": 20}])
    early = assessment_of(rec, 20).early_icaht
    assert (early.grade, early.provisional, early.censored_by) == (4, False, "death")
    assert assessment_of(rec, 21).early_icaht.grade == 4  # the day after: unchanged


def test_liang_patient_8_no_recovery_to_last_follow_up_is_grade_4() -> None:
    """LIANG-ICAHT (index.Rmd, "Additionally defining grade 4 early ICAHT"): patient #8 "never
    experienced count recovery before death/last follow-up on day +16" and is grade 4 by the
    no-recovery rule (neutropenia from day 0-3 through the last lab). Built from that text: ANC
    <= 0.5 from day 0 to the last follow-up on day 16. As of day 16 it is grade 4, not grade 3
    provisional (docs/decisions.md, Grading: ties at a window's end go to the event)."""
    rec = record(labs=daily("anc", 0, 16, 0.2), events=[{"kind": "last_follow_up", "start": 16}])
    a = assessment_of(rec, 16)
    assert (a.follow_up_end_day, a.follow_up_end_reason) == (16, "last follow-up")
    assert (a.early_icaht.grade, a.early_icaht.provisional) == (4, False)
    assert a.early_icaht.censored_by == "last follow-up"


# --------------------------------------------------------------------------------------------
# Late windows end quietly no more
# --------------------------------------------------------------------------------------------


def _late_course_then_cytopenia() -> list[tuple[str, float, float]]:
    """Normal counts weekly in the late window (day 35-98), then ANC 0.2 and platelets 10 on
    days 110-150 (after the window closed on day 100)."""
    labs: list[tuple[str, float, float]] = []
    for day in range(35, 99, 7):
        labs += [("anc", float(day), 2.0), ("platelets", float(day), 150.0)]
    for day in range(110, 151, 5):
        labs += [("anc", float(day), 0.2), ("platelets", float(day), 10.0)]
    return labs


def test_late_icaht_after_the_window_closed_says_so() -> None:
    """docs/decisions.md, Grading ("Late windows end quietly no more"): as of day 150 the
    late ICAHT grade of the window (day 31-100: grade 0) is shown with the caveat "late window
    closed on day 100; cytopenia after it is not graded by ICAHT", and today's CTCAE picture
    (ANC 0.2 -> grade 4). The old code showed grade 0 with no caveat."""
    a = assessment_of(record(labs=_late_course_then_cytopenia()), 150)
    late = a.late_icaht
    assert (late.grade, late.window_end_day) == (0, 100)
    assert any(
        c.startswith("late window closed on day 100; cytopenia after it is not graded by ICAHT")
        for c in late.caveats
    )
    neutrophils = next(s for s in a.lineages if s.lineage == "neutrophils")
    assert neutrophils.latest_ctcae == 4


def test_late_ticaht_after_the_window_closed_says_so() -> None:
    """docs/decisions.md, Grading ("Late windows end quietly no more"), for T-ICAHT."""
    late = assessment_of(record(labs=_late_course_then_cytopenia()), 150).late_ticaht
    assert (late.grade, late.window_end_day) == (0, 100)
    assert any(
        c.startswith("late window closed on day 100; cytopenia after it is not graded by T-ICAHT")
        for c in late.caveats
    )


def test_no_closed_window_caveat_on_the_last_day_of_the_window() -> None:
    """The window closes on day 100: as of day 100 it is complete, not yet closed."""
    late = assessment_of(record(labs=_late_course_then_cytopenia()), 100).late_icaht
    assert not any("late window closed" in c for c in late.caveats)


# --------------------------------------------------------------------------------------------
# Late T-ICAHT uses the same late_rule as late ICAHT
# --------------------------------------------------------------------------------------------


def _late_platelets(values: list[float]) -> list[tuple[str, float, float]]:
    return [("platelets", float(day), v) for day, v in zip((40, 60, 80), values, strict=True)]


def test_late_ticaht_default_is_lowest_confirmed() -> None:
    """docs/decisions.md, Grading ("Late T-ICAHT uses the same late_rule as late ICAHT",
    default lowest_confirmed): platelets 40, 90, 130 -> the band of the lowest value (40: < 50,
    grade 2), confirmed by 90 < 100. The old code took the second-lowest (90: grade 1)."""
    late = assessment_of(record(labs=_late_platelets([40.0, 90.0, 130.0])), 100).late_ticaht
    assert late.grade == 2


def test_late_ticaht_follows_the_icaht_late_rule_setting() -> None:
    """One setting for both lineages (docs/decisions.md, Grading): with
    ``icaht.late_rule = second_lowest`` late T-ICAHT grades the second-lowest value."""
    profile = SEED.model_copy(
        update={"icaht": SEED.icaht.model_copy(update={"late_rule": "second_lowest"})}
    )
    rec = record(labs=_late_platelets([40.0, 90.0, 130.0]))
    assert assessment_of(rec, 100, profile).late_ticaht.grade == 1


def test_late_ticaht_unconfirmed_lowest_is_transient() -> None:
    """lowest_confirmed: a lowest value with no other value below 100 is transient (grade 0)."""
    late = assessment_of(record(labs=_late_platelets([10.0, 150.0, 130.0])), 100).late_ticaht
    assert late.grade == 0
    assert any("transient" in c for c in late.caveats)


# --------------------------------------------------------------------------------------------
# Edge carry as the published method (Early ICAHT)
# --------------------------------------------------------------------------------------------


def test_first_value_carried_back_to_day_0() -> None:
    """docs/decisions.md, Grading (Early ICAHT): "a first value at most 7 days after day 0
    is carried back to day 0" (LIANG-ICAHT: zoo::na.approx rule 2, maxgap 7). ANC 0.3 on days
    4-14, then 2.0: ANC <= 0.5 on days 0-14 = 15 days, grade 3 (the old code counted 11 days from
    the first value, grade 2). Carried days are flagged."""
    labs = daily("anc", 4, 14, 0.3) + daily("anc", 15, 30, 2.0)
    early = assessment_of(record(labs=labs), 40).early_icaht
    assert (early.duration_days["<=0.5"], early.grade) == (15, 3)
    assert early.carried_days == [0, 1, 2, 3]
    assert any("carried back to day 0-3" in c for c in early.caveats)


def test_last_value_carried_forward_to_the_window_end() -> None:
    """docs/decisions.md, Grading (Early ICAHT): the last value is carried forward to the
    window's end (day 30) when that gap is at most 7 days. ANC 2.0 on days 0-19, 0.3 on days
    20-24, no value after day 24 (as of day 60): ANC <= 0.5 on days 20-30 = 11 days, grade 2
    (the old code counted 5 days, grade 1)."""
    labs = daily("anc", 0, 19, 2.0) + daily("anc", 20, 24, 0.3)
    early = assessment_of(record(labs=labs), 60).early_icaht
    assert (early.duration_days["<=0.5"], early.grade) == (11, 2)
    assert early.carried_days == [25, 26, 27, 28, 29, 30]


def test_edge_carry_setting_0_carries_nothing() -> None:
    """Setting ``icaht.carry_edges_days = 0``: no edge carry (docs/decisions.md)."""
    days = np.arange(4, 31, dtype=np.float64)
    values = np.where(days <= 14, 0.3, 2.0)
    early = grade_early_icaht(
        days,
        values,
        end_day=40.0,
        end_reason="as-of",
        settings=IcahtSettings(carry_edges_days=0),
    )
    assert (early.duration_days["<=0.5"], early.grade, early.carried_days) == (11, 2, [])


def test_ticaht_has_no_edge_carry() -> None:
    """The decisions page asks edge carry of early ICAHT only (T-ICAHT: the published table,
    cumulative days, censoring): platelets < 50 from day 4 count from day 4."""
    labs = daily("platelets", 4, 8, 30.0) + daily("platelets", 9, 30, 150.0)
    early = assessment_of(record(labs=labs), 40).early_ticaht
    assert (early.duration_days["<50"], early.grade) == (5, 1)


# --------------------------------------------------------------------------------------------
# CTCAE in the reported unit; anemia grade 3 "transfusion indicated"
# --------------------------------------------------------------------------------------------


def _hemoglobin(status_of: Assessment) -> LineageStatus:
    return next(s for s in status_of.lineages if s.lineage == "hemoglobin")


def test_hb_in_mmol_per_l_graded_on_the_mmol_bands() -> None:
    """docs/decisions.md, Grading ("CTCAE in the reported unit"); CTCAE v5 anemia
    "<6.2-4.9 mmol/L" = grade 2 (docs/evidence.md 2). Hb 4.9 mmol/L is grade 2 through the
    whole path (record -> course -> assessment), for the latest value and the phase's worst; the
    old code converted first (7.9 g/dL) and said grade 3."""
    rec = PatientRecord.model_validate(
        {
            "patient": {"patient_id": "t"},
            "observations": [
                {"time": 10, "analyte": "hb", "value": 4.9, "unit": "mmol/L", "lln": 7.4},
            ],
        }
    )
    hb = _hemoglobin(assessment_of(rec, 12))
    assert hb.latest_ctcae == 2
    assert hb.worst_ctcae_by_phase["early"] == 2
    assert hb.latest_ctcae_note is not None
    assert "4.9 mmol/L on CTCAE's mmol/L bands" in hb.latest_ctcae_note


def test_rbc_transfusion_within_2_days_makes_anemia_grade_3() -> None:
    """CTCAE v5 anemia grade 3 "transfusion indicated"; docs/decisions.md, Grading: an RBC
    transfusion within 2 days lifts a lab grade 2 to 3, named as such. Hb 9.0 g/dL on day 10 and
    an RBC transfusion on day 11 -> grade 3; a transfusion 3 days away does not lift it."""
    labs = [("hb", 10.0, 9.0)]
    lifted = record(labs=labs, events=[{"kind": "transfusion", "start": 11, "product": "rbc"}])
    hb = _hemoglobin(assessment_of(lifted, 12))
    assert (hb.latest_ctcae, hb.worst_ctcae_by_phase["early"]) == (3, 3)
    assert hb.latest_ctcae_note is not None
    assert "transfusion indicated (RBC transfusion on day 11" in hb.latest_ctcae_note
    far = record(labs=labs, events=[{"kind": "transfusion", "start": 13, "product": "rbc"}])
    assert _hemoglobin(assessment_of(far, 14)).latest_ctcae == 2
    platelets = record(
        labs=labs, events=[{"kind": "transfusion", "start": 11, "product": "platelets"}]
    )
    assert _hemoglobin(assessment_of(platelets, 12)).latest_ctcae == 2
