"""What every TPO-RA course card carries: the course and its state, dose checks (an alert makes the
card an alert), liver tests due, the response so far, the child and CHIP caveats.

References: those of :mod:`icaht.core.rules.tpo_ra` (seeds 001-004, the labels).
"""

from __future__ import annotations

from icaht.core.drug_courses import (
    ELTROMBOPAG,
    ROMIPLOSTIM,
    DoseStep,
    DrugCourse,
    current_step,
    dose_unit_spelling,
    is_eltrombopag_choline,
)
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Strength
from icaht.core.rule_context import RuleContext, fact, lab_fact
from icaht.core.rules.tpo_ra.patient import patient_caveats
from icaht.core.rules.tpo_ra.state import CourseView
from icaht.core.timeline import calendar_day
from icaht.core.tpo_ra_response import PartialResponse, TpoRaResponse
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.tpo_ra_criteria import (
    ELTROMBOPAG_CHOLINE_MAX_MG_DAY,
    ELTROMBOPAG_CHOLINE_MG,
    ELTROMBOPAG_LABEL_MAX_MG_DAY,
    ELTROMBOPAG_MAX_MG_DAY,
    ELTROMBOPAG_OLAMINE_MG,
    ROMIPLOSTIM_MAX_UG_KG,
)

COURSE_CITATIONS = (
    Citation("LABEL-ELTROMBOPAG", "boxed warning: hepatotoxicity monitoring; eltrombopag choline"),
    Citation("LABEL-ROMIPLOSTIM", "dosage (maximum 10 ug/kg)"),
)
_CHOLINE_EQUIVALENCE = (
    f"Eltrombopag choline and olamine doses differ: {ELTROMBOPAG_CHOLINE_MG:g} mg choline ~ "
    f"{ELTROMBOPAG_OLAMINE_MG:g} mg olamine; doses here are read as recorded."
)


def _dose_fact(label: str, step: DoseStep) -> Fact:
    if step.normalised_dose is None:
        shown = "not derivable" if step.dose is None else f"{step.dose:g} {step.dose_unit or ''}"
    else:
        shown = f"{step.normalised_dose:.3g} {step.normalised_unit}"
    return fact(label, shown.strip(), step.start_day)


def no_normalised_dose(step: DoseStep, weight_kg: float | None) -> CannotEvaluate:
    """What is missing when a dose cannot be normalised: the weight for a dose in ug, else the
    dose itself."""
    in_ug = step.dose is not None and dose_unit_spelling(step.dose_unit) == "ug"
    missing = "patient.weight_kg" if in_ug and weight_kg is None else "medication dose"
    return CannotEvaluate(missing=(missing,), facts=(_dose_fact("Recorded dose", step),))


def _dose_checks(ctx: RuleContext, course: DrugCourse) -> tuple[list[str], bool]:
    """Dose caveats of a running course and whether one is an alert: above the romiplostim label
    maximum, eltrombopag above the cap (olamine), the choline salt (36 mg ~ 50 mg olamine; above
    108 mg/day an olamine-strength dose was probably recorded), the step's own note."""
    step = current_step(course, ctx.as_of_day)
    if step is None:
        return [], False
    caveats = [f"Dose note: {step.note}"] if step.note else []
    dose = step.normalised_dose
    if course.drug == ROMIPLOSTIM and dose is not None and dose > ROMIPLOSTIM_MAX_UG_KG:
        caveats.append(
            f"Check the romiplostim dose: {dose:.3g} ug/kg is above the label maximum of "
            f"{ROMIPLOSTIM_MAX_UG_KG:g} ug/kg weekly."
        )
        return caveats, True
    if course.drug != ELTROMBOPAG or dose is None:
        return caveats, False
    if is_eltrombopag_choline(step):
        caveats.append(_CHOLINE_EQUIVALENCE)
        if dose <= ELTROMBOPAG_CHOLINE_MAX_MG_DAY:
            return caveats, False
        caveats.append(
            f"Check the eltrombopag choline dose: {dose:g} mg/day is above "
            f"{ELTROMBOPAG_CHOLINE_MAX_MG_DAY:g} mg/day, the choline equivalent of "
            f"{ELTROMBOPAG_MAX_MG_DAY:g} mg olamine: an olamine-strength dose may have been "
            "recorded for the choline product."
        )
        return caveats, True
    cap = ELTROMBOPAG_LABEL_MAX_MG_DAY if ctx.is_child() else ELTROMBOPAG_MAX_MG_DAY
    if dose <= cap:
        return caveats, False
    whose = "the label maximum for a child" if ctx.is_child() else "the maximum used after CAR-T"
    caveats.append(f"Check the eltrombopag dose: {dose:g} mg/day is above {cap:g} mg/day, {whose}.")
    return caveats, True


