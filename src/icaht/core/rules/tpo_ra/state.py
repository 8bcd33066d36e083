"""The TPO-RA course as one state machine: its state of the day (order in
:mod:`icaht.core.rules.tpo_ra`), the label dose adjustments for high platelets, and the one card
that shows the state.

References: those of :mod:`icaht.core.rules.tpo_ra` (seeds 001-004, the labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from icaht.core.course import day_of
from icaht.core.drug_courses import ELTROMBOPAG, ROMIPLOSTIM, DoseStep, DrugCourse, current_step
from icaht.core.lineage import Measurement
from icaht.core.record import Transfusion
from icaht.core.rule_context import RuleContext
from icaht.core.rules.queries import STALE_SETTINGS
from icaht.core.timeline import calendar_day
from icaht.core.tpo_ra_response import TpoRaResponse
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.tpo_ra_criteria import (
    ALT_STOP_ULN_MULTIPLE,
    ELTROMBOPAG_REDUCE_FROM_10E9_PER_L,
    ELTROMBOPAG_REDUCE_STEP_MG,
    ELTROMBOPAG_RESTART_BELOW_10E9_PER_L,
    ELTROMBOPAG_STOP_ABOVE_10E9_PER_L,
    ROMIPLOSTIM_REDUCE_CONSECUTIVE_WEEKS,
    ROMIPLOSTIM_REDUCE_STEP_UG_KG,
    ROMIPLOSTIM_THRESHOLDS_10E9_PER_L,
)

_WEEK_DAYS = 7
_TRANSFUSION_WINDOWS = (
    "transfusion.platelet_dependence_window_days",
    "transfusion.rbc_dependence_window_days",
)
#: What every course card reads besides its own inputs (the decorations of :func:`course_card`).
COURSE_INPUTS = (
    "treatments",
    "tpo_ra_response",
    "platelets",
    "alt",
    "patient.age_years",
    "patient.chip",
    "chip",
)
_COURSE_SETTINGS = (
    "tpo_ra.liver_test_interval_days",
    "patient_groups.child_max_age_years",
)
_RESPONSE_SETTINGS = (
    *_TRANSFUSION_WINDOWS,
    "tpo_ra.partial_response_window_days",
    "tpo_ra.taper_platelets_10e9_l",
    "tpo_ra.taper_span_days",
)
#: Every setting the course state machine (:func:`course_view`) reads: each TPO-RA course card
#: is one of its states, so each reads them all.
STATE_SETTINGS: tuple[str, ...] = (
    *_COURSE_SETTINGS,
    *_RESPONSE_SETTINGS,
    *STALE_SETTINGS,
    "tpo_ra.no_response_weeks",
    "tpo_ra.platelet_target_10e9_l",
    "tpo_ra.romiplostim_label",
)
CourseState = Literal[
    "liver review", "label adjustment", "taper", "responding", "no response", "titrating"
]


@dataclass(frozen=True, slots=True)
class CourseView:
    """The TPO-RA course as of the day: the latest-started active course (the card's drug), its
    current step, the response, the current platelet count, the taper start and the state."""

    courses: tuple[DrugCourse, ...]
    course: DrugCourse
    step: DoseStep | None
    response: TpoRaResponse
    platelets: Measurement | None
    taper_from: int | None
    adjustment: str | None
    state: CourseState
    target: float

    @property
    def dose(self) -> float | None:
        return None if self.step is None else self.step.normalised_dose

    @property
    def card(self) -> str | None:
        """The one rule that shows the state: romiplostim keeps its weekly label steps while
        responding below the target (BAUR L202-205 titrated until > 50 x10^9/L was maintained);
        eltrombopag holds its dose while responding (SCAL L22: kept at 50 mg; JAIN case 1 kept
        75 mg)."""
        if self.state == "liver review":
            return "tpo-ra.eltrombopag-alt-rise"
        if self.state == "taper":
            return "tpo-ra.stop-on-response"
        if self.state == "no response":
            return "tpo-ra.stop-without-response"
        titration = f"tpo-ra.{self.course.drug}-titration"
        if self.state != "responding":
            return titration if self.course.drug in (ROMIPLOSTIM, ELTROMBOPAG) else None
        stepping = (
            self.course.drug == ROMIPLOSTIM
            and self.dose is not None
            and self.platelets is not None
            and self.platelets.value < self.target
        )
        return titration if stepping else "tpo-ra.responding"


def course_view(ctx: RuleContext) -> CourseView | None:
    """The course and its one state (in the order of :mod:`icaht.core.rules.tpo_ra`), or None off
    a TPO-RA."""
    active = ctx.treatments.active_tpo_ra()
    response = ctx.treatments.tpo_ra_response
    if not active or response is None:
        return None
    course = max(active, key=lambda c: c.first_day)
    step = current_step(course, ctx.as_of_day)
    platelets = ctx.current(Analyte.PLATELETS)
    dose = None if step is None else step.normalised_dose
    adjustment = (
        None
        if dose is None or platelets is None
        else _label_adjustment(ctx, course.drug, dose, platelets.value)
    )
    taper_from = _taper_from(ctx, response.first_dose_day)
    state: CourseState
    if any(c.drug == ELTROMBOPAG for c in active) and alt_high(ctx) is not None:
        state = "liver review"
    elif adjustment is not None:
        state = "label adjustment"
    elif taper_from is not None:
        state = "taper"
    elif _responding(response):
        state = "responding"
    elif (
        ctx.as_of_day - response.first_dose_day >= ctx.profile.tpo_ra.no_response_weeks * 7
        and not _transfusions_falling(response)
    ):
        state = "no response"
    else:
        state = "titrating"
    return CourseView(
        courses=tuple(active),
        course=course,
        step=step,
        response=response,
        platelets=platelets,
        taper_from=taper_from,
        adjustment=adjustment,
        state=state,
        target=ctx.profile.tpo_ra.platelet_target_10e9_l,
    )


def _responding(response: TpoRaResponse) -> bool:
    """The Beyar-Katz response on the platelet lineage, or a partial response."""
    return response.platelet_response_day is not None or response.partial.met


def _transfusions_falling(response: TpoRaResponse) -> bool:
    """Fewer platelet transfusions in the latest window than in the one before the first dose:
    short of a partial response, but "stop: no response" waits while they fall (the decisions
    page makes 6 weeks without a response necessary for a stop, not sufficient; JAIN case 1's
    course went on while its transfusions fell, and recovered)."""
    partial = response.partial
    recent = partial.transfusions_recent
    return recent is not None and recent < partial.transfusions_before


def _taper_from(ctx: RuleContext, first_dose: int) -> int | None:
    """First day of the run of platelet values >= ``tpo_ra.taper_platelets_10e9_l`` after the
    first dose day that reaches the latest value, when the run spans ``tpo_ra.taper_span_days``
    and no platelet transfusion was given since its first day; else None."""
    settings = ctx.profile.tpo_ra
    series = ctx.window(Analyte.PLATELETS, first_dose + 1, ctx.as_of_day)
    if not len(series):
        return None
    below = np.flatnonzero(series.value < settings.taper_platelets_10e9_l)
    first = int(below[-1]) + 1 if below.shape[0] else 0
    if first >= len(series):
        return None
    start = calendar_day(float(series.day[first]))
    if calendar_day(float(series.day[-1])) - start < settings.taper_span_days:
        return None
    transfused = any(
        t.product == "platelets" and calendar_day(day_of(t.start)) >= start
        for t in ctx.course.of_kind(Transfusion)
    )
    return None if transfused else start


def alt_high(ctx: RuleContext) -> tuple[Measurement, float] | None:
    """The latest ALT and its ULN when it is >= 3x ULN (label boxed warning)."""
    series = ctx.series(Analyte.ALT)
    if not len(series):
        return None
    latest = Measurement(day=float(series.day[-1]), value=float(series.value[-1]))
    uln = float(series.uln[-1])
    return (latest, uln) if latest.value >= ALT_STOP_ULN_MULTIPLE * uln else None


def _label_adjustment(ctx: RuleContext, drug: str, dose: float, platelets: float) -> str | None:
    """A label reduction, hold or stop for high platelets, or None."""
    if drug == ROMIPLOSTIM:
        return _romiplostim_adjustment(ctx, dose, platelets)
    if drug == ELTROMBOPAG:
        return _eltrombopag_adjustment(dose, platelets)
    return None


def _above_for_weeks(ctx: RuleContext, threshold: float) -> bool:
    """Every platelet value from the latest one at least a week before the latest value on is
    above ``threshold`` (label: above the cut-off for 2 consecutive weeks)."""
    series = ctx.series(Analyte.PLATELETS)
    if not len(series):
        return False
    span = (ROMIPLOSTIM_REDUCE_CONSECUTIVE_WEEKS - 1) * _WEEK_DAYS
    earlier = np.flatnonzero(series.day <= series.day[-1] - span)
    return bool(earlier.shape[0]) and bool(np.all(series.value[earlier[-1] :] > threshold))


def _romiplostim_adjustment(ctx: RuleContext, dose: float, platelets: float) -> str | None:
    settings = ctx.profile.tpo_ra
    reduce, hold, resume = ROMIPLOSTIM_THRESHOLDS_10E9_PER_L[settings.romiplostim_label]
    lower = max(dose - ROMIPLOSTIM_REDUCE_STEP_UG_KG, 0.0)
    label = f"{settings.romiplostim_label.upper()} label"
    if platelets > hold:
        return (
            f"Consider holding romiplostim ({label}: platelets > {hold:g} x10^9/L), checking "
            f"counts weekly and resuming at {lower:g} ug/kg once platelets are < {resume:g}."
        )
    if _above_for_weeks(ctx, reduce):
        return (
            f"Consider reducing romiplostim from {dose:g} to {lower:g} ug/kg ({label}: platelets "
            f"> {reduce:g} x10^9/L for {ROMIPLOSTIM_REDUCE_CONSECUTIVE_WEEKS} consecutive weeks)."
        )
    return None


def _eltrombopag_adjustment(dose: float, platelets: float) -> str | None:
    lower = max(dose - ELTROMBOPAG_REDUCE_STEP_MG, 0.0)
    if platelets > ELTROMBOPAG_STOP_ABOVE_10E9_PER_L:
        return (
            f"Consider stopping eltrombopag (label: platelets > "
            f"{ELTROMBOPAG_STOP_ABOVE_10E9_PER_L:g} x10^9/L), checking counts twice weekly and "
            f"restarting at {lower:g} mg/day once platelets are < "
            f"{ELTROMBOPAG_RESTART_BELOW_10E9_PER_L:g} x10^9/L."
        )
    if platelets >= ELTROMBOPAG_REDUCE_FROM_10E9_PER_L:
        return (
            f"Consider reducing eltrombopag from {dose:g} to {lower:g} mg/day and reassessing in "
            f"2 weeks (label: platelets {ELTROMBOPAG_REDUCE_FROM_10E9_PER_L:g}-"
            f"{ELTROMBOPAG_STOP_ABOVE_10E9_PER_L:g} x10^9/L)."
        )
    return None


def showing(ctx: RuleContext, rule_id: str) -> CourseView | None:
    """The course view when ``rule_id`` is the card of the day, else None."""
    view = course_view(ctx)
    return view if view is not None and view.card == rule_id else None
