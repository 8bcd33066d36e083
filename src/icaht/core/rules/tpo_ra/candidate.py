"""The TPO-RA candidate card: the indication, the marrow findings that block a TPO-RA, and the
eltrombopag start dose by ancestry, liver function and age band.

References: those of :mod:`icaht.core.rules.tpo_ra` (seeds 001-004, the labels).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from icaht.core.course import day_of
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import Bleeding, MarrowBiopsy
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact
from icaht.core.rules.queries import STALE_SETTINGS
from icaht.core.rules.tpo_ra.indication import (
    INDICATION_INPUTS,
    INDICATION_SETTINGS,
    tpo_ra_indication,
)
from icaht.core.rules.tpo_ra.patient import (
    chip_fact,
    eltrombopag_cap,
    is_young_child,
    patient_caveats,
)
from icaht.core.timeline import calendar_day
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.tpo_ra_criteria import ELTROMBOPAG_MIN_AGE_YEARS

_MarrowField = Callable[[MarrowBiopsy], bool | None]
#: The marrow findings that block a TPO-RA (docs/decisions.md; BAUR L252-255; JAIN L63, L73).
_BLOCKING_FINDINGS: tuple[tuple[str, _MarrowField], ...] = (
    ("MDS", lambda m: m.mds),
    ("malignant infiltration", lambda m: m.malignant_infiltration),
    ("fibrosis", lambda m: m.fibrosis),
    ("dysplasia", lambda m: m.dysplasia),
)


@dataclass(frozen=True, slots=True)
class _MarrowReport:
    """One blocking finding as the latest post-infusion marrow that states it reports it (an
    unreported field on a later marrow does not clear an earlier finding)."""

    finding: str
    value: bool | None
    day: int | None

    def fact(self) -> Fact:
        shown = {True: "present", False: "absent", None: "not stated"}[self.value]
        return fact(f"Marrow: {self.finding}", shown, self.day)


def _marrow_reports(ctx: RuleContext) -> tuple[_MarrowReport, ...]:
    marrows = ctx.marrows_after(0)
    out = []
    for finding, read in _BLOCKING_FINDINGS:
        stated = next((m for m in reversed(marrows) if read(m) is not None), None)
        out.append(
            _MarrowReport(finding, None, None)
            if stated is None
            else _MarrowReport(finding, read(stated), calendar_day(day_of(stated.start)))
        )
    return tuple(out)


def _bleeding(ctx: RuleContext) -> Bleeding | None:
    """The latest bleeding recorded after infusion."""
    after = [b for b in ctx.course.of_kind(Bleeding) if day_of(b.start) >= 0]
    return after[-1] if after else None


def _reduced_start_reasons(ctx: RuleContext) -> list[str]:
    facts_ = ctx.course.facts
    return [
        name
        for name, present in (
            ("East/Southeast Asian ancestry", facts_.east_southeast_asian_ancestry),
            ("hepatic impairment", facts_.hepatic_impairment),
        )
        if present
    ]


def _start_caveats(ctx: RuleContext, reasons: list[str]) -> tuple[str, ...]:
    """What the start dose could not take into account: an unknown ancestry or liver function,
    an unknown age (adult doses shown)."""
    facts_ = ctx.course.facts
    unknown = None in (facts_.east_southeast_asian_ancestry, facts_.hepatic_impairment)
    out = []
    if unknown and len(reasons) < 2:
        out.append(
            "Ancestry or hepatic impairment not recorded: either means the reduced eltrombopag "
            "start."
        )
    if facts_.age_years is None:
        out.append("Age not recorded: the doses shown are adult doses.")
    return tuple(out)


def _young_child_start(ctx: RuleContext, reasons: list[str]) -> tuple[str, tuple[str, ...]]:
    """Label band 1-5 years: 25 mg; the label's reduced start is for 6 years and over."""
    dose = ctx.profile.tpo_ra.eltrombopag_child_young_start_mg
    caveats = (
        (
            f"{' and '.join(reasons).capitalize()} recorded: the label's reduced start is given "
            "from 6 years; for a younger child, per paediatric protocol.",
        )
        if reasons
        else ()
    )
    return f"eltrombopag {dose:g} mg daily (label, children 1-5 years)", caveats


def _eltrombopag_start(ctx: RuleContext) -> tuple[str | None, tuple[str, ...]]:
    """The eltrombopag start (None under 1 year: no dose) and its caveats. Label: 25 mg for
    East/Southeast Asian ancestry or hepatic impairment, 12.5 mg for both (issue 15, finding
    13); children 1-5 years 25 mg, 6 years and over 50 mg (label bands); adults 75 mg (JAIN
    L57). Never an adult dose for a child."""
    settings = ctx.profile.tpo_ra
    age = ctx.course.facts.age_years
    if ctx.is_child() and age is not None and age < ELTROMBOPAG_MIN_AGE_YEARS:
        return None, ()
    reasons = _reduced_start_reasons(ctx)
    if is_young_child(ctx):
        return _young_child_start(ctx, reasons)
    if reasons:
        dose = (
            settings.eltrombopag_reduced_both_start_mg
            if len(reasons) == 2
            else settings.eltrombopag_reduced_start_mg
        )
        why = f"reduced start for {' and '.join(reasons)}, per label"
    else:
        dose, source = (
            (settings.eltrombopag_child_older_start_mg, "label, children from 6 years")
            if ctx.is_child()
            else (settings.eltrombopag_start_mg, "JAIN")
        )
        why = (
            f"{source}; {settings.eltrombopag_reduced_start_mg:g} mg for East/Southeast Asian "
            f"ancestry or hepatic impairment, {settings.eltrombopag_reduced_both_start_mg:g} mg "
            "for both, per label"
        )
    return f"eltrombopag {dose:g} mg daily ({why})", _start_caveats(ctx, reasons)


