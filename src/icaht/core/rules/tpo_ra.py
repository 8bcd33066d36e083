"""Thrombopoietin-receptor agonists (TPO-RA): the candidate, then one course as one state machine
(docs/decisions.md, "TPO-RA candidate", "A TPO-RA course is one state machine", "TPO-RA
response").

Candidate: after ``tpo_ra.earliest_day``, platelet-transfusion dependence or platelets < 20 x10^9/L
on consecutive values, held for ``tpo_ra.indication_persistence_days``; blocked by MDS, malignant
infiltration, fibrosis or dysplasia on the marrow, or by no marrow on file (the marrow card then
asks for one). Known CHIP and childhood are caveats (JAIN L65, L73); recorded bleeding raises the
priority (JAIN L57: for patients at high risk of bleeding); eltrombopag doses follow the label by
ancestry, liver function and age band.

A course on a TPO-RA shows exactly one card a day, its state, chosen in this order: the ALT review
(eltrombopag, ALT >= 3x ULN), a label dose reduction or hold for high platelets, taper (platelets
>= ``tpo_ra.taper_platelets_10e9_l`` on values spanning ``tpo_ra.taper_span_days`` without platelet
transfusion), responding (the platelet response of Beyar-Katz or a partial response), no response
(after ``tpo_ra.no_response_weeks``), else titrating (label dose steps). "Increase" and "stop or
taper" therefore never show together, and a response on another lineage is reported without
changing a drug given for platelets. Liver tests due, doses above the maximum and the eltrombopag
choline salt are facts, caveats and strength of the card of the day. The response is tracked in
:mod:`icaht.core.treatment`.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Beyar-Katz et al., Ann Hematol
2022 (seed 002, abstract); Scaldaferri et al., EJHP 2023 (seed 003; ``L<n>``); Baur et al., J
Immunother Cancer 2021 (seed 004; ``L<n>``); eltrombopag and romiplostim labels
(docs/evidence.md section 7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from icaht.core.course import day_of
from icaht.core.drug_courses import (
    ELTROMBOPAG,
    ROMIPLOSTIM,
    DoseStep,
    DrugCourse,
    current_step,
    dose_unit_spelling,
    is_eltrombopag_choline,
)
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome, Strength
from icaht.core.record import Bleeding, Chip, MarrowBiopsy, Transfusion
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.rules.queries import STALE_SETTINGS
from icaht.core.timeline import calendar_day
from icaht.core.tpo_ra_response import PartialResponse, TpoRaResponse
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.tpo_ra_criteria import (
    ALT_PERSISTENT_WEEKS,
    ALT_STOP_ULN_MULTIPLE,
    ELTROMBOPAG_CHILD_OLDER_FROM_YEARS,
    ELTROMBOPAG_CHOLINE_MAX_MG_DAY,
    ELTROMBOPAG_CHOLINE_MG,
    ELTROMBOPAG_LABEL_MAX_MG_DAY,
    ELTROMBOPAG_MAX_MG_DAY,
    ELTROMBOPAG_MIN_AGE_YEARS,
    ELTROMBOPAG_OLAMINE_MG,
    ELTROMBOPAG_REDUCE_FROM_10E9_PER_L,
    ELTROMBOPAG_REDUCE_STEP_MG,
    ELTROMBOPAG_RESTART_BELOW_10E9_PER_L,
    ELTROMBOPAG_STOP_ABOVE_10E9_PER_L,
    LOW_PLATELETS_10E9_PER_L,
    ROMIPLOSTIM_MAX_UG_KG,
    ROMIPLOSTIM_NO_RESPONSE_WEEKS_AT_MAX,
    ROMIPLOSTIM_REDUCE_CONSECUTIVE_WEEKS,
    ROMIPLOSTIM_REDUCE_STEP_UG_KG,
    ROMIPLOSTIM_THRESHOLDS_10E9_PER_L,
)

_WEEK_DAYS = 7
_TRANSFUSION_WINDOWS = (
    "transfusion.platelet_dependence_window_days",
    "transfusion.rbc_dependence_window_days",
)
_INDICATION_SETTINGS = (
    "tpo_ra.earliest_day",
    "tpo_ra.low_platelet_consecutive_values",
    "tpo_ra.indication_persistence_days",
    "transfusion.platelet_dependence_window_days",
    "transfusion.dependence_min_transfusions",
)
_INDICATION_INPUTS = (
    "platelets",
    "platelet_transfusion",
    "medication",
    "treatments",
    "tpo_ra_response",
)
#: What every course card reads besides its own inputs (the decorations of :func:`_card`).
_COURSE_INPUTS = (
    "medication",
    "treatments",
    "tpo_ra_response",
    "platelets",
    "alt",
    "patient.age_years",
    "patient.chip",
    "chip",
    "patient.weight_kg",
)
_COURSE_SETTINGS = (
    "tpo_ra.liver_test_interval_days",
    "tpo_ra.eltrombopag_max_mg_day",
    "patient_groups.child_max_age_years",
)
_RESPONSE_SETTINGS = (
    *_TRANSFUSION_WINDOWS,
    "tpo_ra.partial_response_window_days",
    "tpo_ra.taper_platelets_10e9_l",
    "tpo_ra.taper_span_days",
)
#: Every setting the course state machine (:func:`_course_view`) reads: each TPO-RA course card
#: is one of its states, so each reads them all.
_STATE_SETTINGS: tuple[str, ...] = (
    *_COURSE_SETTINGS,
    *_RESPONSE_SETTINGS,
    *STALE_SETTINGS,
    "tpo_ra.no_response_weeks",
    "tpo_ra.platelet_target_10e9_l",
    "tpo_ra.romiplostim_label",
)
_COURSE_CITATIONS = (
    Citation("LABEL-ELTROMBOPAG", "boxed warning: hepatotoxicity monitoring; eltrombopag choline"),
    Citation("LABEL-ROMIPLOSTIM", "dosage (maximum 10 ug/kg)"),
)
_CHOLINE_EQUIVALENCE = (
    f"Eltrombopag choline and olamine doses differ: {ELTROMBOPAG_CHOLINE_MG:g} mg choline ~ "
    f"{ELTROMBOPAG_OLAMINE_MG:g} mg olamine; doses here are read as recorded."
)


# -- shared queries -------------------------------------------------------------------------------
def _daily_platelets(ctx: RuleContext) -> list[Measurement]:
    """The last platelet value of each calendar day, in time order."""
    series = ctx.series(Analyte.PLATELETS)
    if not len(series):
        return []
    calendar = np.floor(series.day)
    last_of_day = np.flatnonzero(np.append(calendar[1:] != calendar[:-1], True))
    return [
        Measurement(day=float(series.day[i]), value=float(series.value[i])) for i in last_of_day
    ]


def _low_platelet_run(ctx: RuleContext) -> list[Measurement]:
    """The latest daily platelet values, back to the last one >= 20 x10^9/L (exclusive)."""
    daily = _daily_platelets(ctx)
    run: list[Measurement] = []
    for m in reversed(daily):
        if m.value >= LOW_PLATELETS_10E9_PER_L:
            break
        run.insert(0, m)
    return run


def _platelet_indication(ctx: RuleContext) -> tuple[int, tuple[Fact, ...]] | None:
    """The day the platelet indication began and its facts: platelet-transfusion dependence
    (:mod:`icaht.core.severity`, from the day it began) and/or platelets < 20 x10^9/L on the last
    ``tpo_ra.low_platelet_consecutive_values`` values or more (from the first of the run)."""
    onsets: list[int] = []
    facts: list[Fact] = []
    dependent = next((s for s in ctx.severe_lineages if s.lineage == "platelets"), None)
    if dependent is not None:
        support = ctx.platelet_transfusion
        onsets.append(dependent.since_day)
        facts += [
            dependent.fact(),
            fact(
                f"Platelet transfusions in the last {support.window_days} days",
                support.count_in_window,
                support.last_day,
            ),
        ]
    run = _low_platelet_run(ctx)
    if len(run) >= ctx.profile.tpo_ra.low_platelet_consecutive_values:
        onsets.append(calendar_day(run[0].day))
        facts += [lab_fact(Analyte.PLATELETS, m) for m in run[-3:]]
    return (min(onsets), tuple(facts)) if onsets else None


def tpo_ra_indication(ctx: RuleContext) -> tuple[Fact, ...] | None:
    """The TPO-RA platelet indication of docs/decisions.md as facts, or None when it is not
    met: after ``tpo_ra.earliest_day``, not on a TPO-RA nor after one tried without a Beyar-Katz
    response (JAIN L57, L69: stop and consider a boost or HCT instead), and platelet-transfusion
    dependent or platelets < 20 x10^9/L on the last ``tpo_ra.low_platelet_consecutive_values``
    values (different days), the indication holding for ``tpo_ra.indication_persistence_days``
    (project default)."""
    settings = ctx.profile.tpo_ra
    tried = ctx.treatments.tpo_ra_response
    failed = tried is not None and not tried.response
    if ctx.as_of_day <= settings.earliest_day or ctx.treatments.active_tpo_ra() or failed:
        return None
    indication = _platelet_indication(ctx)
    if indication is None:
        return None
    since, facts = indication
    if ctx.as_of_day - since < settings.indication_persistence_days:
        return None
    return (
        fact("Day after infusion", ctx.as_of_day, ctx.as_of_day),
        *facts,
        fact("Platelet indication held since", f"day {since}", since),
    )


# -- patient and marrow ---------------------------------------------------------------------------
def _patient_caveats(ctx: RuleContext) -> tuple[str, ...]:
    """Caveats every TPO-RA card carries: a child (JAIN L73) and known CHIP (JAIN L65)."""
    out: list[str] = []
    if ctx.is_child():
        out.append(
            "Child: JAIN notes that thrombopoietin mimetics might trigger myeloid clonal "
            "evolution, and that prolonged growth factors are often deferred in children (most "
            "are BMT candidates after CAR-T)."
        )
    chip = _chip_fact(ctx)
    if chip is not None:
        out.append(
            f"CHIP known ({chip.value}): JAIN has seen MDS emerge within 90 days after CAR-T in "
            "patients with preceding CHIP; weigh a TPO-RA with this risk."
        )
    return tuple(out)


def _chip_fact(ctx: RuleContext) -> Fact | None:
    """Known CHIP: a ``chip`` event known by the as-of day (the course is cut there, so never
    before its day), else the patient fact (CHIP known before CAR-T)."""
    events = ctx.course.of_kind(Chip)
    if events:
        latest = events[-1]
        detail = " ".join(
            part
            for part in (
                latest.gene,
                None if latest.vaf_pct is None else f"VAF {latest.vaf_pct:g}%",
            )
            if part
        )
        return event_fact("CHIP", detail or "known", day_of(latest.start))
    if ctx.course.facts.chip:
        return fact("CHIP", "known before CAR-T")
    return None


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


# -- eltrombopag dose by patient ------------------------------------------------------------------
def _is_young_child(ctx: RuleContext) -> bool:
    """A child in the label's 1-5 year band (or younger)."""
    age = ctx.course.facts.age_years
    return bool(ctx.is_child()) and age is not None and age < ELTROMBOPAG_CHILD_OLDER_FROM_YEARS


