"""The transfusion decision (``transfusion``): red cell and platelet triggers and irradiated
products.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al. (ICAHT), Blood
2023, Table 3.
"""

from __future__ import annotations

from typing import Literal

from icaht.core.course import day_of
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import Transfusion
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.rules.queries import STALE_SETTINGS
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.bibliography import Citation

_PRODUCT_OF: dict[Analyte, Literal["rbc", "platelets"]] = {
    Analyte.HB: "rbc",
    Analyte.PLATELETS: "platelets",
}


def _missing_current(ctx: RuleContext, analyte: Analyte) -> str:
    return f"current {ANALYTES[analyte].display} (within {ctx.stale_days()} days)"


def _answered(ctx: RuleContext, product: Literal["rbc", "platelets"], value_day: float) -> bool:
    """A transfusion of ``product`` at or after the low value answers its trigger: the value
    stays the latest until the next draw, and the transfusion it triggered is already given."""
    return any(
        t.product == product and day_of(t.start) >= value_day
        for t in ctx.course.of_kind(Transfusion)
    )


def _under_trigger(
    ctx: RuleContext, analyte: Analyte, trigger: float
) -> tuple[Fact, ...] | CannotEvaluate | None:
    """The facts when the current value is under ``trigger`` and no transfusion of its product
    was given since; CannotEvaluate in the Jain early phase without a current value; else
    None."""
    current = ctx.current(analyte)
    if current is None:
        if ctx.phase == "early":
            return CannotEvaluate(missing=(_missing_current(ctx, analyte),))
        return None
    if current.value >= trigger or _answered(ctx, _PRODUCT_OF[analyte], current.day):
        return None
    unit = ANALYTES[analyte].canonical_unit
    return (lab_fact(analyte, current), fact("Trigger", f"< {trigger:g} {unit}"))


@rule(
    id="transfusion.rbc-trigger",
    title="RBC transfusion trigger",
    category="transfusion",
    decision="transfusion",
    summary="Current Hb under the profile trigger (default 7 g/dL) and no RBC transfusion since: "
    "consider an RBC transfusion per institutional thresholds, one unit at a time.",
    citations=[
        Citation("JAIN", "L7 (case 1), L35"),
        Citation("ICAHT", "Table 3"),
    ],
    inputs=["hb", "transfusion", "jain_phase"],
    settings=["transfusion_triggers.hb_trigger_g_dl", *STALE_SETTINGS],
)
def rbc_trigger(ctx: RuleContext) -> Outcome:
    """JAIN L35: PRBC per institutional thresholds; case 1 (L7) kept Hb > 7 g/dL. ICAHT Table 3:
    consider one unit at a time (limits iron overload); irradiated products."""
    facts = _under_trigger(ctx, Analyte.HB, ctx.profile.transfusion_triggers.hb_trigger_g_dl)
    if not isinstance(facts, tuple):
        return facts
    return Fired(
        action="Consider an RBC transfusion per institutional thresholds, one unit at a time "
        "(irradiated).",
        facts=facts,
    )


@rule(
    id="transfusion.platelet-trigger",
    title="Platelet transfusion trigger",
    category="transfusion",
    decision="transfusion",
    summary="Current platelets under the profile trigger (default 10 x10^9/L) and no platelet "
    "transfusion since: consider a platelet transfusion per institutional thresholds.",
    citations=[
        Citation("JAIN", "L7 (case 1), L35"),
        Citation("ICAHT", "Table 3"),
    ],
    inputs=["platelets", "transfusion", "jain_phase"],
    settings=["transfusion_triggers.platelet_trigger_10e9_l", *STALE_SETTINGS],
)
def platelet_trigger(ctx: RuleContext) -> Outcome:
    """JAIN L35: platelets per institutional thresholds; case 1 (L7) kept platelets > 10 x10^3/uL.
    ICAHT Table 3: institutional standards; irradiated products."""
    trigger = ctx.profile.transfusion_triggers.platelet_trigger_10e9_l
    facts = _under_trigger(ctx, Analyte.PLATELETS, trigger)
    if not isinstance(facts, tuple):
        return facts
    return Fired(
        action="Consider a platelet transfusion per institutional thresholds (irradiated).",
        facts=facts,
    )


def _trigger_met(ctx: RuleContext) -> list[Fact]:
    triggers = ctx.profile.transfusion_triggers
    out = []
    for analyte, trigger in (
        (Analyte.HB, triggers.hb_trigger_g_dl),
        (Analyte.PLATELETS, triggers.platelet_trigger_10e9_l),
    ):
        current = ctx.current(analyte)
        if current is not None and current.value < trigger:
            out.append(lab_fact(analyte, current, f"{ANALYTES[analyte].display} under trigger"))
    return out


@rule(
    id="transfusion.irradiated-products",
    title="Irradiated blood products",
    category="transfusion",
    decision="transfusion",
    summary="From infusion until the set day (default day 90), when RBC or platelet transfusions "
    "are recorded or a transfusion trigger is met: consider irradiated products. An alert when a "
    "transfusion in that window is recorded as not irradiated.",
    citations=[Citation("ICAHT", "Table 3")],
    inputs=["transfusion", "hb", "platelets", "jain_phase"],
    settings=[
        "transfusion_triggers.irradiated_until_day",
        "transfusion_triggers.hb_trigger_g_dl",
        "transfusion_triggers.platelet_trigger_10e9_l",
        *STALE_SETTINGS,
    ],
)
def irradiated_products(ctx: RuleContext) -> Outcome:
    """ICAHT Table 3 (pRBC/platelet transfusions): irradiated products from 7 days before
    leukapheresis until >= 90 days after infusion (fludarabine). The window here starts at
    infusion (the leukapheresis date is not in the record)."""
    until = ctx.profile.transfusion_triggers.irradiated_until_day
    if not 0 <= ctx.as_of_day <= until:
        return None
    given = [t for t in ctx.course.of_kind(Transfusion) if t.product in ("rbc", "platelets")]
    triggered = _trigger_met(ctx)
    if not given and not triggered:
        return None
    not_irradiated = [
        t for t in given if t.irradiated is False and 0 <= calendar_day(day_of(t.start)) <= until
    ]
    facts = [*triggered]
    if given:
        last = given[-1]
        facts.append(event_fact("Last transfusion", f"{last.product}", day_of(last.start)))
    facts += [
        event_fact("Transfusion NOT irradiated", t.product, day_of(t.start)) for t in not_irradiated
    ]
    return Fired(
        action=f"Consider irradiated blood products until at least day {until} after infusion "
        "(fludarabine lymphodepletion).",
        facts=tuple(facts),
        strength="alert" if not_irradiated else None,
    )
