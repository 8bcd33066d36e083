"""IEC-HS (immune effector cell-associated HLH-like syndrome): suspicion, never diagnosis.

One decision (``iec-hs``), one card at a time (docs/decisions.md, IEC-HS):

* ``iec-hs.recorded``: a recorded IEC-HS/HLH/MAS diagnosis (event kind ``iec_hs``) shows as
  "IEC-HS recorded (day N)" with its status, never as a suspicion. An excluded, resolved or ended
  diagnosis shows only when new facts after it match a suspicion pattern again.
* ``iec-hs.suspected``, three patterns, each within the last ``iechs.lookback_days``:

  - **classic (JAIN L47)**: a CRS episode that has resolved (none active), then, after the CRS
    end, the ferritin criterion, new fever and new or worsening severe cytopenia;
  - **any CRS state (HINES)**: the ferritin criterion, new severe cytopenia and at least one
    supporting finding, whether or not CRS is active (an active CRS is named as a caveat);
  - **counts missing**: a ferritin at or above ``iechs.ferritin_ng_ml`` with new fever (outside
    active CRS) or a supporting finding, when ANC or platelets have no value in the window and no
    count shows new cytopenia (the missing counts are named); without fever or a supporting
    finding the rule cannot be evaluated.

The ferritin criterion: a value >= ``iechs.ferritin_ng_ml``, or a rapid rise (the latest value
>= ``iechs.rise_fold`` x the lowest of the last ``iechs.rise_window_days`` days) that reaches at
least ``iechs.rise_min_fraction`` of the ferritin setting (project default: 400 -> 900 never
counts). New severe cytopenia: an ANC <= 0.5 or platelets < 20 x10^9/L whose previous value was
outside that band, or an ANC falling to <= 0.1 from above it (worsening).

Supporting findings (JAIN L47, L53; HLH-2004): AST or ALT above the laboratory's ULN (without a
ULN: higher than an earlier value in the window), triglycerides > 265 mg/dL, fibrinogen < 150
mg/dL, splenomegaly recorded after infusion, hemophagocytosis on the marrow on file
(``marrow.valid_days``). The HScore (Fardet) is shown as supporting information.

A documented active infection is named first ("sepsis produces the same picture"): the card then
asks to evaluate IEC-HS once the infection is treated or excluded and offers no anakinra or
steroids. When a resolved CRS is followed by new fever and new severe cytopenia but no ferritin was
measured, the rule cannot be evaluated and names ferritin.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from icaht.core.course import Series, day_of
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import CrsEpisode, Fever, Finding, HemophagocyticSyndrome, Infection
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.iechs_criteria import (
    FIBRINOGEN_LOW_BELOW_MG_PER_DL,
    PROFOUND_ANC_MAX_10E9_PER_L,
    SEVERE_ANC_MAX_10E9_PER_L,
    SEVERE_PLATELETS_BELOW_10E9_PER_L,
    TRIGLYCERIDES_HIGH_ABOVE_MG_PER_DL,
)

#: What the suspicion pattern found: its facts, "cannot evaluate", or nothing.
Pattern = list[Fact] | CannotEvaluate | None


def _at(series: Series, i: int) -> Measurement:
    return Measurement(day=float(series.day[i]), value=float(series.value[i]))


def _lookback_first_day(ctx: RuleContext) -> int:
    return ctx.as_of_day - ctx.profile.iechs.lookback_days + 1


def _resolved_crs_end_day(ctx: RuleContext) -> int | None:
    """Calendar day the last CRS episode ended, when it ended before the as-of day and no CRS is
    active."""
    if ctx.crs_active() is not None:
        return None
    ends = [
        calendar_day(day_of(c.end)) for c in ctx.course.of_kind(CrsEpisode) if c.end is not None
    ]
    return ends[-1] if ends and ends[-1] < ctx.as_of_day else None


def _active_infection(ctx: RuleContext) -> Infection | None:
    """A documented infection still open on the as-of day (any severity), the latest first."""
    for infection in reversed(ctx.course.of_kind(Infection)):
        if infection.end is None or calendar_day(day_of(infection.end)) >= ctx.as_of_day:
            return infection
    return None


# -- criteria ------------------------------------------------------------------------------------
def _very_high(ctx: RuleContext, first_day: int) -> list[Fact] | None:
    """The highest ferritin from ``first_day`` when it is at or above ``iechs.ferritin_ng_ml``."""
    level = ctx.profile.iechs.ferritin_ng_ml
    recent = ctx.window(Analyte.FERRITIN, first_day, ctx.as_of_day)
    if not len(recent):
        return None
    top = int(recent.value.argmax())
    if recent.value[top] < level:
        return None
    return [lab_fact(Analyte.FERRITIN, _at(recent, top), f"Ferritin >= {level:g}")]


def _rapid_rise(ctx: RuleContext, first_day: int) -> list[Fact] | None:
    """A rise to the latest value (from ``first_day``) of at least ``iechs.rise_fold`` x the lowest
    of the rise window, reaching at least ``iechs.rise_min_fraction`` of the ferritin setting."""
    settings = ctx.profile.iechs
    rise = ctx.window(
        Analyte.FERRITIN,
        max(first_day, ctx.as_of_day - settings.rise_window_days + 1),
        ctx.as_of_day,
    )
    if len(rise) < 2:
        return None
    latest, low = _at(rise, len(rise) - 1), _at(rise, int(rise.value.argmin()))
    floor = settings.rise_min_fraction * settings.ferritin_ng_ml
    if low.value <= 0 or low.day >= latest.day:
        return None
    if latest.value < settings.rise_fold * low.value or latest.value < floor:
        return None
    return [
        lab_fact(Analyte.FERRITIN, low, "Ferritin, lowest of the rise window"),
        lab_fact(
            Analyte.FERRITIN,
            latest,
            f"Ferritin, rise >= {settings.rise_fold:g}-fold to >= {floor:g}",
        ),
    ]


def _ferritin(ctx: RuleContext, first_day: int) -> list[Fact] | None:
    """Facts of the ferritin criterion from ``first_day``: very high or rapidly rising."""
    return _very_high(ctx, first_day) or _rapid_rise(ctx, first_day)


def _new_fever(ctx: RuleContext, first_day: int) -> Fact | None:
    fevers = [f for f in ctx.course.of_kind(Fever) if calendar_day(day_of(f.start)) >= first_day]
    if not fevers:
        return None
    last = fevers[-1]
    shown = "fever" if last.temperature_c is None else f"{last.temperature_c:g} °C"
    return event_fact("New fever", shown, day_of(last.start))


def _in_band(analyte: Analyte, values: NDArray[np.float64], profound: bool) -> NDArray[np.bool_]:
    if analyte is Analyte.PLATELETS:
        return values < SEVERE_PLATELETS_BELOW_10E9_PER_L
    return values <= (PROFOUND_ANC_MAX_10E9_PER_L if profound else SEVERE_ANC_MAX_10E9_PER_L)


def _entered_band(
    ctx: RuleContext, analyte: Analyte, first_day: int, profound: bool
) -> Fact | None:
    """The latest value from ``first_day`` that entered the band from a previous value outside."""
    series = ctx.series(analyte)
    band = _in_band(analyte, series.value, profound)
    entered = np.flatnonzero(band[1:] & ~band[:-1]) + 1
    entered = entered[series.day[entered] >= first_day]
    if not entered.shape[0]:
        return None
    i = int(entered[-1])
    before = float(series.value[i - 1])
    label = f"New severe cytopenia: {ANALYTES[analyte].display} (previous {before:g})"
    return lab_fact(analyte, _at(series, i), label)


def _new_cytopenia(ctx: RuleContext, first_day: int) -> list[Fact]:
    checks = (
        (Analyte.ANC, False),
        (Analyte.ANC, True),
        (Analyte.PLATELETS, False),
    )
    found = [_entered_band(ctx, analyte, first_day, profound) for analyte, profound in checks]
    return [f for f in found if f is not None]


def _missing_counts(ctx: RuleContext, first_day: int) -> list[str]:
    """ANC and platelets with no value from ``first_day``: new cytopenia cannot be judged."""
    return [
        f"{ANALYTES[analyte].display} since day {first_day}"
        for analyte in (Analyte.ANC, Analyte.PLATELETS)
        if not len(ctx.window(analyte, first_day, ctx.as_of_day))
    ]


# -- supporting findings -------------------------------------------------------------------------
def _transaminase(ctx: RuleContext, analyte: Analyte, first_day: int) -> Fact | None:
    """Latest AST/ALT above the laboratory ULN; without a ULN, higher than an earlier value."""
    recent = ctx.window(analyte, first_day, ctx.as_of_day)
    if not len(recent):
        return None
    last = len(recent) - 1
    latest, uln = _at(recent, last), float(recent.uln[last])
    name = ANALYTES[analyte].display
    if not math.isnan(uln):
        return (
            lab_fact(analyte, latest, f"{name} above ULN {uln:g}") if latest.value > uln else None
        )
    if last and latest.value > float(recent.value[:last].min()):
        return lab_fact(analyte, latest, f"{name} rising (no ULN given)")
    return None


def _latest_beyond(
    ctx: RuleContext, analyte: Analyte, first_day: int, limit: float, above: bool
) -> Fact | None:
    recent = ctx.window(analyte, first_day, ctx.as_of_day)
    if not len(recent):
        return None
    latest = _at(recent, len(recent) - 1)
    beyond = latest.value > limit if above else latest.value < limit
    if not beyond:
        return None
    sign = ">" if above else "<"
    unit = ANALYTES[analyte].canonical_unit
    return lab_fact(analyte, latest, f"{ANALYTES[analyte].display} {sign} {limit:g} {unit}")


def _splenomegaly(ctx: RuleContext) -> Fact | None:
    found = [
        f
        for f in ctx.course.of_kind(Finding)
        if f.finding == "splenomegaly" and day_of(f.start) >= 0
    ]
    if not found or not found[-1].present:
        return None
    return event_fact("Splenomegaly", "present", day_of(found[-1].start))


def _marrow_hemophagocytosis(ctx: RuleContext) -> Fact | None:
    """Hemophagocytosis on the marrow on file (JAIN L47: it 'will substantiate' IEC-HS)."""
    marrow = ctx.marrow_on_file()
    if marrow is None or not marrow.hemophagocytosis:
        return None
    return event_fact("Hemophagocytosis in the marrow", "present", day_of(marrow.start))


def _supporting(ctx: RuleContext, first_day: int) -> list[Fact]:
    found = [
        _transaminase(ctx, Analyte.AST, first_day),
        _transaminase(ctx, Analyte.ALT, first_day),
        _latest_beyond(
            ctx, Analyte.TRIGLYCERIDES, first_day, TRIGLYCERIDES_HIGH_ABOVE_MG_PER_DL, above=True
        ),
        _latest_beyond(
            ctx, Analyte.FIBRINOGEN, first_day, FIBRINOGEN_LOW_BELOW_MG_PER_DL, above=False
        ),
        _splenomegaly(ctx),
        _marrow_hemophagocytosis(ctx),
    ]
    return [f for f in found if f is not None]


def _hscore_fact(ctx: RuleContext) -> Fact:
    score = ctx.scores.hscore
    if score.computable and score.total is not None:
        return fact("HScore", f"{score.total:g} (probability {score.probability})")
    bounds = (
        ""
        if score.minimum is None or score.maximum is None
        else f"range {score.minimum:g}-{score.maximum:g}; "
    )
    return fact("HScore", f"not computable ({bounds}missing: {', '.join(score.missing)})")


# -- patterns ------------------------------------------------------------------------------------
def _classic(ctx: RuleContext, first_day: int, crs_end: int) -> Pattern:
    """Resolved CRS, then ferritin criterion, new fever and new severe cytopenia (JAIN L47)."""
    first_day = max(first_day, crs_end + 1)
    fever = _new_fever(ctx, first_day)
    if fever is None:
        return None
    cytopenia = _new_cytopenia(ctx, first_day)
    if not cytopenia:
        return None
    ferritin = _ferritin(ctx, first_day)
    if ferritin is None:
        if not len(ctx.window(Analyte.FERRITIN, first_day, ctx.as_of_day)):
            return CannotEvaluate(
                missing=(f"ferritin since day {first_day}",), facts=(fever, *cytopenia)
            )
        return None
    return [
        fact("Pattern", "resolved CRS, then ferritin, fever and severe cytopenia (JAIN)"),
        fact("CRS resolved", "yes", crs_end),
        *ferritin,
        fever,
        *cytopenia,
    ]


def _any_crs_state(ctx: RuleContext, first_day: int) -> Pattern:
    """Ferritin criterion, new severe cytopenia and a supporting finding (HINES), any CRS state."""
    ferritin = _ferritin(ctx, first_day)
    if ferritin is None:
        return None
    cytopenia = _new_cytopenia(ctx, first_day)
    if not cytopenia or not _supporting(ctx, first_day):
        return None
    return [
        fact("Pattern", "ferritin, new severe cytopenia and a supporting finding (any CRS state)"),
        *ferritin,
        *cytopenia,
    ]


def _counts_missing(ctx: RuleContext, first_day: int) -> Pattern:
    """Ferritin at or above the setting with new fever or a supporting finding while ANC or
    platelets are missing and no count shows new cytopenia (docs/decisions.md): fires naming
    the missing counts; without fever or a supporting finding, cannot be evaluated. During
    active CRS the fever is the CRS's own, so a supporting finding is needed (HINES pattern)."""
    missing = _missing_counts(ctx, first_day)
    ferritin = _very_high(ctx, first_day)
    if not missing or ferritin is None or _new_cytopenia(ctx, first_day):
        return None
    fever = None if ctx.crs_active() is not None else _new_fever(ctx, first_day)
    if fever is None and not _supporting(ctx, first_day):
        return CannotEvaluate(missing=tuple(missing), facts=tuple(ferritin))
    return [
        fact("Pattern", "ferritin at or above the setting with fever or a supporting finding"),
        *ferritin,
        *([] if fever is None else [fever]),
        fact("Counts missing (new cytopenia not assessable)", "; ".join(missing)),
    ]