def _eltrombopag_cap(ctx: RuleContext) -> float:
    """The titration cap: JAIN/BK 150 mg/day for adults (setting); the label maximum of 75 mg/day
    for a child (never an adult dose for a child)."""
    cap = ctx.profile.tpo_ra.eltrombopag_max_mg_day
    return min(cap, ELTROMBOPAG_LABEL_MAX_MG_DAY) if ctx.is_child() else cap


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
    if _is_young_child(ctx):
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


# -- candidacy ------------------------------------------------------------------------------------
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
        f"Consider a TPO-RA: {start}, titrated toward {_eltrombopag_cap(ctx):g} mg/day; or "
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
        *_INDICATION_INPUTS,
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
        *_INDICATION_SETTINGS,
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
        "data_quality.stale_days_late",
        "data_quality.stale_days_prolonged",
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
        *_patient_caveats(ctx),
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
    chip = _chip_fact(ctx)
    if chip is not None:
        facts.append(chip)
    return Fired(action=action, facts=tuple(facts), caveats=tuple(caveats))


# -- the course: one state a day ------------------------------------------------------------------
CourseState = Literal[
    "liver review", "label adjustment", "taper", "responding", "no response", "titrating"
]


@dataclass(frozen=True, slots=True)
class _CourseView:
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