def _liver_tests(ctx: RuleContext, courses: tuple[DrugCourse, ...]) -> tuple[Fact, str] | None:
    """On eltrombopag without an ALT in the last ``tpo_ra.liver_test_interval_days``: the last
    ALT and the caveat (label: ALT, AST, bilirubin every 2 weeks during titration)."""
    if not any(c.drug == ELTROMBOPAG for c in courses):
        return None
    interval = ctx.profile.tpo_ra.liver_test_interval_days
    alt = ctx.latest(Analyte.ALT)
    if alt is not None and ctx.as_of_day - calendar_day(alt.day) <= interval:
        return None
    last = fact("Last ALT", "none recorded") if alt is None else lab_fact(Analyte.ALT, alt)
    return last, (
        f"Liver tests due: consider ALT, AST and bilirubin now (every {interval} days during "
        "eltrombopag titration, then monthly; label: every 2 weeks)."
    )


def course_card(
    ctx: RuleContext,
    view: CourseView,
    action: str,
    facts: tuple[Fact, ...],
    caveats: tuple[str, ...] = (),
    strength: Strength | None = None,
) -> Fired:
    """The card of the day with what every course card carries: the course, its state, the
    dose checks (an alert makes the card an alert), liver tests due, the response so far (a
    response on another lineage reported), child and CHIP caveats."""
    shown = [
        fact(f"On {view.course.drug} since", f"day {view.course.first_day}", view.course.first_day),
        fact("TPO-RA course state", view.state, ctx.as_of_day),
    ]
    if view.step is not None:
        shown.append(_dose_fact(f"Current {view.course.drug} dose (since)", view.step))
    shown += [
        fact(f"Also on {c.drug} since", f"day {c.first_day}", c.first_day)
        for c in view.courses
        if c is not view.course
    ]
    notes: list[str] = []
    alert = False
    for course in view.courses:
        checks, course_alert = _dose_checks(ctx, course)
        notes += checks
        alert = alert or course_alert
    liver = _liver_tests(ctx, view.courses)
    if liver is not None:
        shown.append(liver[0])
        notes.append(liver[1])
    return Fired(
        action=action,
        facts=(*shown, *facts, *_response_facts(ctx, view.response)),
        caveats=(*caveats, *notes, *patient_caveats(ctx)),
        strength="alert" if alert else strength,
    )


def transfusion_caveats(ctx: RuleContext) -> tuple[str, ...]:
    """Absence is not a negative: independence read from an undeclared transfusion stream."""
    if ctx.stream_complete("transfusions"):
        return ()
    return (
        "Transfusions are not declared complete in this record: independence and the transfusion "
        "counts read only the recorded transfusions.",
    )


def _partial_facts(p: PartialResponse, first_dose: int, as_of_day: int) -> tuple[Fact, ...]:
    w = p.window_days
    out = [
        fact(
            f"Platelet transfusions in the {w} days up to the first dose",
            p.transfusions_before,
            first_dose,
        )
    ]
    if p.transfusions_recent is not None:
        out.append(
            fact(f"Platelet transfusions in the last {w} days", p.transfusions_recent, as_of_day)
        )
    if p.median_before is not None:
        out.append(
            fact(
                f"Platelet median, {w} days up to the first dose",
                f"{p.median_before:g} x10^9/L",
                first_dose,
            )
        )
    if p.median_recent is not None:
        out.append(
            fact(f"Platelet median, last {w} days", f"{p.median_recent:g} x10^9/L", as_of_day)
        )
    return tuple(out)


def _response_facts(ctx: RuleContext, response: TpoRaResponse) -> tuple[Fact, ...]:
    """The first dose, the platelet response or partial response, and a response on another
    lineage, reported (it does not change a drug given for platelets)."""
    out = [fact("First TPO-RA dose", f"day {response.first_dose_day}", response.first_dose_day)]
    if response.platelet_response_day is not None:
        out.append(fact("Platelet response (Beyar-Katz)", "met", response.platelet_response_day))
    out += _partial_facts(response.partial, response.first_dose_day, ctx.as_of_day)
    out += [
        fact(
            f"{r.lineage} response (reported; a drug given for platelets follows the platelets)",
            f"{r.criterion}, {r.days_from_first_dose} d from the first dose",
            r.met_day,
        )
        for r in response.lineages
        if r.lineage == "neutrophils" and r.met_day is not None and not r.met_before_first_dose
    ]
    return tuple(out)