def _pattern(ctx: RuleContext, first_day: int) -> Pattern:
    """The first suspicion pattern met from ``first_day`` (classic, any CRS state, counts
    missing); else the first "cannot evaluate"; else None."""
    crs_end = _resolved_crs_end_day(ctx)
    classic = None if crs_end is None else _classic(ctx, first_day, crs_end)
    if isinstance(classic, list):
        return classic
    found = (classic, _any_crs_state(ctx, first_day), _counts_missing(ctx, first_day))
    met = next((f for f in found if isinstance(f, list)), None)
    return met if met is not None else next((f for f in found if f is not None), None)


# -- cards ---------------------------------------------------------------------------------------
_WORKUP = (
    "an IEC-HS work-up (ferritin trend, fibrinogen, triglycerides, liver tests, bone marrow for "
    "hemophagocytosis)"
)
_TREATMENT = (
    "If suspicion is high, consider anakinra plus high-dose corticosteroids; for refractory "
    "IEC-HS, ruxolitinib, cyclophosphamide or etoposide are anecdotal options (weigh their "
    "cytotoxic effect on HSC and CAR-T cells)."
)
_INFECTION_FIRST = (
    "A documented active infection comes first: sepsis produces the same picture. Consider "
    f"evaluating IEC-HS once the infection is treated or excluded ({_WORKUP})."
)
_SUSPICION = "A suspicion to assess clinically, not a diagnosis."
_DIAGNOSIS_NAMES = {"iec_hs": "IEC-HS", "hlh": "HLH", "mas": "MAS"}


