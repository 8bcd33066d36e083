"""The response to a TPO-RA per Beyar-Katz (Ann Hematol 2022; BK abstract, seed 002;
docs/decisions.md "TPO-RA response"): see :func:`tpo_ra_response`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from icaht.core.course import Course, Series, day_of
from icaht.core.drug_courses import DrugCourse, exposure_days
from icaht.core.frozen import FROZEN
from icaht.core.record import Transfusion
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.profile import Profile
from icaht.knowledge.profile.supportive_care import TransfusionSettings
from icaht.knowledge.tpo_ra_criteria import (
    COMPLETE_HB_G_DL,
    PARTIAL_PLATELET_FOLD,
    PARTIAL_TRANSFUSION_FRACTION,
    RESPONSE_ANC_10E9_PER_L,
    RESPONSE_CONSECUTIVE_VALUES,
    RESPONSE_PLATELETS_10E9_PER_L,
)

LineageName = Literal["neutrophils", "platelets", "hemoglobin"]


class LineageResponse(BaseModel):
    """Whether one lineage met its Beyar-Katz criterion, and when."""

    model_config = FROZEN
    lineage: LineageName
    criterion: str
    met_day: int | None
    days_from_first_dose: int | None
    met_before_first_dose: bool = Field(
        False,
        description="The last values up to the first dose day already met the criterion: there "
        "was no cytopenia of this lineage to resolve",
    )


class PartialResponse(BaseModel):
    """The partial response on the platelet lineage (docs/decisions.md, "A TPO-RA course is
    one state machine"): two windows of ``window_days``, one ending on the first dose day, one
    ending on the as-of day; the latest is judged only once it starts after the first dose day."""

    model_config = FROZEN
    window_days: int
    transfusions_before: int = Field(
        description="Platelet transfusions in the window ending on the first dose day"
    )
    transfusions_recent: int | None = Field(
        description="Platelet transfusions in the latest window; None until it starts after the "
        "first dose day"
    )
    median_before: float | None = Field(description="Platelet median in the window before")
    median_recent: float | None = Field(description="Platelet median in the latest window")
    by_transfusions: bool = Field(
        description="Transfusions in the latest window at most half of those before (at least "
        "one before)"
    )
    by_platelets: bool = Field(description="The latest median at least double the one before")

    @property
    def met(self) -> bool:
        return self.by_transfusions or self.by_platelets


class TpoRaResponse(BaseModel):
    """Response to a TPO-RA per Beyar-Katz 2022, as of the assessment day."""

    model_config = FROZEN
    drugs: list[str]
    first_dose_day: int
    days_on: int
    transfusion_independent: bool
    transfusion_independent_day: int | None
    response: bool
    response_day: int | None
    lineages_met: list[str]
    lineages: list[LineageResponse]
    complete_resolution: bool
    complete_resolution_day: int | None
    platelet_response_day: int | None = Field(
        description="Day the response was met on the platelet lineage (transfusion independence "
        "and the platelet criterion, platelets not already above it before the first dose)"
    )
    partial: PartialResponse
    caveats: list[str] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=list)


_CONSECUTIVE = f"on {RESPONSE_CONSECUTIVE_VALUES} consecutive values on different days"
_LINEAGES: tuple[tuple[LineageName, Analyte, float, str], ...] = (
    ("neutrophils", Analyte.ANC, RESPONSE_ANC_10E9_PER_L, "ANC > 0.5 x10^9/L"),
    ("platelets", Analyte.PLATELETS, RESPONSE_PLATELETS_10E9_PER_L, "platelets > 20 x10^9/L"),
    ("hemoglobin", Analyte.HB, COMPLETE_HB_G_DL, "Hb > 8 g/dL"),
)
#: The lineages of the response itself ("ANC and/or platelets"); Hb only for complete resolution.
RESPONSE_LINEAGES: tuple[LineageName, ...] = ("neutrophils", "platelets")
_CITATIONS = (
    Citation("BK", "abstract (response, complete resolution)").label(),
    "docs/decisions.md (TPO-RA response)",
)


def tpo_ra_response(
    known: Course,
    tpo_courses: list[DrugCourse],
    as_of_day: int,
    profile: Profile,
) -> TpoRaResponse:
    """Response to a TPO-RA per Beyar-Katz 2022 from the data known by ``as_of_day``.

    - First dose day: the first day of any TPO-RA course.
    - Lineage criteria (BK): ANC > 0.5 x10^9/L, platelets > 20 x10^9/L, Hb > 8 g/dL (strict),
      each on 3 consecutive values on different calendar days, counting only values on days after
      the first dose day (a same-day value is taken as pre-dose). A value at or below the threshold
      restarts the run. The met day is the day of the third value; days are counted from the first
      dose. A lineage met once stays met.
    - Transfusion independence (profile ``transfusion``): reached on the first day D after the first
      dose day from which, on every day up to the as-of day, the trailing windows hold no platelet
      transfusion (``platelet_dependence_window_days``) and no RBC transfusion
      (``rbc_dependence_window_days``); windows as in :mod:`icaht.core.support` (a transfusion on
      day t counts on days t .. t+W-1). So D = max(first dose + 1, last platelet transfusion + Wp,
      last RBC transfusion + Wr); a transfusion after D moves D later, and TI is not reached while
      D is after the as-of day.
    - Response: transfusion independence and ANC and/or platelets met; ``lineages_met`` names the
      response lineages that met it; response day = the later of the TI day and the first lineage
      met day.
    - Complete resolution: response and all three lineages met; its day is the latest of these.
    - Platelet response (the treated lineage, docs/decisions.md): transfusion independence
      and the platelet criterion, platelets not already above it before the first dose; its day
      is the later of the two.
    - Partial response: :func:`partial_response`.
    """
    transfusion = profile.transfusion
    first_dose = min(c.first_day for c in tpo_courses)
    ti_day = _transfusion_independence_day(known, first_dose, as_of_day, transfusion)
    lineages = [
        _lineage_response(known, lineage, analyte, threshold, f"{text} {_CONSECUTIVE}", first_dose)
        for lineage, analyte, threshold, text in _LINEAGES
    ]
    met = [r for r in lineages if r.lineage in RESPONSE_LINEAGES and r.met_day is not None]
    response_day = (
        max(ti_day, min(r.met_day for r in met if r.met_day is not None))
        if ti_day is not None and met
        else None
    )
    complete_day = (
        max(response_day, *(r.met_day or 0 for r in lineages))
        if response_day is not None and all(r.met_day is not None for r in lineages)
        else None
    )
    exposure: set[int] = set()
    for c in tpo_courses:
        exposure |= exposure_days(c.steps, as_of_day)
    return TpoRaResponse(
        drugs=[c.drug for c in tpo_courses],
        first_dose_day=first_dose,
        days_on=len(exposure),
        transfusion_independent=ti_day is not None,
        transfusion_independent_day=ti_day,
        response=response_day is not None,
        response_day=response_day,
        lineages_met=[r.lineage for r in met],
        lineages=lineages,
        complete_resolution=complete_day is not None,
        complete_resolution_day=complete_day,
        platelet_response_day=_platelet_response_day(lineages, ti_day),
        partial=partial_response(
            known, first_dose, as_of_day, profile.tpo_ra.partial_response_window_days
        ),
        caveats=_response_caveats(lineages, known, first_dose, transfusion),
        citations=list(_CITATIONS),
    )


def _platelet_response_day(lineages: list[LineageResponse], ti_day: int | None) -> int | None:
    platelets = next(r for r in lineages if r.lineage == "platelets")
    if ti_day is None or platelets.met_day is None or platelets.met_before_first_dose:
        return None
    return max(ti_day, platelets.met_day)


def partial_response(
    known: Course, first_dose: int, as_of_day: int, window: int
) -> PartialResponse:
    """The partial response on the platelet lineage (docs/decisions.md): platelet
    transfusions in the last ``window`` days at most half of those in the ``window`` days up to
    and including the first dose day (at least one then), or the platelet median over the last
    ``window`` days at least double the median over the days up to the first dose. The latest
    window is judged only once it starts after the first dose day, so the two never overlap (a
    same-day value or transfusion is pre-dose, as for the response)."""
    before_days = (first_dose - window + 1, first_dose)
    recent_days = (as_of_day - window + 1, as_of_day)
    judged = recent_days[0] > first_dose
    transfused = _transfusion_days(known, "platelets")
    before = sum(1 for d in transfused if before_days[0] <= d <= before_days[1])
    recent = sum(1 for d in transfused if recent_days[0] <= d <= recent_days[1])
    platelets = known.series(Analyte.PLATELETS)
    median_before = _median(platelets.between(float(before_days[0]), float(first_dose + 1)))
    median_recent = (
        _median(platelets.between(float(recent_days[0]), float(as_of_day + 1))) if judged else None
    )
    return PartialResponse(
        window_days=window,
        transfusions_before=before,
        transfusions_recent=recent if judged else None,
        median_before=median_before,
        median_recent=median_recent,
        by_transfusions=judged and before > 0 and recent <= PARTIAL_TRANSFUSION_FRACTION * before,
        by_platelets=median_before is not None
        and median_recent is not None
        and median_recent >= PARTIAL_PLATELET_FOLD * median_before,
    )


def _median(series: Series) -> float | None:
    return float(np.median(series.value)) if len(series) else None


def _windows(settings: TransfusionSettings) -> tuple[tuple[str, int], ...]:
    """(transfusion product, dependence window in days) for platelets and RBC."""
    return (
        ("platelets", settings.platelet_dependence_window_days),
        ("rbc", settings.rbc_dependence_window_days),
    )


def _transfusion_days(known: Course, product: str) -> list[int]:
    return [
        calendar_day(day_of(t.start)) for t in known.of_kind(Transfusion) if t.product == product
    ]


def _transfusion_independence_day(
    known: Course, first_dose: int, as_of_day: int, settings: TransfusionSettings
) -> int | None:
    """The first day after the first dose from which the trailing windows stay transfusion-free
    up to the as-of day (see :func:`tpo_ra_response`); None when not reached by the as-of day."""
    candidates = [first_dose + 1]
    for product, window in _windows(settings):
        days = _transfusion_days(known, product)
        if days:
            candidates.append(max(days) + window)
    day = max(candidates)
    return day if day <= as_of_day else None


def _run_end_day(series: Series, threshold: float) -> int | None:
    """Day of the first value completing a run of consecutive values (different calendar days)
    above ``threshold``; a value at or below it restarts the run."""
    run = 0
    last: int | None = None
    for raw_day, value in zip(series.day.tolist(), series.value.tolist(), strict=True):
        day = calendar_day(raw_day)
        if value <= threshold:
            run = 0
        elif day != last:
            run += 1
        last = day
        if run >= RESPONSE_CONSECUTIVE_VALUES:
            return day
    return None


def _met_before(series: Series, threshold: float) -> bool:
    """The last values on distinct days up to the first dose day all met the criterion."""
    by_day: dict[int, float] = {}
    for raw_day, value in zip(series.day.tolist(), series.value.tolist(), strict=True):
        by_day[calendar_day(raw_day)] = min(value, by_day.get(calendar_day(raw_day), value))
    last = list(by_day.values())[-RESPONSE_CONSECUTIVE_VALUES:]
    return len(last) == RESPONSE_CONSECUTIVE_VALUES and all(v > threshold for v in last)


def _lineage_response(
    known: Course,
    lineage: LineageName,
    analyte: Analyte,
    threshold: float,
    criterion: str,
    first_dose: int,
) -> LineageResponse:
    """The lineage criterion after the first dose day, and whether it was already met before."""
    series = known.series(analyte)
    met_day = _run_end_day(series.between(float(first_dose + 1), known.cut), threshold)
    return LineageResponse(
        lineage=lineage,
        criterion=criterion,
        met_day=met_day,
        days_from_first_dose=None if met_day is None else met_day - first_dose,
        met_before_first_dose=_met_before(
            series.between(float("-inf"), float(first_dose + 1)), threshold
        ),
    )


def _response_caveats(
    lineages: list[LineageResponse],
    known: Course,
    first_dose: int,
    transfusion: TransfusionSettings,
) -> list[str]:
    """What makes the response harder to attribute to the TPO-RA: a lineage that already met its
    criterion before the first dose, or no transfusion dependence at the first dose."""
    caveats = [
        f"{r.lineage} already met {r.criterion} up to the first dose day: there was no "
        "cytopenia of this lineage to resolve"
        for r in lineages
        if r.met_before_first_dose
    ]
    dependent = [
        d
        for product, window in _windows(transfusion)
        for d in _transfusion_days(known, product)
        if first_dose - window < d <= first_dose
    ]
    if not dependent:
        caveats.append(
            "no platelet or RBC transfusion in the dependence windows at the first dose: "
            "transfusion independence does not reflect a change"
        )
    return caveats
