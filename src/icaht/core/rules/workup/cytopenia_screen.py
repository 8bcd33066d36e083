"""Cytopenia screening and work-up: the day 21-28 screen, the late work-up (Jain: > day 90) and
follow-up at the CAR-T centre.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Beyar-Katz et al., Ann Hematol
2022 (seed 002, abstract: the day 21-28 screen).
"""

from __future__ import annotations

import math

from icaht.core.course import day_of
from icaht.core.lineage import Measurement
from icaht.core.marrow import marrow_fact
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import Death
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, fact, lab_fact
from icaht.core.rules.queries import (
    CYTOPENIA_INPUTS,
    CYTOPENIA_SETTINGS_LATE,
    chip_before_car_t_fact,
    cytopenia_picture,
    late_phase,
    medication_facts,
)
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import MYELOSUPPRESSIVE
from icaht.knowledge.late_criteria import DAYS_PER_YEAR
from icaht.knowledge.management_criteria import (
    CYTOPENIA_SCREEN_FIRST_DAY,
    CYTOPENIA_SCREEN_LAST_DAY,
)

_SCREEN_ANALYTES = (Analyte.ANC, Analyte.PLATELETS, Analyte.HB)


@rule(
    id="workup.day21-28-cytopenia-screen",
    title="Day 21-28 cytopenia screen",
    category="workup",
    decision="workup",
    summary="On days 21-28 shows the latest ANC, platelets and Hb since day 21 and transfusion "
    "dependence (none recorded unless the stream is declared complete): consider screening for "
    "severe persistent cytopenia (as BK screened all patients) until all three counts since day "
    "21 are on file, then the results are shown without 'screen now'.",
    citations=[Citation("BK", "Abstract (methods)"), Citation("JAIN", "L23")],
    inputs=["anc", "platelets", "hb", "platelet_transfusion", "rbc_transfusion"],
    settings=[
        "transfusion.platelet_dependence_window_days",
        "transfusion.rbc_dependence_window_days",
        "transfusion.dependence_min_transfusions",
    ],
)
def day21_28_screen(ctx: RuleContext) -> Outcome:
    """BK (abstract, methods): all patients were screened for cytopenia on days 21-28 after
    infusion; JAIN L23: a second ANC drop often comes in week 3 or at the 1-month visit."""
    if not CYTOPENIA_SCREEN_FIRST_DAY <= ctx.as_of_day <= CYTOPENIA_SCREEN_LAST_DAY:
        return None
    facts: list[Fact] = []
    absent: list[str] = []
    for analyte in _SCREEN_ANALYTES:
        values = ctx.window(analyte, CYTOPENIA_SCREEN_FIRST_DAY, ctx.as_of_day)
        name = ANALYTES[analyte].display
        if len(values):
            latest = Measurement(day=float(values.day[-1]), value=float(values.value[-1]))
            facts.append(lab_fact(analyte, latest, f"Latest {name}"))
        else:
            absent.append(f"{name} since day {CYTOPENIA_SCREEN_FIRST_DAY}")
    if not facts:
        return CannotEvaluate(missing=tuple(absent))
    for status in (ctx.platelet_transfusion, ctx.rbc_transfusion):
        label = f"{status.support} ({status.window_days} days)"
        facts.append(fact(label, status.state, status.last_day))
    return Fired(
        action=_screen_action(absent),
        facts=tuple(facts),
        caveats=tuple(f"No {a}." for a in absent),
    )


def _screen_action(absent: list[str]) -> str:
    """ "Screen now" only until the screen's counts are on file (issue 15 finding 13), then its
    results are shown for the judgement of severe persistent cytopenia."""
    if absent:
        return (
            "Consider completing the screen for severe persistent cytopenia now (BK screened all "
            "patients on days 21-28)."
        )
    return (
        "Day 21-28 cytopenia screen on file (facts): consider it when judging severe persistent "
        "cytopenia (BK screened all patients on days 21-28)."
    )


@rule(
    id="workup.late-cytopenia",
    title="Late cytopenia work-up",
    category="workup",
    decision="workup",
    summary="Jain late phase (> day 90) with significant cytopenia (profile section cytopenia or "
    "transfusion dependence): stop marrow-suppressive drugs, look for occult infection, review "
    "the marrow on file (or obtain one: the marrow card), CHIP and LGL.",
    citations=[Citation("JAIN", "L3, L61-65; abstract")],
    inputs=[
        *CYTOPENIA_INPUTS,
        "jain_phase",
        "medication",
        "marrow_biopsy",
        "patient.chip",
        "disease_status",
        "patient.complete_streams",
        "transfusion",
    ],
    settings=[
        *CYTOPENIA_SETTINGS_LATE,
        "marrow.valid_days",
        "gcsf.dependence_window_days",
        "severity.gcsf_dependent_days",
        "severity.persistent_min_values",
        "severity.persistent_window_days",
        "transfusion.dependence_min_transfusions",
    ],
)
def late_cytopenia(ctx: RuleContext) -> Outcome:
    """JAIN L61: the prolonged-cytopenia evaluation remains appropriate late (avoid marrow-
    suppressive medication, work-up for occult infection, marrow aspirate and biopsy for alternate
    causes); L3, L65: therapy-related myeloid neoplasm, relapse, CHIP; L63: LGL. The marrow itself
    is the marrow card's (docs/decisions.md, Marrow: one card listing every reason)."""
    if not late_phase(ctx):
        return None
    cytopenia = cytopenia_picture(ctx)
    if not cytopenia.lineages:
        return cytopenia.unknown()
    on_file = ctx.marrow_on_file()
    marrow = (
        f"review the marrow of day {calendar_day(day_of(on_file.start))} for relapse or a "
        "therapy-related myeloid neoplasm"
        if on_file is not None
        else "obtain a marrow aspirate and biopsy with cytogenetics and NGS for relapse or a "
        "therapy-related myeloid neoplasm (see the marrow card)"
    )
    return Fired(
        action="Consider the late-cytopenia work-up: stop or replace marrow-suppressive drugs "
        f"where possible, look for occult infection, {marrow}, and consider clonal "
        "hematopoiesis (CHIP) and large granular lymphocytosis (LGL) or other immune-mediated "
        "causes.",
        facts=(
            *cytopenia.facts,
            *medication_facts(ctx, MYELOSUPPRESSIVE, "Myelosuppressive drug running"),
            *(marrow_fact(m) for m in ctx.marrows_after(0)[-1:]),
            chip_before_car_t_fact(ctx),
        ),
    )


@rule(
    id="workup.follow-up-car-t-centre",
    title="Follow-up at the CAR-T centre",
    category="workup",
    decision="workup",
    summary="From infusion until workup.follow_up_years years: restaging and follow-up visits at "
    "the CAR-T treatment centre.",
    citations=[Citation("JAIN", "L61")],
    inputs=["death"],
    settings=["workup.follow_up_years"],
)
def follow_up_car_t_centre(ctx: RuleContext) -> Outcome:
    """JAIN L61: "we advocate patients continue restaging visits for at least 2 years from CAR-T
    at the CAR-T treatment center whenever possible"."""
    years = ctx.profile.workup.follow_up_years
    end_day = math.floor(years * DAYS_PER_YEAR)
    if not 0 <= ctx.as_of_day <= end_day or ctx.course.of_kind(Death):
        return None
    return Fired(
        action=f"Consider restaging and follow-up visits at the CAR-T centre for at least {years} "
        f"years from infusion (to about day {end_day}), also once care returns to the referring "
        "team.",
        facts=(fact("Follow-up at the CAR-T centre until", f"day {end_day}"),),
    )