def _infection_fact(infection: Infection) -> Fact:
    shown = ", ".join(
        part for part in (infection.organism, infection.site, infection.severity) if part
    )
    return event_fact("Documented active infection", shown, day_of(infection.start))


def _crs_caveats(ctx: RuleContext) -> tuple[str, ...]:
    crs = ctx.crs_active()
    if crs is None:
        return ()
    grade = "grade not recorded" if crs.grade is None else f"grade {crs.grade}"
    return (
        f"CRS is active ({grade}) and overlaps with these features; IEC-HS can arise during CRS "
        "and is often not tied to CRS severity (Hines 2023).",
    )


def _card(ctx: RuleContext, lead: str | None, facts: list[Fact], caveats: tuple[str, ...]) -> Fired:
    """The card: ``lead`` (a recorded diagnosis) or the work-up; a documented active infection
    first and then no anakinra or steroids, else the source's treatment; the facts, the supporting
    findings of the window and the HScore."""
    supporting = [f for f in _supporting(ctx, _lookback_first_day(ctx)) if f not in facts]
    infection = _active_infection(ctx)
    if infection is not None:
        action = _INFECTION_FIRST if lead is None else f"{lead} {_INFECTION_FIRST}"
        facts = [_infection_fact(infection), *facts]
    else:
        action = f"{lead or f'Consider {_WORKUP}.'} {_TREATMENT}"
    return Fired(action=action, facts=(*facts, *supporting, _hscore_fact(ctx)), caveats=caveats)


