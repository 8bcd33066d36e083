"""Per-lineage status as of a day: latest value and its CTCAE v5 grade, nadir, worst grade per
Jain phase, days under the ICAHT/T-ICAHT thresholds, and staleness.

References: CTCAE v5.0 (grades); Jain et al., Blood 2023 (phases); Rejeski et al., Blood 2023
(ICAHT thresholds "<="); T-ICAHT Table 1 (platelet thresholds "<"); staleness limits are
project-default profile settings (``data_quality``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from icaht.core.course import Series
from icaht.core.ctcae import CtcaeTerm, grade_array, grade_value, reported_unit
from icaht.core.ctcae_worst import worst_grades
from icaht.core.frozen import FROZEN
from icaht.core.timeline import JainPhase, jain_phase
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.ctcae_criteria import ANEMIA_TRANSFUSION_WITHIN_DAYS, HB_G2_FLOOR_G_PER_DL
from icaht.knowledge.icaht_criteria import (
    ANC_PROFOUND_10E9_PER_L,
    ANC_SEVERE_10E9_PER_L,
    PLT_PROFOUND_10E9_PER_L,
    PLT_SEVERE_10E9_PER_L,
)
from icaht.knowledge.profile import Profile
from icaht.knowledge.timeline_criteria import JAIN_PROLONGED_FIRST_DAY, JAIN_PROLONGED_LAST_DAY


class Measurement(BaseModel):
    model_config = FROZEN
    day: float
    value: float


class LineageStatus(BaseModel):
    """One blood lineage as of the assessment day."""

    model_config = FROZEN
    lineage: str
    analyte: Analyte
    unit: str
    latest: Measurement | None
    latest_ctcae: int | None = Field(
        description="CTCAE v5 grade of the latest value; None with a note when not assessable"
    )
    latest_ctcae_note: str | None = None
    nadir: Measurement | None = Field(description="Lowest value from day 0 on")
    worst_ctcae_by_phase: dict[str, int | None] = Field(
        description="Worst certain CTCAE grade per Jain phase; -1 = grade 0 or 1 (no lab LLN, so "
        "grade 1 cannot be assessed); None = no value in that phase"
    )
    days_under: dict[str, int] = Field(
        description="Calendar days from day 0 with an observed value under each threshold"
    )
    days_since_latest: int | None
    stale: bool


#: lineage label, analyte, CTCAE term, thresholds counted in days_under (value, strict "<")
LineageSpec = tuple[str, Analyte, CtcaeTerm, tuple[tuple[float, bool], ...]]
LINEAGES: tuple[LineageSpec, ...] = (
    # ICAHT thresholds are "<=" (docs/decisions.md, Grading)
    (
        "neutrophils",
        Analyte.ANC,
        CtcaeTerm.NEUTROPHILS,
        ((ANC_SEVERE_10E9_PER_L, False), (ANC_PROFOUND_10E9_PER_L, False)),
    ),
    # T-ICAHT thresholds are "<"
    (
        "platelets",
        Analyte.PLATELETS,
        CtcaeTerm.PLATELETS,
        ((PLT_SEVERE_10E9_PER_L, True), (PLT_PROFOUND_10E9_PER_L, True)),
    ),
    # Hb < 8.0 g/dL: CTCAE v5 anemia grade 3 (Beyar-Katz complete resolution needs Hb > 8)
    ("hemoglobin", Analyte.HB, CtcaeTerm.ANEMIA, ((HB_G2_FLOOR_G_PER_DL, True),)),
    ("white cells", Analyte.WBC, CtcaeTerm.WBC, ()),
    ("lymphocytes", Analyte.LYMPHOCYTES, CtcaeTerm.LYMPHOCYTES, ()),
)
_PHASES: tuple[JainPhase, ...] = ("pre-infusion", "early", "prolonged", "late")
#: First fractional day of the early, prolonged and late Jain phases (calendar day 0, 30, 91).
_PHASE_STARTS = np.array(
    [0.0, JAIN_PROLONGED_FIRST_DAY, JAIN_PROLONGED_LAST_DAY + 1], dtype=np.float64
)


def _distinct_sorted(values: NDArray[np.int64]) -> int:
    """Number of distinct values in a sorted array (``np.unique(...).size`` without the sort)."""
    if values.shape[0] == 0:
        return 0
    return 1 + int(np.count_nonzero(values[1:] != values[:-1]))


def _stale_limit(phase: JainPhase, profile: Profile) -> int:
    dq = profile.data_quality
    if phase == "late":
        return dq.stale_days_late
    if phase == "prolonged":
        return dq.stale_days_prolonged
    return dq.stale_days_early


def transfusion_near(
    day: NDArray[np.float64], transfusion_days: NDArray[np.float64] | None
) -> tuple[NDArray[np.bool_], int | None]:
    """Which values have a transfusion within ``ANEMIA_TRANSFUSION_WITHIN_DAYS`` calendar days
    (before or after; docs/decisions.md, Grading: anemia grade 3 "transfusion indicated"),
    and the calendar day of the transfusion nearest the last value (None when none is near)."""
    if transfusion_days is None or transfusion_days.shape[0] == 0 or day.shape[0] == 0:
        return np.zeros(day.shape, dtype=np.bool_), None
    within = ANEMIA_TRANSFUSION_WITHIN_DAYS
    tx = np.sort(np.floor(transfusion_days).astype(np.int64))
    cal = np.floor(day).astype(np.int64)
    lo = np.searchsorted(tx, cal - within, side="left")
    hi = np.searchsorted(tx, cal + within, side="right")
    near = hi > lo
    if not near[-1]:
        return near, None
    candidates = tx[lo[-1] : hi[-1]]
    return near, int(candidates[np.argmin(np.abs(candidates - cal[-1]))])


def lineage_status(
    label: str,
    analyte: Analyte,
    term: CtcaeTerm,
    thresholds: tuple[tuple[float, bool], ...],
    series: Series,
    as_of_day: int,
    profile: Profile,
    transfusion_days: NDArray[np.float64] | None = None,
) -> LineageStatus:
    """The lineage's status as of ``as_of_day``. CTCAE grades use the unit each value was
    reported in (``series.unit_code``) and, for anemia, ``transfusion_days`` (RBC transfusions
    known as of the day): grade 3 "transfusion indicated" (docs/decisions.md, Grading)."""
    unit = ANALYTES[analyte].canonical_unit
    if not len(series):
        return LineageStatus(
            lineage=label,
            analyte=analyte,
            unit=unit,
            latest=None,
            latest_ctcae=None,
            nadir=None,
            worst_ctcae_by_phase=dict.fromkeys(_PHASES),
            days_under={},
            days_since_latest=None,
            stale=True,
        )
    lln_last = float(series.lln[-1])
    near, near_day = transfusion_near(series.day, transfusion_days)
    units = series.unit_code
    latest_grade = grade_value(
        term,
        float(series.value[-1]),
        None if np.isnan(lln_last) else lln_last,
        unit=None if units is None else reported_unit(term, int(units[-1])),
        transfused_day=near_day,
    )
    codes = grade_array(term, series.value, series.lln, unit_code=units, transfused=near)
    calendar = np.floor(series.day).astype(np.int64)
    # The series is sorted by day, so each Jain phase (same bounds as timeline.jain_phase) is one
    # contiguous slice: [start, day 0), [day 0, day 30), [day 30, day 91), [day 91, end).
    bounds = [0, *np.searchsorted(series.day, _PHASE_STARTS, side="left").tolist(), len(series)]
    worst = dict(zip(_PHASES, worst_grades(codes, bounds), strict=True))
    first_post = bounds[1]  # first value from day 0 on
    post = series.value[first_post:]
    post_calendar = calendar[first_post:]
    days_under: dict[str, int] = {}
    for threshold, strict in thresholds:
        under = post < threshold if strict else post <= threshold
        key = f"{'<' if strict else '<='}{threshold:g}"
        days_under[key] = _distinct_sorted(post_calendar[under])
    nadir = None
    if post.shape[0]:
        i = int(np.argmin(post))
        nadir = Measurement(day=float(series.day[first_post + i]), value=float(post[i]))
    since = as_of_day - int(calendar[-1])
    return LineageStatus(
        lineage=label,
        analyte=analyte,
        unit=unit,
        latest=Measurement(day=float(series.day[-1]), value=float(series.value[-1])),
        latest_ctcae=latest_grade.grade,
        latest_ctcae_note=latest_grade.note,
        nadir=nadir,
        worst_ctcae_by_phase=worst,
        days_under=days_under,
        days_since_latest=since,
        stale=since > _stale_limit(jain_phase(as_of_day), profile),
    )
