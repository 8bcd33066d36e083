"""The IEC-HS suspicion patterns of :mod:`icaht.core.rules.iec_hs` (classic, any CRS state, counts
missing): ferritin, new fever, new severe cytopenia and the supporting findings.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Hines et al. (IEC-HS);
HLH-2004.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from icaht.core.course import Series, day_of
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fact
from icaht.core.record import CrsEpisode, Fever, Finding, Infection
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import ANALYTES, Analyte
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


def lookback_first_day(ctx: RuleContext) -> int:
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


def active_infection(ctx: RuleContext) -> Infection | None:
    """A documented infection still open on the as-of day (any severity), the latest first."""
    for infection in reversed(ctx.course.of_kind(Infection)):
        if infection.end is None or calendar_day(day_of(infection.end)) >= ctx.as_of_day:
            return infection
    return None


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


def supporting_findings(ctx: RuleContext, first_day: int) -> list[Fact]:
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


def hscore_fact(ctx: RuleContext) -> Fact:
    score = ctx.scores.hscore
    if score.computable and score.total is not None:
        return fact("HScore", f"{score.total:g} (probability {score.probability})")
    bounds = (
        ""
        if score.minimum is None or score.maximum is None
        else f"range {score.minimum:g}-{score.maximum:g}; "
    )
    return fact("HScore", f"not computable ({bounds}missing: {', '.join(score.missing)})")


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
    if not cytopenia or not supporting_findings(ctx, first_day):
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
    if fever is None and not supporting_findings(ctx, first_day):
        return CannotEvaluate(missing=tuple(missing), facts=tuple(ferritin))
    return [
        fact("Pattern", "ferritin at or above the setting with fever or a supporting finding"),
        *ferritin,
        *([] if fever is None else [fever]),
        fact("Counts missing (new cytopenia not assessable)", "; ".join(missing)),
    ]


def suspicion_pattern(ctx: RuleContext, first_day: int) -> Pattern:
    """The first suspicion pattern met from ``first_day`` (classic, any CRS state, counts
    missing); else the first "cannot evaluate"; else None."""
    crs_end = _resolved_crs_end_day(ctx)
    classic = None if crs_end is None else _classic(ctx, first_day, crs_end)
    if isinstance(classic, list):
        return classic
    found = (classic, _any_crs_state(ctx, first_day), _counts_missing(ctx, first_day))
    met = next((f for f in found if isinstance(f, list)), None)
    return met if met is not None else next((f for f in found if f is not None), None)