_CITATIONS = [
    Citation("JAIN", "L47, L53, L55"),
    Citation("HINES", "Abstract"),
    Citation("HLH-2004", "Diagnostic criteria (triglycerides, fibrinogen)"),
    Citation("FARDET", "HScore table"),
]
_INPUTS = [
    "crs",
    "ferritin",
    "fever",
    "anc",
    "platelets",
    "ast",
    "alt",
    "triglycerides",
    "fibrinogen",
    "finding",
    "marrow_biopsy",
    "infection",
    "iec_hs",
    "hscore",
]
_SETTINGS = [
    "iechs.ferritin_ng_ml",
    "iechs.rise_fold",
    "iechs.rise_window_days",
    "iechs.rise_min_fraction",
    "iechs.lookback_days",
    "marrow.valid_days",
]


# -- a recorded diagnosis ------------------------------------------------------------------------
def _recorded(ctx: RuleContext) -> HemophagocyticSyndrome | None:
    """The latest recorded IEC-HS/HLH/MAS diagnosis known on the as-of day."""
    found = ctx.course.of_kind(HemophagocyticSyndrome)
    return found[-1] if found else None


def _closed_day(ctx: RuleContext, diagnosis: HemophagocyticSyndrome) -> int | None:
    """The day an excluded, resolved or ended diagnosis stopped applying (None while open)."""
    if diagnosis.end is not None and calendar_day(day_of(diagnosis.end)) < ctx.as_of_day:
        return calendar_day(day_of(diagnosis.end))
    if diagnosis.status in ("excluded", "resolved"):
        return calendar_day(day_of(diagnosis.start))
    return None