def _course_view(ctx: RuleContext) -> _CourseView | None:
    """The course and its one state (order in the module docstring), or None off a TPO-RA."""
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
    if any(c.drug == ELTROMBOPAG for c in active) and _alt_high(ctx) is not None:
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
    return _CourseView(
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


def _alt_high(ctx: RuleContext) -> tuple[Measurement, float] | None:
    """The latest ALT and its ULN when it is >= 3x ULN (label boxed warning)."""
    series = ctx.series(Analyte.ALT)
    if not len(series):
        return None
    latest = Measurement(day=float(series.day[-1]), value=float(series.value[-1]))
    uln = float(series.uln[-1])
    return (latest, uln) if latest.value >= ALT_STOP_ULN_MULTIPLE * uln else None


# -- label dose steps -----------------------------------------------------------------------------
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


def _eltrombopag_step(ctx: RuleContext, view: _CourseView, dose: float, platelets: float) -> str:
    """The label step: +step mg after >= ``tpo_ra.eltrombopag_step_after_days`` at a dose with
    platelets below the target, up to the cap; else keep the dose (and say when the step is due)."""
    settings = ctx.profile.tpo_ra
    target = settings.platelet_target_10e9_l
    assert view.step is not None
    due = _same_dose_since(view.course, view.step) + settings.eltrombopag_step_after_days
    cap = _eltrombopag_cap(ctx)
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


# -- what every course card carries ---------------------------------------------------------------
def _dose_fact(label: str, step: DoseStep) -> Fact:
    if step.normalised_dose is None:
        shown = "not derivable" if step.dose is None else f"{step.dose:g} {step.dose_unit or ''}"
    else:
        shown = f"{step.normalised_dose:.3g} {step.normalised_unit}"
    return fact(label, shown.strip(), step.start_day)


def _no_normalised_dose(step: DoseStep, weight_kg: float | None) -> CannotEvaluate:
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


def _card(
    ctx: RuleContext,
    view: _CourseView,
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
        caveats=(*caveats, *notes, *_patient_caveats(ctx)),
        strength="alert" if alert else strength,
    )


def _transfusion_caveats(ctx: RuleContext) -> tuple[str, ...]:
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


def _showing(ctx: RuleContext, rule_id: str) -> _CourseView | None:
    """The course view when ``rule_id`` is the card of the day, else None."""
    view = _course_view(ctx)
    return view if view is not None and view.card == rule_id else None


# -- the course rules: exactly one shows the state of the day -------------------------------------
def _titration(ctx: RuleContext, drug: str) -> Outcome:
    view = _showing(ctx, f"tpo-ra.{drug}-titration")
    if view is None or view.step is None:
        return None
    if view.dose is None:
        return _no_normalised_dose(view.step, ctx.course.facts.weight_kg)
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
            *_transfusion_caveats(ctx),
        )
    return _card(ctx, view, action, facts, caveats)


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
        *_COURSE_CITATIONS,
    ],
    inputs=[*_COURSE_INPUTS, "jain_phase", "patient.complete_streams", "transfusion"],
    settings=[
        *_STATE_SETTINGS,
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
        *_COURSE_CITATIONS,
    ],
    inputs=[*_COURSE_INPUTS, "jain_phase", "transfusion"],
    settings=[
        *_STATE_SETTINGS,
        "tpo_ra.eltrombopag_step_mg",
        "tpo_ra.eltrombopag_step_after_days",
    ],
)
def eltrombopag_titration(ctx: RuleContext) -> Outcome:
    return _titration(ctx, ELTROMBOPAG)


