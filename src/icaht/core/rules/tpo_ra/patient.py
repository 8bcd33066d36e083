"""What every TPO-RA card reads of the patient: the child and CHIP caveats and the eltrombopag cap
by age.

References: those of :mod:`icaht.core.rules.tpo_ra` (seeds 001-004, the labels).
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.outcome import Fact
from icaht.core.record import Chip
from icaht.core.rule_context import RuleContext, event_fact, fact
from icaht.knowledge.tpo_ra_criteria import (
    ELTROMBOPAG_CHILD_OLDER_FROM_YEARS,
    ELTROMBOPAG_LABEL_MAX_MG_DAY,
)


def patient_caveats(ctx: RuleContext) -> tuple[str, ...]:
    """Caveats every TPO-RA card carries: a child (JAIN L73) and known CHIP (JAIN L65)."""
    out: list[str] = []
    if ctx.is_child():
        out.append(
            "Child: JAIN notes that thrombopoietin mimetics might trigger myeloid clonal "
            "evolution, and that prolonged growth factors are often deferred in children (most "
            "are BMT candidates after CAR-T)."
        )
    chip = chip_fact(ctx)
    if chip is not None:
        out.append(
            f"CHIP known ({chip.value}): JAIN has seen MDS emerge within 90 days after CAR-T in "
            "patients with preceding CHIP; weigh a TPO-RA with this risk."
        )
    return tuple(out)


def chip_fact(ctx: RuleContext) -> Fact | None:
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


def is_young_child(ctx: RuleContext) -> bool:
    """A child in the label's 1-5 year band (or younger)."""
    age = ctx.course.facts.age_years
    return bool(ctx.is_child()) and age is not None and age < ELTROMBOPAG_CHILD_OLDER_FROM_YEARS


def eltrombopag_cap(ctx: RuleContext) -> float:
    """The titration cap: JAIN/BK 150 mg/day for adults (setting); the label maximum of 75 mg/day
    for a child (never an adult dose for a child)."""
    cap = ctx.profile.tpo_ra.eltrombopag_max_mg_day
    return min(cap, ELTROMBOPAG_LABEL_MAX_MG_DAY) if ctx.is_child() else cap
