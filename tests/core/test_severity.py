"""The severity terms the management rules share (icaht.core.severity; docs/decisions.md,
"Severity terms", revised 2026-12): persistent severe neutropenia, G-CSF-refractory, G-CSF-
dependent and the severe lineages with the day each began."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.utils.rule_helpers import SEED, daily, record

from icaht.core.course import course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.core.severity import gcsf_refractory, persistent_severe_neutropenia, severe_lineages

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _course(labs: list[tuple[str, float, float]], events: list[dict[str, Any]] | None = None):  # type: ignore[no-untyped-def]
    return course_from_record(record(labs=labs, events=events or []))


def _gcsf(start: int) -> dict[str, Any]:
    return {"kind": "medication", "start": start, "drug": "filgrastim"}


def test_persistent_severe_neutropenia_needs_every_value_low_for_14_days() -> None:
    """Every ANC in the trailing 14 days <= 0.5, at least 3 values."""
    low = _course(daily("anc", 20, 40, 0.3))
    assert persistent_severe_neutropenia(low, 40, SEED)
    one_up = _course([*daily("anc", 20, 40, 0.3), ("anc", 35.5, 0.6)])
    assert not persistent_severe_neutropenia(one_up, 40, SEED)
    sparse = _course([("anc", 30, 0.2), ("anc", 38, 0.2)])
    assert not persistent_severe_neutropenia(sparse, 40, SEED)  # two values only


def test_gcsf_refractory_after_seven_days_of_daily_gcsf_with_every_anc_low() -> None:
    """JAIN "complete lack of responsiveness": ANC <= 0.5 on every value after >= 7 days of
    daily G-CSF."""
    course = _course(daily("anc", 0, 40, 0.1), [_gcsf(20)])
    assert gcsf_refractory(course, 25, SEED) is None  # 6 days of G-CSF
    refractory = gcsf_refractory(course, 26, SEED)
    assert refractory is not None
    assert (refractory.gcsf_start_day, refractory.days_on) == (20, 7)


def test_a_rising_anc_is_not_refractory() -> None:
    """A rising trend (last value >= 2x the lowest since infusion) is not refractory."""
    labs = [*daily("anc", 0, 25, 0.1), ("anc", 26, 0.25)]
    assert gcsf_refractory(_course(labs, [_gcsf(20)]), 26, SEED) is None
    labs = [*daily("anc", 0, 25, 0.1), ("anc", 26, 0.6)]
    assert gcsf_refractory(_course(labs, [_gcsf(20)]), 26, SEED) is None  # a response


def test_severe_lineages_with_their_onset() -> None:
    """Neutrophils (persistent severe neutropenia), platelets and red cells (>= 2 transfusions in
    their windows), each with the first day of the unbroken run on which the term held."""
    events = [
        {"kind": "transfusion", "start": d, "product": "platelets"} for d in (30, 33, 37, 41, 45)
    ] + [{"kind": "transfusion", "start": 44, "product": "rbc"}]
    course = _course(daily("anc", 10, 50, 0.2), events)
    found = {s.lineage: s for s in severe_lineages(course, 50, SEED)}
    assert set(found) == {"neutrophils", "platelets"}  # one RBC transfusion: not dependent
    assert found["neutrophils"].since_day == 23  # the first day with 14 trailing days <= 0.5
    assert found["platelets"].since_day == 33  # second platelet transfusion
    assert found["platelets"].term == "platelet-transfusion dependent"


def test_gcsf_dependence_is_the_neutrophil_term_when_counts_are_not_persistently_low() -> None:
    """G-CSF on >= 7 of the trailing 14 days with ANC <= 0.5 at least once."""
    labs = [("anc", 40, 0.4), ("anc", 44, 0.9), ("anc", 48, 1.2)]
    course = _course(labs, [_gcsf(38)])
    (neutrophils,) = severe_lineages(course, 50, SEED)
    assert neutrophils.term == "G-CSF-dependent"
    assert neutrophils.since_day == 44  # day 44: 7 days of G-CSF (38-44) and ANC 0.4 on day 40


def test_jain_case2_is_g_csf_refractory_from_day_31() -> None:
    """JAIN case 2: "ANC never > 500/mm3 despite G-CSF" (daily filgrastim from day 10). Against
    a recent trend, the oscillation between 0.1 and 0.4 is no response: refractory on every day
    from day 31 (the first day without a two-fold rise over the trailing 14 days) to the last
    day before the ANC exceeds 0.5 (day 130: 0.8). Before day 31 the ANC was still climbing from
    its nadir of 0.02."""
    course = course_from_record(
        PatientRecord.model_validate(
            json.loads((EXAMPLES / "jain-case2.json").read_text(encoding="utf-8"))
        )
    )
    days = [d for d in range(0, 140) if gcsf_refractory(course, d, SEED) is not None]
    assert days == list(range(31, 130))


def test_an_oscillation_below_0_5_stays_refractory() -> None:
    """Once refractory, a later two-fold swing within the severe range does not undo it."""
    labs = [*daily("anc", 0, 20, 0.1), ("anc", 21, 0.3)]
    course = _course(labs, [_gcsf(5)])
    assert gcsf_refractory(course, 20, SEED) is not None
    assert gcsf_refractory(course, 21, SEED) is not None


def test_platelet_dependence_as_a_severe_term_holds_between_regular_transfusions() -> None:
    """docs/decisions.md, "Transfusion dependence" (independence = none in the window after
    dependence) and "Severity terms": the platelet lineage stays severe from the second of
    10-day-apart transfusions (day 30) to day 93, with its onset on day 30 throughout."""
    events = [{"kind": "transfusion", "start": day, "product": "platelets"} for day in (20, 30, 40)]
    course = course_from_record(
        PatientRecord.model_validate({"patient": {"patient_id": "p"}, "events": events})
    )
    for day in (30, 35, 45, 53):
        terms = {s.lineage: s for s in severe_lineages(course, day, SEED)}
        assert terms["platelets"].since_day == 30, day
    assert "platelets" not in {s.lineage for s in severe_lineages(course, 54, SEED)}