def _alt_uln_missing(ctx: RuleContext) -> CannotEvaluate | None:
    """On eltrombopag with a latest ALT without its ULN: the ALT rise cannot be judged."""
    series = ctx.series(Analyte.ALT)
    if not len(series) or not np.isnan(series.uln[-1]):
        return None
    latest = Measurement(day=float(series.day[-1]), value=float(series.value[-1]))
    return CannotEvaluate(
        missing=("ALT upper limit of normal",), facts=(lab_fact(Analyte.ALT, latest),)
    )


def _alt_run_start(ctx: RuleContext) -> int | None:
    """First day of the current run of ALT values >= 3x their ULN (values without a ULN end it)."""
    series = ctx.series(Analyte.ALT)
    high = series.value >= ALT_STOP_ULN_MULTIPLE * series.uln  # NaN ULN compares False
    below = np.flatnonzero(~high)
    first = 0 if not below.shape[0] else int(below[-1]) + 1
    return calendar_day(float(series.day[first])) if first < len(series) else None


@rule(
    id="tpo-ra.eltrombopag-alt-rise",
    title="Eltrombopag: ALT >= 3x ULN",
    category="TPO-RA",
    decision="tpo-ra",
    strength="alert",
    summary="On eltrombopag with the latest ALT >= 3x ULN: the card of the day is the liver "
    "review (no dose increase): consider holding or stopping per label if progressive, "
    "persistent >= 4 weeks, or with raised direct bilirubin or symptoms.",
    citations=[Citation("LABEL-ELTROMBOPAG", "boxed warning: hepatotoxicity"), *_COURSE_CITATIONS],
    inputs=[*_COURSE_INPUTS, "jain_phase", "transfusion"],
    settings=_STATE_SETTINGS,
)
def eltrombopag_alt_rise(ctx: RuleContext) -> Outcome:
    view = _course_view(ctx)
    if view is None or not any(c.drug == ELTROMBOPAG for c in view.courses):
        return None
    high = _alt_high(ctx)
    if view.card != "tpo-ra.eltrombopag-alt-rise" or high is None:
        return _alt_uln_missing(ctx)
    latest, uln = high
    since = _alt_run_start(ctx)
    return _card(
        ctx,
        view,
        action=f"Consider holding or stopping eltrombopag per label if the ALT rise is "
        f"progressive, persistent for >= {ALT_PERSISTENT_WEEKS} weeks, or comes with raised "
        "direct bilirubin, symptoms of liver injury or hepatic decompensation; confirm within "
        "3-5 days and monitor weekly. No dose increase meanwhile.",
        facts=(
            lab_fact(Analyte.ALT, latest),
            fact("ALT / ULN", f"{latest.value / uln:.1f}x (ULN {uln:g} U/L)"),
            fact("ALT >= 3x ULN since", since, since),
        ),
        caveats=("With an abnormal baseline ALT the label uses >= 3x baseline instead.",),
    )


