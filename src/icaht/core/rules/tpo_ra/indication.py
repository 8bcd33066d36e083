"""The TPO-RA platelet indication (:func:`tpo_ra_indication`), read by the candidate card and by the
marrow card that asks for a marrow before a TPO-RA.

References: those of :mod:`icaht.core.rules.tpo_ra` (seeds 001-004, the labels).
"""

from __future__ import annotations

import numpy as np

from icaht.core.lineage import Measurement
from icaht.core.outcome import Fact
from icaht.core.rule_context import RuleContext, fact, lab_fact
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.tpo_ra_criteria import LOW_PLATELETS_10E9_PER_L

INDICATION_SETTINGS = (
    "tpo_ra.earliest_day",
    "tpo_ra.low_platelet_consecutive_values",
    "tpo_ra.indication_persistence_days",
    "transfusion.platelet_dependence_window_days",
    "transfusion.dependence_min_transfusions",
)
INDICATION_INPUTS = (
    "platelets",
    "platelet_transfusion",
    "medication",
    "treatments",
    "tpo_ra_response",
)


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