@rule(
    id="iec-hs.recorded",
    title="IEC-HS recorded",
    category="alert",
    decision="iec-hs",
    strength="alert",
    summary="A recorded IEC-HS (or HLH/MAS) diagnosis shows as recorded with its day and status, "
    "never as a suspicion. Excluded, resolved or ended: shown only when facts after it match a "
    "suspicion pattern again (see iec-hs.suspected). A documented active infection is named "
    "first, without anakinra or steroids.",
    citations=_CITATIONS,
    inputs=_INPUTS,
    settings=_SETTINGS,
)
def recorded_iec_hs(ctx: RuleContext) -> Outcome:
    """docs/decisions.md, IEC-HS: a recorded diagnosis shows as "IEC-HS recorded (day N)",
    not as a suspicion. JAIN L55 (anakinra plus high-dose steroids; refractory: ruxolitinib,
    cyclophosphamide, etoposide)."""
    diagnosis = _recorded(ctx)
    if ctx.as_of_day < 0 or diagnosis is None:
        return None
    name = _DIAGNOSIS_NAMES[diagnosis.diagnosis]
    day = calendar_day(day_of(diagnosis.start))
    recorded = event_fact(f"{name} recorded", diagnosis.status, day_of(diagnosis.start))
    closed = _closed_day(ctx, diagnosis)
    if closed is None:
        caveats = () if diagnosis.end is not None else ("No end date recorded.",)
        return _card(
            ctx,
            f"{name} recorded (day {day}, {diagnosis.status}): consider it as a cause of the "
            "cytopenia and follow ferritin, fibrinogen, triglycerides, liver tests and counts.",
            [recorded],
            caveats + _crs_caveats(ctx),
        )
    found = _pattern(ctx, max(_lookback_first_day(ctx), closed + 1))
    if not isinstance(found, list):
        return found
    return _card(
        ctx,
        f"{name} recorded (day {day}) as {diagnosis.status}; facts since day {closed} match a "
        f"suspicion pattern again: consider re-evaluating with {_WORKUP}.",
        [recorded, *found],
        (_SUSPICION, *_crs_caveats(ctx)),
    )


