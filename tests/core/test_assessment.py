"""assess(): composition, baseline selection, data quality, and the as-of guarantees.

The as-of properties are the design's "one idea" (docs/architecture.md): an assessment as of
day d uses only what was known by day d, so adding anything later never changes it.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icaht.core.assessment import Assessment, assess
from icaht.core.course import course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.profile import load_profile

PROFILE = load_profile()


def _record(
    observations: list[dict[str, Any]], events: list[dict[str, Any]] | None = None, **facts: Any
) -> PatientRecord:
    return PatientRecord.model_validate(
        {
            "patient": {"patient_id": "p", **facts},
            "observations": observations,
            "events": events or [],
        }
    )


def _obs(day: float, analyte: str, value: float, unit: str = "10^9/L") -> dict[str, Any]:
    return {"day": day, "analyte": analyte, "value": value, "unit": unit}


def test_phase_window_and_profile_are_reported() -> None:
    course = course_from_record(_record([_obs(d, "anc", 0.3) for d in range(0, 40)]))
    a = assess(course, 35, PROFILE)
    # Jain: day 35 is "prolonged" (30-90); ICAHT: day 35 is "late" (>= 31)
    assert (a.as_of_day, a.jain_phase, a.icaht_window) == (35, "prolonged", "late")
    assert (a.profile_name, a.profile_version) == ("seed-2023", "2")
    assert a.follow_up_end_reason == "as-of"


def test_no_anc_is_a_data_quality_finding_not_an_error() -> None:
    course = course_from_record(_record([_obs(5, "platelets", 30)]))
    a = assess(course, 10, PROFILE)
    assert a.early_icaht.grade is None
    assert a.early_icaht.reason
    assert any(f.code == "no-values" and "neutrophils" in f.message for f in a.data_quality)


def test_stale_latest_value_is_flagged() -> None:
    course = course_from_record(
        _record([_obs(1, "anc", 0.3), _obs(1, "platelets", 30), _obs(1, "hb", 9, "g/dL")])
    )
    # early phase: latest value older than 3 days (profile data_quality.stale_days_early)
    a = assess(course, 9, PROFILE)
    assert {f.code for f in a.data_quality} == {"stale"}
    assert assess(course, 3, PROFILE).data_quality == []


def test_hematotox_uses_pre_lymphodepletion_baseline() -> None:
    """CAR-HEMATOTOX is measured before LD (docs/evidence.md 5.1; docs/decisions.md
    Timeline): with LD starting day -5, values from day -5 on are not baseline."""
    pre = [
        _obs(-6, "platelets", 200),
        _obs(-6, "anc", 2.0),
        _obs(-6, "hb", 12, "g/dL"),
        _obs(-6, "crp", 1.0, "mg/dL"),
        _obs(-6, "ferritin", 300, "ng/mL"),
    ]
    after_ld = [_obs(-4, "platelets", 50), _obs(-4, "ferritin", 5000, "ng/mL")]
    course = course_from_record(_record(pre + after_ld, ld_start=-5))
    score = assess(course, 0, PROFILE).scores.car_hematotox
    assert score.computable
    assert score.total == 0
    assert score.category == "low"
    # without a known LD start, the last value before day 0 is the baseline: 50 -> 2, 5000 -> 2
    course = course_from_record(_record(pre + after_ld))
    score = assess(course, 0, PROFILE).scores.car_hematotox
    assert score.total == 4
    assert score.category == "high"


def test_death_censors_grading_window() -> None:
    obs = [_obs(d, "anc", 0.05) for d in range(0, 12)]
    course = course_from_record(_record(obs, [{"kind": "death", "time": 11}]))
    a = assess(course, 60, PROFILE)
    assert (a.follow_up_end_day, a.follow_up_end_reason) == (11, "death")
    assert a.early_icaht.censored_by == "death"


def test_transfusion_dependence_in_assessment() -> None:
    events = [{"kind": "transfusion", "time": d, "product": "platelets"} for d in (40, 47, 54)]
    course = course_from_record(
        _record([_obs(d, "platelets", 12) for d in range(30, 60, 2)], events)
    )
    assert assess(course, 60, PROFILE).platelet_transfusion.dependent
    assert not assess(course, 69, PROFILE).platelet_transfusion.dependent


_days = st.integers(min_value=-8, max_value=150)
_values = st.floats(min_value=0.0, max_value=300.0, allow_nan=False)
_series = st.lists(
    st.tuples(_days, st.sampled_from(["anc", "platelets", "hb", "wbc"]), _values),
    min_size=0,
    max_size=60,
)


def _observations(points: list[tuple[int, str, float]]) -> list[dict[str, Any]]:
    units = {"anc": "10^9/L", "platelets": "10^9/L", "hb": "g/dL", "wbc": "10^9/L"}
    caps = {"anc": 50.0, "platelets": 300.0, "hb": 20.0, "wbc": 50.0}
    return [_obs(d, a, min(v, caps[a]), units[a]) for d, a, v in points]


@settings(max_examples=60, deadline=None)
@given(
    points=_series,
    later=_series,
    as_of=st.integers(min_value=0, max_value=120),
    transfusions=st.lists(_days, max_size=8),
)
def test_adding_later_data_never_changes_an_earlier_assessment(
    points: list[tuple[int, str, float]],
    later: list[tuple[int, str, float]],
    as_of: int,
    transfusions: list[int],
) -> None:
    """docs/architecture.md: no look-ahead. Observations and events after the as-of day change
    nothing."""
    events = [{"kind": "transfusion", "time": d, "product": "platelets"} for d in transfusions]
    base = [p for p in points if p[0] <= as_of]
    extra = [(max(d, as_of + 1), a, v) for d, a, v in later]
    extra_events = [{"kind": "death", "time": as_of + 5}]
    before = assess(
        course_from_record(_record(_observations(base), [e for e in events if e["time"] <= as_of])),
        as_of,
        PROFILE,
    )
    after = assess(
        course_from_record(_record(_observations(base + extra), events + extra_events)),
        as_of,
        PROFILE,
    )
    assert before == after


def test_the_assessment_keeps_the_course_it_was_computed_from() -> None:
    """Presenters read the course known on the as-of day from the assessment (issue 19): it holds
    what ``Course.until`` the end of that day gives, and is not part of the assessment's data."""
    events = [
        {"kind": "transfusion", "start": 20, "product": "platelets"},
        {"kind": "transfusion", "start": 50, "product": "platelets"},
    ]
    course = course_from_record(_record([_obs(d, "anc", 0.3) for d in range(0, 60)], events))
    a = assess(course, 30, PROFILE)
    known = course.until(31.0)
    assert a.known_course.events == known.events
    assert [float(d) for d in a.known_course.series(Analyte.ANC).day] == list(range(0, 31))
    text = a.model_dump_json()
    back = Assessment.model_validate_json(text)
    assert back == a  # compared by their fields
    assert "known" not in text
    with pytest.raises(ValueError, match="not kept"):
        _ = back.known_course
