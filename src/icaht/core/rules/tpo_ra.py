"""Thrombopoietin-receptor agonists (TPO-RA): candidacy and the marrow to obtain first, romiplostim
and eltrombopag titration, eltrombopag liver monitoring, stopping on response or without one, and
dose alerts (label maximum, eltrombopag salt, romiplostim in ug without a weight).

Candidacy follows clinical-decisions.md ("TPO-RA candidate"): after ``tpo_ra.earliest_day``,
platelet-transfusion dependence (or platelets < 20 x10^9/L on consecutive values), marrow
infiltration and MDS excluded, not already on a TPO-RA. The response is the Beyar-Katz definition
tracked in :mod:`icaht.core.treatment`.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Beyar-Katz et al., Ann Hematol
2022 (seed 002, abstract); Baur et al., J Immunother Cancer 2021 (seed 004; lines as ``L<n>``);
eltrombopag and romiplostim labels (clinical-reference.md section 7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from icaht.core.course import day_of
from icaht.core.lineage import Measurement
from icaht.core.record import MarrowBiopsy
from icaht.core.rule import CannotEvaluate, Fact, Fired, Outcome, rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.timeline import calendar_day
from icaht.core.treatment import (
    ELTROMBOPAG,
    ROMIPLOSTIM,
    DoseStep,
    DrugCourse,
    LineageResponse,
    TpoRaResponse,
    current_step,
    dose_unit_spelling,
    is_eltrombopag_choline,
)
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.tpo_ra_criteria import (
    ALT_PERSISTENT_WEEKS,
    ALT_STOP_ULN_MULTIPLE,
    ELTROMBOPAG_CHOLINE_MAX_MG_DAY,
    ELTROMBOPAG_CHOLINE_MG,
    ELTROMBOPAG_MAX_MG_DAY,
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
    *_TRANSFUSION_WINDOWS,
)
_INDICATION_INPUTS = (
    "platelets",
    "platelet_transfusion",
    "medication",
    "treatments",
    "tpo_ra_response",
)
_CHOLINE_EQUIVALENCE = (
    f"Eltrombopag choline and olamine doses differ: {ELTROMBOPAG_CHOLINE_MG:g} mg choline ~ "
    f"{ELTROMBOPAG_OLAMINE_MG:g} mg olamine; doses here are read as recorded."
)


# -- shared queries -------------------------------------------------------------------------------
def _last_daily_platelets(ctx: RuleContext, count: int) -> list[Measurement]:
    """The last platelet value of each of the latest ``count`` calendar days, in time order."""
    series = ctx.series(Analyte.PLATELETS)
    if not len(series):
        return []
    calendar = np.floor(series.day)
    last_of_day = np.flatnonzero(np.append(calendar[1:] != calendar[:-1], True))[-count:]
    return [
        Measurement(day=float(series.day[i]), value=float(series.value[i])) for i in last_of_day
    ]


def tpo_ra_indication(ctx: RuleContext) -> tuple[Fact, ...] | None:
    """The TPO-RA indication of clinical-decisions.md as facts, or None when it is not met: after
    ``tpo_ra.earliest_day``, not on a TPO-RA nor after one tried without a Beyar-Katz response
    (JAIN L57, L69: stop and consider a boost or HCT instead), and platelet-transfusion dependent
    or platelets < 20 x10^9/L on the last ``tpo_ra.low_platelet_consecutive_values`` values
    (different days)."""
    settings = ctx.profile.tpo_ra
    tried = ctx.treatments.tpo_ra_response
    failed = tried is not None and not tried.response
    if ctx.as_of_day <= settings.earliest_day or ctx.treatments.active_tpo_ra() or failed:
        return None
    day_fact = fact("Day after infusion", ctx.as_of_day, ctx.as_of_day)
    support = ctx.platelet_transfusion
    if support.dependent:
        return (
            day_fact,
            fact(
                f"Platelet transfusions in the last {support.window_days} days",
                support.count_in_window,
                support.last_day,
            ),
        )
    need = settings.low_platelet_consecutive_values
    last = _last_daily_platelets(ctx, need)
    if len(last) < need or any(m.value >= LOW_PLATELETS_10E9_PER_L for m in last):
        return None
    return (day_fact, *(lab_fact(Analyte.PLATELETS, m) for m in last))


@dataclass(frozen=True, slots=True)
class _MarrowFindings:
    """The latest post-infusion marrow that states MDS, and the latest that states infiltration."""

    mds: MarrowBiopsy | None
    infiltration: MarrowBiopsy | None

    @property
    def excludes_tpo_ra(self) -> bool:
        """MDS or malignant infiltration found: no TPO-RA suggestion (BAUR L252-255)."""
        return (self.mds is not None and self.mds.mds is True) or (
            self.infiltration is not None and self.infiltration.malignant_infiltration is True
        )

    def facts(self) -> tuple[Fact, ...]:
        out = []
        if self.mds is not None:
            out.append(event_fact("Marrow: MDS", str(self.mds.mds), day_of(self.mds.start)))
        if self.infiltration is not None:
            out.append(
                event_fact(
                    "Marrow: malignant infiltration",
                    str(self.infiltration.malignant_infiltration),
                    day_of(self.infiltration.start),
                )
            )
        return tuple(out)


def _marrow_findings(ctx: RuleContext) -> _MarrowFindings:
    marrows = ctx.marrows_after(0)
    return _MarrowFindings(
        mds=next((m for m in reversed(marrows) if m.mds is not None), None),
        infiltration=next(
            (m for m in reversed(marrows) if m.malignant_infiltration is not None), None
        ),
    )


def _running(ctx: RuleContext, drug: str) -> tuple[DrugCourse, DoseStep] | None:
    """The active course of ``drug`` and its current step."""
    course = ctx.treatments.active_course(drug)
    step = None if course is None else current_step(course, ctx.as_of_day)
    return None if course is None or step is None else (course, step)


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


def _current_platelets(ctx: RuleContext) -> Measurement | CannotEvaluate:
    platelets = ctx.current(Analyte.PLATELETS)
    return CannotEvaluate(missing=("platelets",)) if platelets is None else platelets


@dataclass(frozen=True, slots=True)
class _Titration:
    """What a titration rule reads: the running course, its step (normalised dose) and the
    current platelet count."""

    course: DrugCourse
    step: DoseStep
    dose: float
    platelets: Measurement


def _titration(ctx: RuleContext, drug: str) -> _Titration | CannotEvaluate | None:
    """The titration inputs for ``drug``; None when it is not running; CannotEvaluate when the
    dose cannot be normalised or there is no current platelet count."""
    running = _running(ctx, drug)
    if running is None:
        return None
    course, step = running
    if step.normalised_dose is None:
        return _no_normalised_dose(step, ctx.course.facts.weight_kg)
    platelets = _current_platelets(ctx)
    if isinstance(platelets, CannotEvaluate):
        return platelets
    return _Titration(course, step, step.normalised_dose, platelets)


def _step_caveats(step: DoseStep) -> tuple[str, ...]:
    return (f"Dose note: {step.note}",) if step.note else ()


# -- candidacy ------------------------------------------------------------------------------------
def _eltrombopag_start(ctx: RuleContext) -> tuple[str, tuple[str, ...]]:
    """The eltrombopag start wording and the caveat when ancestry or liver function is unknown."""
    settings = ctx.profile.tpo_ra
    facts_ = ctx.course.facts
    reasons = [
        name
        for name, present in (
            ("East/Southeast Asian ancestry", facts_.east_southeast_asian_ancestry),
            ("hepatic impairment", facts_.hepatic_impairment),
        )
        if present
    ]
    if reasons:
        start = (
            f"eltrombopag {settings.eltrombopag_reduced_start_mg:g} mg daily (reduced start for "
            f"{' and '.join(reasons)}, per label)"
        )
    else:
        start = (
            f"eltrombopag {settings.eltrombopag_start_mg:g} mg daily "
            f"({settings.eltrombopag_reduced_start_mg:g} mg for East/Southeast Asian ancestry or "
            "hepatic impairment, per label)"
        )
    unknown = None in (facts_.east_southeast_asian_ancestry, facts_.hepatic_impairment)
    caveat = (
        (
            "Ancestry or hepatic impairment not recorded: either means the reduced eltrombopag "
            "start.",
        )
        if unknown and not reasons
        else ()
    )
    return start, caveat


@rule(
    id="tpo-ra.candidate",
    title="TPO-RA candidate",
    category="TPO-RA",
    decision="tpo-ra",
    summary="After tpo_ra.earliest_day, platelet-transfusion dependent (or platelets < 20 x10^9/L "
    "on consecutive values), not on a TPO-RA, and a post-infusion marrow without MDS or "
    "malignant infiltration: consider eltrombopag (titrated) or romiplostim (weekly steps).",
    citations=[
        Citation("JAIN", "L57"),
        Citation("BK", "abstract"),
        Citation("BAUR", "L202-206, L252-255"),
        Citation("LABEL-ELTROMBOPAG", "dosage: reduced start"),
        Citation("LABEL-ROMIPLOSTIM", "dosage: weekly titration"),
    ],
    inputs=[
        *_INDICATION_INPUTS,
        "marrow_biopsy",
        "patient.east_southeast_asian_ancestry",
        "patient.hepatic_impairment",
    ],
    settings=[
        *_INDICATION_SETTINGS,
        "tpo_ra.eltrombopag_start_mg",
        "tpo_ra.eltrombopag_reduced_start_mg",
        "tpo_ra.eltrombopag_max_mg_day",
        "tpo_ra.romiplostim_start_ug_kg",
        "tpo_ra.romiplostim_step_ug_kg",
        "tpo_ra.romiplostim_max_ug_kg",
        "tpo_ra.platelet_target_10e9_l",
    ],
)
def candidate(ctx: RuleContext) -> Outcome:
    marrow = _marrow_findings(ctx)
    if marrow.excludes_tpo_ra or marrow.mds is None:
        return None
    indication = tpo_ra_indication(ctx)
    if indication is None:
        return None
    settings = ctx.profile.tpo_ra
    start, start_caveats = _eltrombopag_start(ctx)
    caveats = [
        "No other cause of the thrombocytopenia found (JAIN: no clear etiology other than CAR-T): "
        "confirm.",
        "JAIN reserves TPO-RAs for patients at high risk of bleeding: counts often recover "
        "without intervention.",
        *start_caveats,
    ]
    if marrow.infiltration is None:
        caveats.append("The marrow report does not state infiltration: confirm.")
    return Fired(
        action=f"Consider a TPO-RA: {start}, titrated toward {settings.eltrombopag_max_mg_day:g} "
        f"mg/day; or romiplostim {settings.romiplostim_start_ug_kg:g} ug/kg weekly, "
        f"+{settings.romiplostim_step_ug_kg:g} ug/kg per week while platelets are < "
        f"{settings.platelet_target_10e9_l:g} x10^9/L, maximum "
        f"{settings.romiplostim_max_ug_kg:g} ug/kg.",
        facts=(*indication, *marrow.facts()),
        caveats=tuple(caveats),
    )


# -- titration ------------------------------------------------------------------------------------
def _above_for_weeks(ctx: RuleContext, threshold: float) -> bool:
    """Every platelet value from the latest one at least a week before the latest value on is
    above ``threshold`` (label: above the cut-off for 2 consecutive weeks)."""
    series = ctx.series(Analyte.PLATELETS)
    if not len(series):
        return False
    span = (ROMIPLOSTIM_REDUCE_CONSECUTIVE_WEEKS - 1) * _WEEK_DAYS
    earlier = np.flatnonzero(series.day <= series.day[-1] - span)
    return bool(earlier.shape[0]) and bool(np.all(series.value[earlier[-1] :] > threshold))


def _romiplostim_action(ctx: RuleContext, dose: float, platelets: float) -> str | None:
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
    if platelets >= settings.platelet_target_10e9_l:
        return None
    if dose >= settings.romiplostim_max_ug_kg:
        return (
            f"Consider no further increase: romiplostim is at the maximum of "
            f"{settings.romiplostim_max_ug_kg:g} ug/kg with platelets < "
            f"{settings.platelet_target_10e9_l:g} x10^9/L; the label stops it if there is no "
            f"adequate response after {ROMIPLOSTIM_NO_RESPONSE_WEEKS_AT_MAX} weeks at the maximum."
        )
    higher = min(dose + settings.romiplostim_step_ug_kg, settings.romiplostim_max_ug_kg)
    return (
        f"Consider increasing romiplostim from {dose:g} to {higher:g} ug/kg this week "
        f"(platelets < {settings.platelet_target_10e9_l:g} x10^9/L; maximum "
        f"{settings.romiplostim_max_ug_kg:g} ug/kg)."
    )


@rule(
    id="tpo-ra.romiplostim-titration",
    title="Romiplostim weekly titration",
    category="TPO-RA",
    decision="tpo-ra",
    summary="On romiplostim: +step ug/kg per week while platelets are below the target (up to the "
    "maximum); reduce by 1 ug/kg or hold above the label thresholds (US 200/400, EU 150/250).",
    citations=[
        Citation("LABEL-ROMIPLOSTIM", "dosage and dose adjustments (US label, EU SmPC)"),
        Citation("BAUR", "L202-206"),
        Citation("JAIN", "L57"),
    ],
    inputs=["medication", "treatments", "platelets", "patient.weight_kg"],
    settings=[
        "tpo_ra.romiplostim_step_ug_kg",
        "tpo_ra.romiplostim_max_ug_kg",
        "tpo_ra.platelet_target_10e9_l",
        "tpo_ra.romiplostim_label",
    ],
)
def romiplostim_titration(ctx: RuleContext) -> Outcome:
    inputs = _titration(ctx, ROMIPLOSTIM)
    if not isinstance(inputs, _Titration):
        return inputs
    action = _romiplostim_action(ctx, inputs.dose, inputs.platelets.value)
    if action is None:
        return None
    return Fired(
        action=action,
        facts=(
            _dose_fact("Current romiplostim dose (since)", inputs.step),
            lab_fact(Analyte.PLATELETS, inputs.platelets),
        ),
        caveats=_step_caveats(inputs.step),
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


def _eltrombopag_action(ctx: RuleContext, dose: float, platelets: float, since: int) -> str | None:
    settings = ctx.profile.tpo_ra
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
    at_dose = ctx.as_of_day - since
    if (
        platelets >= settings.platelet_target_10e9_l
        or at_dose < settings.eltrombopag_step_after_days
    ):
        return None
    if dose >= settings.eltrombopag_max_mg_day:
        return (
            f"Consider no further increase: eltrombopag is at the titration cap of "
            f"{settings.eltrombopag_max_mg_day:g} mg/day with platelets < "
            f"{settings.platelet_target_10e9_l:g} x10^9/L."
        )
    higher = min(dose + settings.eltrombopag_step_mg, settings.eltrombopag_max_mg_day)
    return (
        f"Consider increasing eltrombopag from {dose:g} to {higher:g} mg/day (at least "
        f"{settings.eltrombopag_step_after_days} days at the current dose, platelets < "
        f"{settings.platelet_target_10e9_l:g} x10^9/L; cap "
        f"{settings.eltrombopag_max_mg_day:g} mg/day)."
    )


@rule(
    id="tpo-ra.eltrombopag-titration",
    title="Eltrombopag titration",
    category="TPO-RA",
    decision="tpo-ra",
    summary="On eltrombopag at the same dose for tpo_ra.eltrombopag_step_after_days with "
    "platelets below the target: +step mg up to the cap; platelets 200-400 x10^9/L: -25 mg; "
    "> 400: stop and recheck (label).",
    citations=[
        Citation("LABEL-ELTROMBOPAG", "dosage and dose adjustments"),
        Citation("JAIN", "L57"),
        Citation("BK", "abstract"),
    ],
    inputs=["medication", "treatments", "platelets"],
    settings=[
        "tpo_ra.eltrombopag_step_mg",
        "tpo_ra.eltrombopag_step_after_days",
        "tpo_ra.eltrombopag_max_mg_day",
        "tpo_ra.platelet_target_10e9_l",
    ],
)
def eltrombopag_titration(ctx: RuleContext) -> Outcome:
    inputs = _titration(ctx, ELTROMBOPAG)
    if not isinstance(inputs, _Titration):
        return inputs
    course, step, platelets = inputs.course, inputs.step, inputs.platelets
    since = _same_dose_since(course, step)
    action = _eltrombopag_action(ctx, inputs.dose, platelets.value, since)
    if action is None:
        return None
    caveats = _step_caveats(step)
    if is_eltrombopag_choline(step):
        caveats += (_CHOLINE_EQUIVALENCE,)
    return Fired(
        action=action,
        facts=(
            fact("Current eltrombopag dose since", f"{step.normalised_dose:g} mg/day", since),
            lab_fact(Analyte.PLATELETS, platelets),
        ),
        caveats=caveats,
    )


# -- eltrombopag liver monitoring -----------------------------------------------------------------
@rule(
    id="tpo-ra.eltrombopag-liver-tests",
    title="Eltrombopag liver tests due",
    category="TPO-RA",
    decision="tpo-ra",
    summary="On eltrombopag without an ALT in the last tpo_ra.liver_test_interval_days: consider "
    "ALT, AST and bilirubin now (label: every 2 weeks during titration).",
    citations=[Citation("LABEL-ELTROMBOPAG", "boxed warning: hepatotoxicity monitoring")],
    inputs=["medication", "treatments", "alt"],
    settings=["tpo_ra.liver_test_interval_days"],
)
def eltrombopag_liver_tests(ctx: RuleContext) -> Outcome:
    running = _running(ctx, ELTROMBOPAG)
    if running is None:
        return None
    course, _ = running
    interval = ctx.profile.tpo_ra.liver_test_interval_days
    alt = ctx.latest(Analyte.ALT)
    if alt is not None and ctx.as_of_day - calendar_day(alt.day) <= interval:
        return None
    last = fact("Last ALT", "none recorded") if alt is None else lab_fact(Analyte.ALT, alt)
    return Fired(
        action=f"Consider ALT, AST and bilirubin now (every {interval} days during eltrombopag "
        "titration, then monthly; label: every 2 weeks).",
        facts=(fact("Eltrombopag since", course.first_day, course.first_day), last),
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
    summary="On eltrombopag with the latest ALT >= 3x ULN: consider holding or stopping per label "
    "if progressive, persistent >= 4 weeks, or with raised direct bilirubin or symptoms.",
    citations=[Citation("LABEL-ELTROMBOPAG", "boxed warning: hepatotoxicity")],
    inputs=["medication", "treatments", "alt"],
)
def eltrombopag_alt_rise(ctx: RuleContext) -> Outcome:
    if _running(ctx, ELTROMBOPAG) is None:
        return None
    series = ctx.series(Analyte.ALT)
    if not len(series):
        return None
    latest = Measurement(day=float(series.day[-1]), value=float(series.value[-1]))
    uln = float(series.uln[-1])
    if np.isnan(uln):
        return CannotEvaluate(
            missing=("ALT upper limit of normal",), facts=(lab_fact(Analyte.ALT, latest),)
        )
    if latest.value < ALT_STOP_ULN_MULTIPLE * uln:
        return None
    since = _alt_run_start(ctx)
    return Fired(
        action=f"Consider holding or stopping eltrombopag per label if the ALT rise is "
        f"progressive, persistent for >= {ALT_PERSISTENT_WEEKS} weeks, or comes with raised "
        "direct bilirubin, symptoms of liver injury or hepatic decompensation; confirm within "
        "3-5 days and monitor weekly.",
        facts=(
            lab_fact(Analyte.ALT, latest),
            fact("ALT / ULN", f"{latest.value / uln:.1f}x (ULN {uln:g} U/L)"),
            fact("ALT >= 3x ULN since", since, since),
        ),
        caveats=("With an abnormal baseline ALT the label uses >= 3x baseline instead.",),
    )


# -- stopping -------------------------------------------------------------------------------------
def _drug_names(courses: list[DrugCourse]) -> str:
    return " and ".join(c.drug for c in courses)


def _resolved(response: TpoRaResponse) -> list[LineageResponse]:
    """The response lineages met after the first dose that had a cytopenia to resolve (BK:
    "resolution of severe neutropenia"); a lineage already above its threshold before the first
    dose does not show an effect of the TPO-RA."""
    return [
        r
        for r in response.lineages
        if r.lineage in response.lineages_met and not r.met_before_first_dose
    ]


def _lineage_fact(r: LineageResponse) -> Fact:
    before = " (already met before the first dose)" if r.met_before_first_dose else ""
    return fact(
        f"{r.lineage}: {r.criterion}",
        f"met {r.days_from_first_dose} d from the first dose{before}",
        r.met_day,
    )


@rule(
    id="tpo-ra.stop-on-response",
    title="TPO-RA: taper after response",
    category="TPO-RA",
    decision="tpo-ra",
    summary="On a TPO-RA with the Beyar-Katz response met (transfusion independence plus ANC > "
    "0.5 and/or platelets > 20 x10^9/L, in a lineage that was below it before the first dose): "
    "consider tapering and stopping.",
    citations=[
        Citation("BK", "abstract (taper once the response is met)"),
        Citation("JAIN", "L57"),
        Citation("BAUR", "L202-205"),
        Citation("LABEL-ROMIPLOSTIM", "monitoring after discontinuation"),
    ],
    inputs=["medication", "treatments", "tpo_ra_response", "platelets"],
    settings=[*_TRANSFUSION_WINDOWS, "tpo_ra.platelet_target_10e9_l"],
)
def stop_on_response(ctx: RuleContext) -> Outcome:
    active = ctx.treatments.active_tpo_ra()
    response = ctx.treatments.tpo_ra_response
    if not active or response is None or not response.response or not _resolved(response):
        return None
    target = ctx.profile.tpo_ra.platelet_target_10e9_l
    platelets = ctx.latest(Analyte.PLATELETS)
    caveats = list(response.caveats)
    if platelets is not None and platelets.value < target:
        caveats.append(
            f"Platelets are below the titration target of {target:g} x10^9/L: BAUR titrated "
            "until platelets > 50 x10^9/L were maintained for 2 months."
        )
    if any(c.drug == ROMIPLOSTIM for c in active):
        caveats.append("Monitor counts for at least 2 weeks after stopping romiplostim (label).")
    return Fired(
        action=f"Consider tapering and then stopping {_drug_names(active)}: the Beyar-Katz "
        "response is met (BK tapered once it was met; JAIN stops once platelets recover).",
        facts=(
            fact("First TPO-RA dose", response.first_dose_day, response.first_dose_day),
            fact("Transfusion independent from", "yes", response.transfusion_independent_day),
            *(_lineage_fact(r) for r in response.lineages if r.lineage in response.lineages_met),
        ),
        caveats=tuple(caveats),
    )


@rule(
    id="tpo-ra.stop-without-response",
    title="TPO-RA: no response",
    category="TPO-RA",
    decision="tpo-ra",
    summary="On a TPO-RA for tpo_ra.no_response_weeks weeks without the Beyar-Katz response: "
    "consider stopping (JAIN: 4-6 weeks); next options are a stem cell boost or an HCT "
    "assessment.",
    citations=[Citation("JAIN", "L57, L69"), Citation("BK", "abstract (response definition)")],
    inputs=["medication", "treatments", "tpo_ra_response"],
    settings=["tpo_ra.no_response_weeks", *_TRANSFUSION_WINDOWS],
)
def stop_without_response(ctx: RuleContext) -> Outcome:
    active = ctx.treatments.active_tpo_ra()
    response = ctx.treatments.tpo_ra_response
    weeks = ctx.profile.tpo_ra.no_response_weeks
    if not active or response is None or (response.response and _resolved(response)):
        return None
    elapsed = ctx.as_of_day - response.first_dose_day
    if elapsed < weeks * _WEEK_DAYS:
        return None
    caveats = (
        (
            "The response is formally met only by lineages that already met it before the first "
            "dose.",
        )
        if response.response
        else ()
    )
    return Fired(
        action=f"Consider stopping {_drug_names(active)}: no Beyar-Katz response after {weeks} "
        "weeks (JAIN: stop if no response in 4 to 6 weeks). If the cytopenia persists, the next "
        "options to consider are a stem cell boost (if cells are stored) or an assessment for "
        "allogeneic HCT.",
        facts=(
            fact("First TPO-RA dose", response.first_dose_day, response.first_dose_day),
            fact("Days since the first dose", elapsed, ctx.as_of_day),
            fact(
                "Transfusion independent from",
                "not reached" if response.transfusion_independent_day is None else "yes",
                response.transfusion_independent_day,
            ),
            *(_lineage_fact(r) for r in response.lineages if r.met_day is not None),
        ),
        caveats=(*caveats, *response.caveats),
    )


# -- dose alerts ----------------------------------------------------------------------------------
@rule(
    id="tpo-ra.romiplostim-above-max",
    title="Romiplostim above the label maximum",
    category="alert",
    decision="tpo-ra",
    strength="alert",
    summary="The current romiplostim dose is above 10 ug/kg weekly (label maximum); a dose in ug "
    "without a patient weight cannot be checked.",
    citations=[Citation("LABEL-ROMIPLOSTIM", "dosage (maximum 10 ug/kg)"), Citation("JAIN", "L57")],
    inputs=["medication", "treatments", "patient.weight_kg"],
)
def romiplostim_above_max(ctx: RuleContext) -> Outcome:
    running = _running(ctx, ROMIPLOSTIM)
    if running is None:
        return None
    _, step = running
    if step.normalised_dose is None:
        return _no_normalised_dose(step, ctx.course.facts.weight_kg)
    if step.normalised_dose <= ROMIPLOSTIM_MAX_UG_KG:
        return None
    return Fired(
        action=f"Consider checking the romiplostim dose: {step.normalised_dose:.3g} ug/kg is "
        f"above the label maximum of {ROMIPLOSTIM_MAX_UG_KG:g} ug/kg weekly.",
        facts=(_dose_fact("Current romiplostim dose (since)", step),),
        caveats=_step_caveats(step),
    )


@rule(
    id="tpo-ra.eltrombopag-above-max",
    title="Eltrombopag above 150 mg/day",
    category="alert",
    decision="tpo-ra",
    strength="alert",
    summary="The current eltrombopag (olamine) dose is above 150 mg/day, the maximum used after "
    "CAR-T (JAIN, BK; the ITP label caps at 75 mg).",
    citations=[
        Citation("JAIN", "L57"),
        Citation("BK", "abstract"),
        Citation("LABEL-ELTROMBOPAG", "dosage (maximum)"),
    ],
    inputs=["medication", "treatments"],
)
def eltrombopag_above_max(ctx: RuleContext) -> Outcome:
    running = _running(ctx, ELTROMBOPAG)
    if running is None:
        return None
    _, step = running
    dose = step.normalised_dose
    if dose is None or is_eltrombopag_choline(step) or dose <= ELTROMBOPAG_MAX_MG_DAY:
        return None
    return Fired(
        action=f"Consider checking the eltrombopag dose: {dose:g} mg/day is above "
        f"{ELTROMBOPAG_MAX_MG_DAY:g} mg/day, the maximum used after CAR-T.",
        facts=(_dose_fact("Current eltrombopag dose (since)", step),),
        caveats=_step_caveats(step),
    )


@rule(
    id="tpo-ra.eltrombopag-choline",
    title="Eltrombopag choline: salt-form dose",
    category="alert",
    decision="tpo-ra",
    strength="alert",
    summary="An eltrombopag choline product is recorded: its doses differ from the olamine salt "
    "(36 mg choline ~ 50 mg olamine); above 108 mg/day (the choline equivalent of 150 mg "
    "olamine) an olamine-strength dose was probably recorded.",
    citations=[Citation("LABEL-ELTROMBOPAG", "eltrombopag choline (Alvaiz) dose equivalence")],
    inputs=["medication", "treatments"],
)
def eltrombopag_choline(ctx: RuleContext) -> Outcome:
    running = _running(ctx, ELTROMBOPAG)
    if running is None or not is_eltrombopag_choline(running[1]):
        return None
    step = running[1]
    dose = step.normalised_dose
    facts_ = (_dose_fact(f"Current dose of {step.product}", step),)
    if dose is not None and dose > ELTROMBOPAG_CHOLINE_MAX_MG_DAY:
        return Fired(
            action=f"Consider checking the eltrombopag choline dose: {dose:g} mg/day is above "
            f"{ELTROMBOPAG_CHOLINE_MAX_MG_DAY:g} mg/day, the choline equivalent of "
            f"{ELTROMBOPAG_MAX_MG_DAY:g} mg olamine: an olamine-strength dose may have been "
            "recorded for the choline product.",
            facts=facts_,
            caveats=(_CHOLINE_EQUIVALENCE,),
        )
    equivalent = (
        ""
        if dose is None
        else f" ({dose:g} mg choline ~ {dose * ELTROMBOPAG_OLAMINE_MG / ELTROMBOPAG_CHOLINE_MG:.0f}"
        " mg olamine)"
    )
    return Fired(
        action=f"Consider confirming that the eltrombopag dose was prescribed for the choline "
        f"salt{equivalent}.",
        facts=facts_,
        caveats=(_CHOLINE_EQUIVALENCE,),
        strength="consider",
    )