def _drug_names(courses: tuple[DrugCourse, ...]) -> str:
    return " and ".join(c.drug for c in courses)


def _taper_rule_text(ctx: RuleContext) -> str:
    settings = ctx.profile.tpo_ra
    return (
        f"platelets >= {settings.taper_platelets_10e9_l:g} x10^9/L on values spanning "
        f"{settings.taper_span_days} days without platelet transfusion"
    )


def _response_criteria(response: TpoRaResponse) -> str:
    """The response criteria met, in words."""
    partial = response.partial
    met = []
    if response.platelet_response_day is not None:
        met.append(f"platelet response (Beyar-Katz) since day {response.platelet_response_day}")
    if partial.by_transfusions:
        met.append(
            f"{partial.transfusions_recent} platelet transfusions in the last "
            f"{partial.window_days} days vs {partial.transfusions_before} before the first dose"
        )
    if partial.by_platelets:
        met.append(
            f"platelet median {partial.median_recent:g} vs {partial.median_before:g} x10^9/L "
            "before the first dose (at least doubled)"
        )
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
        *_COURSE_CITATIONS,
    ],
    inputs=[
        *_COURSE_INPUTS,
        "platelet_transfusion",
        "jain_phase",
        "patient.complete_streams",
        "transfusion",
    ],
    settings=_STATE_SETTINGS,
)
def responding(ctx: RuleContext) -> Outcome:
    view = _showing(ctx, "tpo-ra.responding")
    if view is None:
        return None
    dose = (
        "the current dose"
        if view.step is None or view.dose is None
        else f"{view.dose:g} {view.step.normalised_unit}"
    )
    caveats = list(_transfusion_caveats(ctx))
    below = view.platelets is not None and view.platelets.value < view.target
    if view.course.drug == ELTROMBOPAG and below:
        caveats.insert(
            0,
            f"Platelets are below {view.target:g} x10^9/L: the label steps up after 2 weeks; "
            "with a response under way SCAL kept 50 mg/day and JAIN case 1 kept 75 mg.",
        )
    platelets = () if view.platelets is None else (lab_fact(Analyte.PLATELETS, view.platelets),)
    return _card(
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
        *_COURSE_CITATIONS,
    ],
    inputs=[*_COURSE_INPUTS, "platelet_transfusion", "jain_phase", "transfusion"],
    settings=_STATE_SETTINGS,
)
def stop_on_response(ctx: RuleContext) -> Outcome:
    view = _showing(ctx, "tpo-ra.stop-on-response")
    if view is None or view.taper_from is None:
        return None
    caveats = (
        ("Monitor counts for at least 2 weeks after stopping romiplostim (label).",)
        if any(c.drug == ROMIPLOSTIM for c in view.courses)
        else ()
    )
    platelets = () if view.platelets is None else (lab_fact(Analyte.PLATELETS, view.platelets),)
    return _card(
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
        *_COURSE_CITATIONS,
    ],
    inputs=[*_COURSE_INPUTS, "platelet_transfusion", "jain_phase", "transfusion"],
    settings=_STATE_SETTINGS,
)
def stop_without_response(ctx: RuleContext) -> Outcome:
    view = _showing(ctx, "tpo-ra.stop-without-response")
    if view is None:
        return None
    response = view.response
    weeks = ctx.profile.tpo_ra.no_response_weeks
    elapsed = ctx.as_of_day - response.first_dose_day
    return _card(
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
