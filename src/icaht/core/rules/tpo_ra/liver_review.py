"""The eltrombopag liver review card: ALT >= 3x ULN (label boxed warning).

References: those of :mod:`icaht.core.rules.tpo_ra` (seeds 001-004, the labels).
"""

from __future__ import annotations

import numpy as np

from icaht.core.drug_courses import ELTROMBOPAG
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Outcome
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, fact, lab_fact
from icaht.core.rules.tpo_ra.card import COURSE_CITATIONS, course_card
from icaht.core.rules.tpo_ra.state import COURSE_INPUTS, STATE_SETTINGS, alt_high, course_view
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.tpo_ra_criteria import ALT_PERSISTENT_WEEKS, ALT_STOP_ULN_MULTIPLE


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
    citations=[Citation("LABEL-ELTROMBOPAG", "boxed warning: hepatotoxicity"), *COURSE_CITATIONS],
    inputs=[*COURSE_INPUTS, "jain_phase", "transfusion"],
    settings=STATE_SETTINGS,
)
def eltrombopag_alt_rise(ctx: RuleContext) -> Outcome:
    view = course_view(ctx)
    if view is None or not any(c.drug == ELTROMBOPAG for c in view.courses):
        return None
    high = alt_high(ctx)
    if view.card != "tpo-ra.eltrombopag-alt-rise" or high is None:
        return _alt_uln_missing(ctx)
    latest, uln = high
    since = _alt_run_start(ctx)
    return course_card(
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
