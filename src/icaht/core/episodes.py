"""Episodes and severity signatures of fired recommendations (docs/architecture.md, "Decisions,
episodes and tiers"; docs/decisions.md, "Standing care, death and what is shown").

- The **episode key** is the decision for a decision that shows one state at a time
  (:data:`~icaht.core.rule.EXCLUSIVE_DECISIONS`: a change of state inside it is the same episode,
  changed), else the rule id.
- An episode **began** on the first day of the unbroken run of calendar days, ending on the as-of
  day, on which the key fired (a standing-care item is one episode from day 0). Each earlier day
  is judged as of that day (the course cut at its end, as :func:`~icaht.core.assessment.assess`
  would have judged it then: no look-ahead); the walk back stops at the first day the key did not
  fire, or at the first day of the record (or day 0 when the record starts later). A key that
  fires, stops for a day and fires again is a new episode.
- The **severity signature** is the highest current CTCAE grade of the blood lineages the rule
  reads, and the lineages among them that are severe today (current CTCAE grade >= 3, or a severity
  term of :mod:`icaht.core.severity`). It is *worse* than another when the grade is higher or a
  lineage is new. A recommendation carries the **peak** of its episode: the worst signature of
  every day the episode fired up to the as-of day (standing care: the day's own). Counts that
  swing between transfusions (a trough of grade 4, grade 3 after the transfusion, grade 4 again)
  make the episode worse only when they pass the worst it has already been.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import BaseModel

from icaht.core.course import Course, day_of
from icaht.core.frozen import FROZEN_CLOSED
from icaht.core.outcome import Fired, Strength
from icaht.core.rule import EXCLUSIVE_DECISIONS, Rule
from icaht.core.rule_context import RuleContext
from icaht.knowledge.analytes import Analyte

Novelty = Literal["new", "changed", "unchanged"]
NOVELTIES: tuple[Novelty, ...] = get_args(Novelty)

#: Current CTCAE v5 grade from which a lineage counts as severe in a signature (grade 3 is
#: "severe", CTCAE v5.0).
SEVERE_CTCAE_GRADE = 3

#: Rule inputs that name a blood lineage (analyte or derived support state) -> lineage name.
_LINEAGE_OF_INPUT: dict[str, str] = {
    Analyte.ANC.value: "neutrophils",
    "gcsf_dependence": "neutrophils",
    Analyte.PLATELETS.value: "platelets",
    "platelet_transfusion": "platelets",
    Analyte.HB.value: "red cells",
    "rbc_transfusion": "red cells",
}
_ANALYTE_OF_LINEAGE: dict[str, Analyte] = {
    "neutrophils": Analyte.ANC,
    "platelets": Analyte.PLATELETS,
    "red cells": Analyte.HB,
}
_LINEAGE_ORDER = tuple(_ANALYTE_OF_LINEAGE)


class Episode(BaseModel):
    """The episode a recommendation belongs to: its key and the day its trigger began."""

    model_config = FROZEN_CLOSED
    key: str
    began_day: int

    @property
    def id(self) -> str:
        """A stable text id (``key@day``) for stores and forms."""
        return f"{self.key}@{self.began_day}"


class Signature(BaseModel):
    """How severe the situation of a recommendation is: grade and severe lineages."""

    model_config = FROZEN_CLOSED
    grade: int | None
    lineages: tuple[str, ...]

    def worse_than(self, other: Signature) -> bool:
        """A higher grade, or a lineage that ``other`` did not have."""
        higher = (self.grade if self.grade is not None else -1) > (
            other.grade if other.grade is not None else -1
        )
        return higher or not set(self.lineages) <= set(other.lineages)

    def merged(self, other: Signature | None) -> Signature:
        """The worst of two signatures: the higher grade and every lineage of either."""
        if other is None:
            return self
        grades = [g for g in (self.grade, other.grade) if g is not None]
        lineages = set(self.lineages) | set(other.lineages)
        return Signature(
            grade=max(grades, default=None),
            lineages=tuple(name for name in _LINEAGE_ORDER if name in lineages),
        )


class Shown(BaseModel):
    """What a comparison of two views needs of one fired recommendation (compact, so that a
    view can be stored with the audit entry of a page that showed it)."""

    model_config = FROZEN_CLOSED
    episode: Episode
    said: str
    """A digest of the rule id, action and strength (:func:`said`)."""
    signature: Signature


def said(rule_id: str, action: str, strength: Strength) -> str:
    """A short digest of what a recommendation says (rule id, action and strength)."""
    return hashlib.sha256(f"{rule_id}|{action}|{strength}".encode()).hexdigest()[:16]


def novelty(previous: Shown | None, current: Shown, standing: bool = False) -> Novelty:
    """New (no previous, or another episode), changed (same episode with another rule, action or
    strength, or, unless the advice is standing care, a worse signature) or unchanged. Standing
    care does not change with the counts: its checklist is raised again when its advice does."""
    if previous is None or previous.episode != current.episode:
        return "new"
    if previous.said != current.said:
        return "changed"
    worse = not standing and current.signature.worse_than(previous.signature)
    return "changed" if worse else "unchanged"


def episode_key(rule: Rule) -> str:
    """The decision for an exclusive decision, else the rule id."""
    return rule.decision if rule.decision in EXCLUSIVE_DECISIONS else rule.id


def signature(rule: Rule, context: RuleContext) -> Signature:
    """The severity signature of a rule that fired in ``context`` (module docstring)."""
    read = {_LINEAGE_OF_INPUT[name] for name in rule.inputs if name in _LINEAGE_OF_INPUT}
    grades: dict[str, int] = {}
    for lineage in read:
        status = context.lineage(_ANALYTE_OF_LINEAGE[lineage])
        if status is not None and status.latest_ctcae is not None:
            grades[lineage] = status.latest_ctcae
    severe: set[str] = {s.lineage for s in context.severe_lineages if s.lineage in read}
    severe |= {name for name, grade in grades.items() if grade >= SEVERE_CTCAE_GRADE}
    return Signature(
        grade=max(grades.values(), default=None),
        lineages=tuple(name for name in _LINEAGE_ORDER if name in severe),
    )


@dataclass(frozen=True, slots=True)
class Trace:
    """The look back of one episode key: the day it began and, when it fired the day before,
    what it said then (with the episode's peak signature up to that day)."""

    began_day: int
    day_before: Shown | None


def _first_day(course: Course, as_of_day: int) -> int:
    """The earliest day the walk back visits: the record's first data day, or day 0 when the
    record starts later (rules about the time since infusion fire from day 0 without data)."""
    days = [float(s.day[0]) for s in course.labs.values() if len(s)]
    days += [day_of(e.start) for e in course.events]
    first = math.floor(min(days)) if days else 0
    return min(first, 0, as_of_day)


def _first_fired(rules: Sequence[Rule], context: RuleContext) -> tuple[Rule, Fired] | None:
    for rule in rules:
        outcome = rule.evaluate(context)
        if isinstance(outcome, Fired):
            return rule, outcome
    return None


def trace(
    context: RuleContext,
    fired: Sequence[Rule],
    catalogue: Sequence[Rule],
    standing: Callable[[str], bool] = lambda _rule_id: False,
) -> dict[str, Trace]:
    """For each episode key of the ``fired`` rules: when its unbroken run began, and what it
    said on the day before the as-of day (None when it did not fire then).

    A key whose rules are all standing care (``standing(rule_id)``: the checklist items, advice
    that applies for months) is one episode from day 0: only the day before is evaluated for
    it, which keeps the walk back short (the checklist raises such an item again when its facts
    change, :mod:`icaht.core.checklist`)."""
    members: dict[str, list[Rule]] = {episode_key(rule): [] for rule in fired}
    for rule in catalogue:
        key = episode_key(rule)
        if key in members and (rule.decision in EXCLUSIVE_DECISIONS or rule in fired):
            members[key].append(rule)
    fixed = {key for key, rules in members.items() if all(standing(r.id) for r in rules)}
    began = {key: 0 if key in fixed else context.as_of_day for key in members}
    before: dict[str, tuple[Rule, Fired]] = {}
    peak: dict[str, Signature] = {}
    pending = set(members)
    first = _first_day(context.course, context.as_of_day)
    day = context.as_of_day - 1
    while pending and day >= first:
        earlier = RuleContext.as_of(context.course, float(day), context.profile)
        for key in sorted(pending):
            hit = _first_fired(members[key], earlier)
            if hit is None or key in fixed:
                pending.discard(key)
            if hit is None:
                continue
            if key not in fixed:
                began[key] = day
            peak[key] = signature(hit[0], earlier).merged(peak.get(key))
            if day == context.as_of_day - 1:
                before[key] = hit
        day -= 1
    return {
        key: Trace(start, _shown(key, start, before.get(key), peak.get(key)))
        for key, start in began.items()
    }


def _shown(
    key: str, began_day: int, hit: tuple[Rule, Fired] | None, peak: Signature | None
) -> Shown | None:
    if hit is None or peak is None:
        return None
    rule, outcome = hit
    return Shown(
        episode=Episode(key=key, began_day=began_day),
        said=said(rule.id, outcome.action, outcome.strength or rule.strength),
        signature=peak,
    )


def episode_peak(today: Signature, day_before: Shown | None, standing: bool) -> Signature:
    """The signature a recommendation carries: the worst of today's and the episode's peak up
    to the day before (module docstring); standing care carries today's."""
    if standing or day_before is None:
        return today
    return today.merged(day_before.signature)
