"""The TPO-RA response cards: responding, taper on response, stop without response.

References: those of :mod:`icaht.core.rules.tpo_ra` (seeds 001-004, the labels).
"""

from __future__ import annotations

from icaht.core.drug_courses import ELTROMBOPAG, ROMIPLOSTIM, DrugCourse
from icaht.core.outcome import Outcome
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, fact, lab_fact
from icaht.core.rules.tpo_ra.card import COURSE_CITATIONS, course_card, transfusion_caveats
from icaht.core.rules.tpo_ra.state import COURSE_INPUTS, STATE_SETTINGS, showing
from icaht.core.tpo_ra_response import TpoRaResponse
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation


def _drug_names(courses: tuple[DrugCourse, ...]) -> str:
    return " and ".join(c.drug for c in courses)


def _taper_rule_text(ctx: RuleContext) -> str:
    settings = ctx.profile.tpo_ra
    return (
        f"platelets >= {settings.taper_platelets_10e9_l:g} x10^9/L on values spanning "
        f"{settings.taper_span_days} days without platelet transfusion"
    )


def _response_criteria(response: TpoRaResponse) -> str:
    """The response criteria met, in words. The counts behind them are the card's facts: the
    advice changes when a criterion is met or lost, not when a count moves."""
    partial = response.partial
    met = []
    if response.platelet_response_day is not None:
        met.append(f"platelet response (Beyar-Katz) since day {response.platelet_response_day}")
    if partial.by_transfusions:
        met.append(
            f"platelet transfusions in the last {partial.window_days} days at most half of "
            "those before the first dose"
        )
    if partial.by_platelets:
        met.append("platelet median at least doubled from before the first dose")
    return "; ".join(met)


@rule(
    id="tpo-ra.responding",
    title="TPO-RA: responding",
    category="TPO-RA",
    decision="tpo-ra",
    summary="On a TPO-RA with the platelet response of Beyar-Katz or a partial response "
    "(platelet transfusions in the last 14 days at most half of those before the first dose, or "
    "the platelet median at least doubled), before the taper criterion: consider continuing the "
    "dose (eltrombopag is not increased while responding; romiplostim keeps its weekly steps "
    "below the target on the titration card).",
    citations=[
        Citation("BK", "abstract (response)"),
        Citation("SCAL", "L22 (dose kept at 50 mg/day during the response)"),
        Citation("JAIN", "L41, L57"),
        *COURSE_CITATIONS,
    ],
    inputs=[
        *COURSE_INPUTS,
        "jain_phase",
        "patient.complete_streams",
        "transfusion",
    ],
    settings=STATE_SETTINGS,
)
def responding(ctx: RuleContext) -> Outcome:
    view = showing(ctx, "tpo-ra.responding")
    if view is None:
        return None
    dose = (
        "the current dose"
        if view.step is None or view.dose is None
        else f"{view.dose:g} {view.step.normalised_unit}"
    )
    caveats = list(transfusion_caveats(ctx))
    below = view.platelets is not None and view.platelets.value < view.target
    if view.course.drug == ELTROMBOPAG and below:
        caveats.insert(
            0,
            f"Platelets are below {view.target:g} x10^9/L: the label steps up after 2 weeks; "
            "with a response under way SCAL kept 50 mg/day and JAIN case 1 kept 75 mg.",
        )
    platelets = () if view.platelets is None else (lab_fact(Analyte.PLATELETS, view.platelets),)
    return course_card(
        ctx,
        view,
        action=f"Consider continuing {view.course.drug} at {dose}: responding "
        f"({_response_criteria(view.response)}); taper once {_taper_rule_text(ctx)}.",
        facts=platelets,
        caveats=tuple(caveats),
    )


@rule(
    id="tpo-ra.stop-on-response",
    title="TPO-RA: taper",
    category="TPO-RA",
    decision="tpo-ra",
    summary="On a TPO-RA with platelets >= tpo_ra.taper_platelets_10e9_l on values spanning "
    "tpo_ra.taper_span_days after the first dose, without platelet transfusion: consider "
    "tapering and stopping. A response on another lineage does not taper a drug given for "
    "platelets.",
    citations=[
        Citation("BK", "abstract (taper once the response is met)"),
        Citation("JAIN", "L57"),
        Citation("BAUR", "L202-205"),
        Citation("LABEL-ROMIPLOSTIM", "monitoring after discontinuation"),
        *COURSE_CITATIONS,
    ],
    inputs=[*COURSE_INPUTS, "jain_phase", "transfusion"],
    settings=STATE_SETTINGS,
)
def stop_on_response(ctx: RuleContext) -> Outcome:
    view = showing(ctx, "tpo-ra.stop-on-response")
    if view is None or view.taper_from is None:
        return None
    caveats = (
        ("Monitor counts for at least 2 weeks after stopping romiplostim (label).",)
        if any(c.drug == ROMIPLOSTIM for c in view.courses)
        else ()
    )
    platelets = () if view.platelets is None else (lab_fact(Analyte.PLATELETS, view.platelets),)
    return course_card(
        ctx,
        view,
        action=f"Consider tapering and then stopping {_drug_names(view.courses)}: "
        f"{_taper_rule_text(ctx)} (BK tapered once the response was met; JAIN stops once "
        "platelets recover; BAUR kept > 50 x10^9/L).",
        facts=(
            fact(
                f"Platelets >= {ctx.profile.tpo_ra.taper_platelets_10e9_l:g} x10^9/L since",
                f"day {view.taper_from}",
                view.taper_from,
            ),
            *platelets,
        ),
        caveats=caveats,
    )


@rule(
    id="tpo-ra.stop-without-response",
    title="TPO-RA: no response",
    category="TPO-RA",
    decision="tpo-ra",
    summary="On a TPO-RA for tpo_ra.no_response_weeks weeks with neither the platelet response "
    "of Beyar-Katz nor a partial response: consider stopping (JAIN: 4-6 weeks); next options are "
    "a stem cell boost or an HCT assessment. A response on another lineage is reported.",
    citations=[
        Citation("JAIN", "L57, L69"),
        Citation("BK", "abstract (response definition)"),
        *COURSE_CITATIONS,
    ],
    inputs=[*COURSE_INPUTS, "jain_phase", "transfusion"],
    settings=STATE_SETTINGS,
)
def stop_without_response(ctx: RuleContext) -> Outcome:
    view = showing(ctx, "tpo-ra.stop-without-response")
    if view is None:
        return None
    response = view.response
    weeks = ctx.profile.tpo_ra.no_response_weeks
    elapsed = ctx.as_of_day - response.first_dose_day
    return course_card(
        ctx,
        view,
        action=f"Consider stopping {_drug_names(view.courses)}: neither a response nor a partial "
        f"response of the platelets after {weeks} weeks (JAIN: stop if no response in 4 to 6 "
        "weeks). If the cytopenia persists, the next options to consider are a stem cell boost "
        "(if cells are stored) or an assessment for allogeneic HCT.",
        facts=(
            fact("Days since the first dose", elapsed, ctx.as_of_day),
            fact(
                "Transfusion independent from",
                "not reached"
                if response.transfusion_independent_day is None
                else f"day {response.transfusion_independent_day}",
                response.transfusion_independent_day,
            ),
        ),
        caveats=tuple(response.caveats),
    )
