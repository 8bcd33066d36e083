"""The TPO-RA titration cards: romiplostim weekly steps and eltrombopag label steps.

References: those of :mod:`icaht.core.rules.tpo_ra` (seeds 001-004, the labels).
"""

from __future__ import annotations

from icaht.core.drug_courses import ELTROMBOPAG, ROMIPLOSTIM, DoseStep, DrugCourse
from icaht.core.outcome import CannotEvaluate, Fact, Outcome
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, lab_fact
from icaht.core.rules.tpo_ra.card import (
    COURSE_CITATIONS,
    course_card,
    no_normalised_dose,
    transfusion_caveats,
)
from icaht.core.rules.tpo_ra.patient import eltrombopag_cap
from icaht.core.rules.tpo_ra.state import COURSE_INPUTS, STATE_SETTINGS, CourseView, showing
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.tpo_ra_criteria import ROMIPLOSTIM_NO_RESPONSE_WEEKS_AT_MAX


def _romiplostim_step(ctx: RuleContext, dose: float, platelets: float) -> str:
    """The weekly label step: +1 ug/kg while platelets are below the target, up to the maximum;
    else keep the dose."""
    settings = ctx.profile.tpo_ra
    target = settings.platelet_target_10e9_l
    if platelets >= target:
        return (
            f"Consider continuing romiplostim at {dose:g} ug/kg weekly (platelets >= {target:g} "
            "x10^9/L: the label keeps the dose)."
        )
    if dose >= settings.romiplostim_max_ug_kg:
        return (
            f"Consider no further increase: romiplostim is at the maximum of "
            f"{settings.romiplostim_max_ug_kg:g} ug/kg with platelets < {target:g} x10^9/L; the "
            f"label stops it if there is no adequate response after "
            f"{ROMIPLOSTIM_NO_RESPONSE_WEEKS_AT_MAX} weeks at the maximum."
        )
    higher = min(dose + settings.romiplostim_step_ug_kg, settings.romiplostim_max_ug_kg)
    return (
        f"Consider increasing romiplostim from {dose:g} to {higher:g} ug/kg this week "
        f"(platelets < {target:g} x10^9/L; maximum {settings.romiplostim_max_ug_kg:g} ug/kg)."
    )


def _same_dose_since(course: DrugCourse, step: DoseStep) -> int:
    """First day of the run of contiguous steps at the current step's dose."""
    index = max(i for i, s in enumerate(course.steps) if s == step)
    start = step.start_day
    for prev in reversed(course.steps[:index]):
        contiguous = prev.end_day is not None and prev.end_day >= start - 1
        if not contiguous or prev.normalised_dose != step.normalised_dose:
            break
        start = prev.start_day
    return start


def _eltrombopag_step(ctx: RuleContext, view: CourseView, dose: float, platelets: float) -> str:
    """The label step: +step mg after >= ``tpo_ra.eltrombopag_step_after_days`` at a dose with
    platelets below the target, up to the cap; else keep the dose (and say when the step is due)."""
    settings = ctx.profile.tpo_ra
    target = settings.platelet_target_10e9_l
    assert view.step is not None
    due = _same_dose_since(view.course, view.step) + settings.eltrombopag_step_after_days
    cap = eltrombopag_cap(ctx)
    if platelets >= target:
        return (
            f"Consider continuing eltrombopag at {dose:g} mg/day (platelets >= {target:g} x10^9/L:"
            " the label keeps the dose)."
        )
    if ctx.as_of_day < due:
        return (
            f"Consider continuing eltrombopag at {dose:g} mg/day: the label step "
            f"(+{settings.eltrombopag_step_mg:g} mg if platelets are still < {target:g} x10^9/L) "
            f"is due on day {due}, after {settings.eltrombopag_step_after_days} days at a dose."
        )
    if dose >= cap:
        return (
            f"Consider no further increase: eltrombopag is at the titration cap of {cap:g} mg/day "
            f"with platelets < {target:g} x10^9/L."
        )
    higher = min(dose + settings.eltrombopag_step_mg, cap)
    return (
        f"Consider increasing eltrombopag from {dose:g} to {higher:g} mg/day (at least "
        f"{settings.eltrombopag_step_after_days} days at the current dose, platelets < "
        f"{target:g} x10^9/L; cap {cap:g} mg/day)."
    )


