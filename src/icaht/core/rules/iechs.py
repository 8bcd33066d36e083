"""IEC-HS (immune effector cell-associated HLH-like syndrome): suspicion, never diagnosis.

Two patterns fire the same rule (clinical-decisions.md, IEC-HS):

* **classic (JAIN L47)**: a CRS episode that has resolved (ended before the as-of day, none active),
  then, on calendar days after the CRS end and within the last ``iechs.lookback_days``, ALL of
  - the ferritin criterion: a value >= ``iechs.ferritin_ng_ml``, or a rapid rise (the latest value
    >= ``iechs.rise_fold`` x the lowest value of the last ``iechs.rise_window_days`` days);
  - new fever (a fever event);
  - new severe cytopenia: an ANC <= 0.5 or platelets < 20 x10^9/L whose previous value was outside
    that band, or an ANC falling to <= 0.1 from above it (worsening).
* **any CRS state (HINES)**: within the last ``iechs.lookback_days``, the ferritin criterion AND new
  severe cytopenia AND at least one supporting finding, whether or not CRS is active; an active
  CRS is named as a caveat (the features overlap).

Supporting findings (JAIN L47; HLH-2004): AST or ALT above the laboratory's ULN (without a ULN:
higher than an earlier value in the window), triglycerides > 265 mg/dL, fibrinogen < 150 mg/dL,
splenomegaly recorded after infusion. The HScore (Fardet) is shown as supporting information.

When a resolved CRS is followed by new fever and new severe cytopenia but no ferritin was measured
in the window, the rule cannot be evaluated and names ferritin.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from icaht.core.course import Series, day_of
from icaht.core.lineage import Measurement
from icaht.core.record import CrsEpisode, Fever, Finding
from icaht.core.rule import CannotEvaluate, Fact, Fired, Outcome, rule
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


# -- criteria ------------------------------------------------------------------------------------
def _ferritin(ctx: RuleContext, first_day: int) -> list[Fact] | None:
    """Facts of the ferritin criterion from ``first_day``; None when unmet or no value."""
    settings = ctx.profile.iechs
    recent = ctx.window(Analyte.FERRITIN, first_day, ctx.as_of_day)
    if not len(recent):
        return None
    top = int(recent.value.argmax())
    if recent.value[top] >= settings.ferritin_ng_ml:
        label = f"Ferritin >= {settings.ferritin_ng_ml:g}"
        return [lab_fact(Analyte.FERRITIN, _at(recent, top), label)]
    latest = _at(recent, len(recent) - 1)
    rise = ctx.window(
        Analyte.FERRITIN, ctx.as_of_day - settings.rise_window_days + 1, ctx.as_of_day
    )
    low = _at(rise, int(rise.value.argmin()))
    if low.value > 0 and latest.value >= settings.rise_fold * low.value and low.day < latest.day:
        return [
            lab_fact(Analyte.FERRITIN, low, "Ferritin, lowest of the rise window"),
            lab_fact(Analyte.FERRITIN, latest, f"Ferritin, rise >= {settings.rise_fold:g}-fold"),
        ]
    return None


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
def _classic(ctx: RuleContext, crs_end: int) -> list[Fact] | CannotEvaluate | None:
    """Resolved CRS, then ferritin criterion, new fever and new severe cytopenia (JAIN L47)."""
    first_day = max(_lookback_first_day(ctx), crs_end + 1)
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


def _any_crs_state(ctx: RuleContext) -> list[Fact] | None:
    """Ferritin criterion, new severe cytopenia and a supporting finding (HINES), any CRS state."""
    first_day = _lookback_first_day(ctx)
    ferritin = _ferritin(ctx, first_day)
    if ferritin is None:
        return None
    cytopenia = _new_cytopenia(ctx, first_day)
    if not cytopenia:
        return None
    supporting = _supporting(ctx, first_day)
    if not supporting:
        return None
    return [
        fact("Pattern", "ferritin, new severe cytopenia and a supporting finding (any CRS state)"),
        *ferritin,
        *cytopenia,
    ]


@rule(
    id="iec-hs.suspected",
    title="Suspected IEC-HS",
    category="alert",
    decision="iec-hs",
    strength="alert",
    summary="Suspected IEC-HS (never a diagnosis): resolved CRS followed by very high or rapidly "
    "rising ferritin, new fever and new severe cytopenia; or, in any CRS state, very high or "
    "rapidly rising ferritin with new severe cytopenia and a supporting finding (transaminases, "
    "triglycerides > 265 mg/dL, fibrinogen < 150 mg/dL, splenomegaly). HScore shown.",
    citations=[
        Citation("JAIN", "L47, L53, L55"),
        Citation("HINES", "Abstract"),
        Citation("HLH-2004", "Diagnostic criteria (triglycerides, fibrinogen)"),
        Citation("FARDET", "HScore table"),
    ],
    inputs=[
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
        "hscore",
    ],
    settings=[
        "iechs.ferritin_ng_ml",
        "iechs.rise_fold",
        "iechs.rise_window_days",
        "iechs.lookback_days",
    ],
)
def suspected_iec_hs(ctx: RuleContext) -> Outcome:
    """JAIN L47: suspect IEC-HS when resolved CRS is followed by a rapid ferritin rise (often
    > 10,000 ng/mL), recurrent fever and new severe cytopenia, especially with rising
    transaminases, hypertriglyceridemia, coagulopathy or new splenomegaly; L53: marrow for
    hemophagocytosis; L55: anakinra plus high-dose steroids, refractory cases ruxolitinib,
    cyclophosphamide or etoposide (anecdotal). HINES: IEC-HS also arises during CRS, often not
    tied to CRS severity. HLH-2004: triglycerides > 265 mg/dL, fibrinogen < 150 mg/dL."""
    if ctx.as_of_day < 0:
        return None
    crs_end = _resolved_crs_end_day(ctx)
    classic = None if crs_end is None else _classic(ctx, crs_end)
    facts = classic if isinstance(classic, list) else _any_crs_state(ctx)
    if facts is None:
        return classic if isinstance(classic, CannotEvaluate) else None
    supporting = _supporting(ctx, _lookback_first_day(ctx))
    caveats = ["A suspicion to assess clinically, not a diagnosis."]
    crs = ctx.crs_active()
    if crs is not None:
        caveats.append(
            f"CRS is active (grade {crs.grade}) and overlaps with these features; IEC-HS can arise "
            "during CRS and is often not tied to CRS severity (Hines 2023)."
        )
    return Fired(
        action="Consider an IEC-HS work-up (ferritin trend, fibrinogen, triglycerides, liver "
        "tests, bone marrow for hemophagocytosis). If suspicion is high, consider anakinra plus "
        "high-dose corticosteroids; for refractory IEC-HS, ruxolitinib, cyclophosphamide or "
        "etoposide are anecdotal options (weigh their cytotoxic effect on HSC and CAR-T cells).",
        facts=(*facts, *supporting, _hscore_fact(ctx)),
        caveats=tuple(caveats),
    )