def _candidate_action(ctx: RuleContext, start: str | None) -> str:
    settings = ctx.profile.tpo_ra
    romiplostim = (
        f"romiplostim {settings.romiplostim_start_ug_kg:g} ug/kg weekly, "
        f"+{settings.romiplostim_step_ug_kg:g} ug/kg per week while platelets are < "
        f"{settings.platelet_target_10e9_l:g} x10^9/L, maximum "
        f"{settings.romiplostim_max_ug_kg:g} ug/kg"
    )
    if start is None:
        return (
            "Consider a TPO-RA only per paediatric protocol: no dose is shown under 1 year (the "
            "eltrombopag label starts at 1 year)."
        )
    return (
        f"Consider a TPO-RA: {start}, titrated toward {eltrombopag_cap(ctx):g} mg/day; or "
        f"{romiplostim}."
    )


def _blocked(ctx: RuleContext, reports: tuple[_MarrowReport, ...]) -> tuple[str, ...]:
    """Why no TPO-RA is suggested: a blocking marrow finding, or no marrow on file."""
    found = tuple(
        f"no TPO-RA: {r.finding} on the marrow of day {r.day}" for r in reports if r.value
    )
    if found:
        return found
    if ctx.marrow_on_file() is None:
        return (
            f"a marrow on file (none in the last {ctx.profile.marrow.valid_days} days: the marrow "
            "card asks for one before a TPO-RA)",
        )
    return ()


@rule(
    id="tpo-ra.candidate",
    title="TPO-RA candidate",
    category="TPO-RA",
    decision="tpo-ra",
    summary="After tpo_ra.earliest_day, platelet-transfusion dependent or platelets < 20 x10^9/L "
    "on consecutive values for tpo_ra.indication_persistence_days, not on a TPO-RA, a marrow on "
    "file and no MDS, malignant infiltration, fibrosis or dysplasia on the marrow: consider "
    "eltrombopag (label start by ancestry, liver and age) or romiplostim (weekly steps). CHIP "
    "and childhood are caveats; recorded bleeding raises the priority.",
    citations=[
        Citation("JAIN", "L57, L65, L73"),
        Citation("BK", "abstract"),
        Citation("BAUR", "L202-206, L252-255"),
        Citation("LABEL-ELTROMBOPAG", "dosage: reduced start, paediatric bands"),
        Citation("LABEL-ROMIPLOSTIM", "dosage: weekly titration"),
    ],
    inputs=[
        *INDICATION_INPUTS,
        "marrow_biopsy",
        "bleeding",
        "chip",
        "patient.chip",
        "patient.age_years",
        "patient.east_southeast_asian_ancestry",
        "patient.hepatic_impairment",
        "anc",
        "disease_status",
        "hb",
        "jain_phase",
        "patient.complete_streams",
        "transfusion",
    ],
    settings=[
        *INDICATION_SETTINGS,
        "marrow.valid_days",
        "patient_groups.child_max_age_years",
        "tpo_ra.eltrombopag_start_mg",
        "tpo_ra.eltrombopag_reduced_start_mg",
        "tpo_ra.eltrombopag_reduced_both_start_mg",
        "tpo_ra.eltrombopag_child_young_start_mg",
        "tpo_ra.eltrombopag_child_older_start_mg",
        "tpo_ra.eltrombopag_max_mg_day",
        "tpo_ra.romiplostim_start_ug_kg",
        "tpo_ra.romiplostim_step_ug_kg",
        "tpo_ra.romiplostim_max_ug_kg",
        "tpo_ra.platelet_target_10e9_l",
        "cytopenia.anc_10e9_l",
        "cytopenia.hb_g_dl",
        "cytopenia.platelets_10e9_l",
        *STALE_SETTINGS,  # early: once tpo_ra.earliest_day is set before day 30
        "gcsf.dependence_window_days",
        "severity.gcsf_dependent_days",
        "severity.persistent_min_values",
        "severity.persistent_window_days",
        "transfusion.rbc_dependence_window_days",
        "tpo_ra.partial_response_window_days",
    ],
)
def candidate(ctx: RuleContext) -> Outcome:
    indication = tpo_ra_indication(ctx)
    if indication is None:
        return None
    reports = _marrow_reports(ctx)
    marrow_facts = tuple(r.fact() for r in reports)
    blocked = _blocked(ctx, reports)
    if blocked:
        return CannotEvaluate(missing=blocked, facts=(*indication, *marrow_facts))
    start, start_caveats = _eltrombopag_start(ctx)
    unstated = [r.finding for r in reports if r.value is None]
    caveats = [
        "No other cause of the thrombocytopenia found (JAIN: no clear etiology other than CAR-T): "
        "confirm.",
        *start_caveats,
        *patient_caveats(ctx),
    ]
    if unstated:
        caveats.append(f"The marrow report does not state {', '.join(unstated)}: confirm.")
    bleeding = _bleeding(ctx)
    action = _candidate_action(ctx, start)
    facts = [*indication, *marrow_facts]
    if bleeding is None:
        caveats.insert(
            1,
            "JAIN reserves TPO-RAs for patients at high risk of bleeding: counts often recover "
            "without intervention.",
        )
    else:
        action = f"Bleeding recorded (grade {bleeding.grade}): {action[0].lower()}{action[1:]}"
        facts.append(event_fact("Bleeding", f"grade {bleeding.grade}", day_of(bleeding.start)))
    chip = chip_fact(ctx)
    if chip is not None:
        facts.append(chip)
    return Fired(action=action, facts=tuple(facts), caveats=tuple(caveats))