def _titration(ctx: RuleContext, drug: str) -> Outcome:
    view = showing(ctx, f"tpo-ra.{drug}-titration")
    if view is None or view.step is None:
        return None
    if view.dose is None:
        return no_normalised_dose(view.step, ctx.course.facts.weight_kg)
    if view.platelets is None:
        return CannotEvaluate(missing=("platelets",))
    platelets = view.platelets.value
    if view.adjustment is not None:
        action = view.adjustment
    elif drug == ROMIPLOSTIM:
        action = _romiplostim_step(ctx, view.dose, platelets)
    else:
        action = _eltrombopag_step(ctx, view, view.dose, platelets)
    facts: tuple[Fact, ...] = (lab_fact(Analyte.PLATELETS, view.platelets),)
    caveats: tuple[str, ...] = ()
    if view.state == "responding":
        caveats = (
            "Responding below the target: BAUR kept the weekly romiplostim steps until "
            "platelets > 50 x10^9/L were reached and maintained.",
            *transfusion_caveats(ctx),
        )
    return course_card(ctx, view, action, facts, caveats)


@rule(
    id="tpo-ra.romiplostim-titration",
    title="Romiplostim weekly titration",
    category="TPO-RA",
    decision="tpo-ra",
    summary="On romiplostim, titrating (or responding below the target): +step ug/kg per week "
    "while platelets are below the target, up to the maximum; reduce by 1 ug/kg or hold above "
    "the label thresholds (US 200/400, EU 150/250). Dose alerts and the child and CHIP caveats "
    "ride on the card.",
    citations=[
        Citation("LABEL-ROMIPLOSTIM", "dosage and dose adjustments (US label, EU SmPC)"),
        Citation("BAUR", "L202-206"),
        Citation("JAIN", "L57"),
        *COURSE_CITATIONS,
    ],
    inputs=[
        *COURSE_INPUTS,
        "patient.weight_kg",
        "jain_phase",
        "patient.complete_streams",
        "transfusion",
    ],
    settings=[
        *STATE_SETTINGS,
        "tpo_ra.romiplostim_step_ug_kg",
        "tpo_ra.romiplostim_max_ug_kg",
    ],
)
def romiplostim_titration(ctx: RuleContext) -> Outcome:
    return _titration(ctx, ROMIPLOSTIM)


@rule(
    id="tpo-ra.eltrombopag-titration",
    title="Eltrombopag titration",
    category="TPO-RA",
    decision="tpo-ra",
    summary="On eltrombopag, titrating: continue until the step is due; then, with platelets "
    "below the target, +step mg up to the cap (150 mg/day; 75 mg/day for a child); platelets "
    "200-400 x10^9/L: -25 mg; > 400: stop and recheck (label). Liver tests due, dose alerts and "
    "the choline salt ride on the card.",
    citations=[
        Citation("LABEL-ELTROMBOPAG", "dosage and dose adjustments"),
        Citation("JAIN", "L57"),
        Citation("BK", "abstract"),
        *COURSE_CITATIONS,
    ],
    inputs=[*COURSE_INPUTS, "patient.weight_kg", "jain_phase", "transfusion"],
    settings=[
        *STATE_SETTINGS,
        "tpo_ra.eltrombopag_max_mg_day",
        "tpo_ra.eltrombopag_step_mg",
        "tpo_ra.eltrombopag_step_after_days",
    ],
)
def eltrombopag_titration(ctx: RuleContext) -> Outcome:
    return _titration(ctx, ELTROMBOPAG)