# -- a suspicion ---------------------------------------------------------------------------------
@rule(
    id="iec-hs.suspected",
    title="Suspected IEC-HS",
    category="alert",
    decision="iec-hs",
    strength="alert",
    summary="Suspected IEC-HS (never a diagnosis; none recorded): resolved CRS followed by very "
    "high or rapidly rising ferritin, new fever and new severe cytopenia; or, in any CRS state, "
    "very high or rapidly rising ferritin with new severe cytopenia and a supporting finding "
    "(transaminases, triglycerides > 265 mg/dL, fibrinogen < 150 mg/dL, splenomegaly, marrow "
    "hemophagocytosis); or ferritin at or above the setting with fever or a supporting finding "
    "when counts are missing (named). A rapid rise counts only from half the ferritin setting. A "
    "documented active infection is named first, without anakinra or steroids. HScore shown.",
    citations=_CITATIONS,
    inputs=[*_INPUTS, "disease_status", "hb", "jain_phase", "medication", "transfusion"],
    settings=[
        *_SETTINGS,
        "data_quality.open_episode_active_days",
        "cytopenia.anc_10e9_l",
        "cytopenia.hb_g_dl",
        "cytopenia.platelets_10e9_l",
        "data_quality.stale_days_prolonged",
        "gcsf.dependence_window_days",
        "severity.gcsf_dependent_days",
        "severity.persistent_min_values",
        "severity.persistent_window_days",
        "transfusion.dependence_min_transfusions",
        "transfusion.platelet_dependence_window_days",
        "transfusion.rbc_dependence_window_days",
    ],
)
def suspected_iec_hs(ctx: RuleContext) -> Outcome:
    """JAIN L47: suspect IEC-HS when resolved CRS is followed by a rapid ferritin rise (often
    > 10,000 ng/mL), recurrent fever and new severe cytopenia, especially with rising
    transaminases, hypertriglyceridemia, coagulopathy or new splenomegaly; marrow phagocytosis
    "will substantiate" it; L53: marrow for IEC-HS; L55: anakinra plus high-dose steroids,
    refractory cases ruxolitinib, cyclophosphamide or etoposide (anecdotal). HINES: IEC-HS also
    arises during CRS, often not tied to CRS severity. HLH-2004: triglycerides > 265 mg/dL,
    fibrinogen < 150 mg/dL. Infection first and the counts-missing pattern: docs/decisions.md.
    """
    if ctx.as_of_day < 0 or _recorded(ctx) is not None:
        return None
    found = _pattern(ctx, _lookback_first_day(ctx))
    if not isinstance(found, list):
        return found
    return _card(ctx, None, found, (_SUSPICION, *_crs_caveats(ctx)))
