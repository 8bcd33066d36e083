"""Run the rule catalogue on one patient as of one day: the recommendations that fire, with the
facts that triggered them, their citations and the profile settings they used, and the rules that
could not be evaluated with the data they lack.

The system supports, it never decides (docs/architecture.md): actions are worded "consider ...".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from pydantic import BaseModel

from icaht.core.episodes import (
    Episode,
    Novelty,
    Shown,
    Signature,
    Trace,
    episode_key,
    episode_peak,
    novelty,
    said,
    signature,
    trace,
)
from icaht.core.frozen import FROZEN_CLOSED
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Strength
from icaht.core.rule import (
    CATEGORIES,
    EXCLUSIVE_DECISIONS,
    Category,
    Decision,
    Rule,
    setting_description,
    setting_value,
)
from icaht.core.rule_context import RuleContext
from icaht.core.rules import CATALOGUE
from icaht.core.tiers import Tier, standing_item, tier_of
from icaht.knowledge.bibliography import cite
from icaht.knowledge.profile import Profile


class CitedSource(BaseModel):
    """A citation as shown with a recommendation."""

    model_config = FROZEN_CLOSED
    key: str
    label: str
    where: str
    doi: str | None


class SettingUsed(BaseModel):
    """A profile setting a rule used, with its value and whether no source fixes it."""

    model_config = FROZEN_CLOSED
    name: str
    value: str
    project_default: bool


class Recommendation(BaseModel):
    """A fired rule: what to consider, the facts that triggered it, caveats and evidence; the
    episode it belongs to, its severity signature, its novelty against the day before and its
    tier (:mod:`icaht.core.episodes`, :mod:`icaht.core.tiers`)."""

    model_config = FROZEN_CLOSED
    rule_id: str
    title: str
    category: Category
    decision: Decision
    strength: Strength
    action: str
    facts: list[Fact]
    caveats: list[str]
    citations: list[CitedSource]
    settings: list[SettingUsed]
    episode: Episode
    signature: Signature
    novelty: Novelty
    tier: Tier

    def shown(self) -> Shown:
        """What :func:`icaht.core.episodes.novelty` compares."""
        return Shown(
            episode=self.episode,
            said=said(self.rule_id, self.action, self.strength),
            signature=self.signature,
        )


class NotEvaluated(BaseModel):
    """A rule that might apply but cannot be evaluated: the data it needs are named."""

    model_config = FROZEN_CLOSED
    rule_id: str
    title: str
    category: Category
    missing: list[str]
    facts: list[Fact]


@cache
def sources(rule: Rule) -> tuple[CitedSource, ...]:
    """The citations of a rule, resolved against the bibliography (computed once per rule)."""
    out = []
    for citation in rule.citations:
        ref = cite(citation.key)
        out.append(CitedSource(key=ref.key, label=ref.short(), where=citation.where, doi=ref.doi))
    return tuple(out)


@cache
def settings_used(rule: Rule, profile: Profile) -> tuple[SettingUsed, ...]:
    """The settings a rule reads, with this profile's values (computed once per rule and
    profile)."""
    out = []
    for name in rule.settings:
        value = setting_value(profile, name)
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        out.append(
            SettingUsed(
                name=name,
                value=shown,
                project_default="project default" in setting_description(name).lower(),
            )
        )
    return tuple(out)


_CATEGORY_ORDER = {category: i for i, category in enumerate(CATEGORIES)}


def run_rules(
    context: RuleContext, catalogue: tuple[Rule, ...] = CATALOGUE
) -> tuple[list[tuple[Rule, Fired]], list[tuple[Rule, CannotEvaluate]]]:
    """Evaluate every rule: the fired ones ordered by category, then catalogue order, and the ones
    that cannot be evaluated, in catalogue order (outcomes only, no display models).

    After a death on or before the as-of day nothing fires (docs/decisions.md, "Standing care,
    death and what is shown"). An exclusive decision shows one state at a time: its rules are
    written so that at most one fires (:func:`contradictions` finds any that do not); should two
    fire, the first in catalogue order is kept.
    """
    if context.death_day is not None:
        return [], []
    fired: list[tuple[Rule, Fired]] = []
    unevaluated: list[tuple[Rule, CannotEvaluate]] = []
    for rule, outcome in evaluate_all(context, catalogue):
        if isinstance(outcome, Fired):
            fired.append((rule, outcome))
        elif isinstance(outcome, CannotEvaluate):
            unevaluated.append((rule, outcome))
    shown: set[Decision] = set()
    kept: list[tuple[Rule, Fired]] = []
    for rule, outcome in fired:
        if rule.decision in EXCLUSIVE_DECISIONS:
            if rule.decision in shown:
                continue
            shown.add(rule.decision)
        kept.append((rule, outcome))
    kept.sort(key=lambda item: _CATEGORY_ORDER[item[0].category])
    return kept, unevaluated


def evaluate_all(
    context: RuleContext, catalogue: tuple[Rule, ...] = CATALOGUE
) -> list[tuple[Rule, Fired | CannotEvaluate | None]]:
    """Every rule's raw outcome, in catalogue order, before death and decision states apply
    (for :func:`contradictions` and the tests that prove the rules never need them)."""
    return [(rule, rule.evaluate(context)) for rule in catalogue]


def contradictions(
    context: RuleContext, catalogue: tuple[Rule, ...] = CATALOGUE
) -> list[tuple[str, str]]:
    """Pairs of rules of one exclusive decision that both fire as of this day (each pair is a
    fault in the rules: the engine would show only the first)."""
    seen: dict[Decision, str] = {}
    pairs: list[tuple[str, str]] = []
    for rule, outcome in evaluate_all(context, catalogue):
        if not isinstance(outcome, Fired) or rule.decision not in EXCLUSIVE_DECISIONS:
            continue
        if rule.decision in seen:
            pairs.append((seen[rule.decision], rule.id))
        else:
            seen[rule.decision] = rule.id
    return pairs


def fired_rule_ids(context: RuleContext, catalogue: tuple[Rule, ...] = CATALOGUE) -> list[str]:
    """Ids of the rules that fire, in the order of :func:`evaluate_rules`' recommendations."""
    return [rule.id for rule, _ in run_rules(context, catalogue)[0]]


def evaluate_rules(
    context: RuleContext,
    catalogue: tuple[Rule, ...] = CATALOGUE,
    day_before: Sequence[Recommendation] | None = None,
    episodes: bool = True,
) -> tuple[list[Recommendation], list[NotEvaluated]]:
    """Evaluate every rule; recommendations ordered by category, then catalogue order, each with
    its episode, severity signature, novelty against the day before and tier.

    The episodes are traced back day by day (:func:`icaht.core.episodes.trace`), unless the
    caller passes the recommendations of the day before the as-of day (a day-by-day replay): an
    episode then continues the one of the day before, the same answer without the walk back.
    With ``episodes=False`` (bulk rows that read only what fired: cohort, research export,
    ``icaht grade``) nothing is traced: every recommendation is a new episode of the as-of day.
    """
    fired, unevaluated = run_rules(context, catalogue)
    if not episodes:
        traces = continued(context.as_of_day, [rule for rule, _ in fired], ())
    elif day_before is None:
        traces = trace(
            context,
            [rule for rule, _ in fired],
            catalogue,
            standing=lambda rule_id: standing_item(rule_id) is not None,
        )
    else:
        traces = continued(context.as_of_day, [rule for rule, _ in fired], day_before)
    recommendations = [_recommendation(rule, outcome, context, traces) for rule, outcome in fired]
    not_evaluated = [
        NotEvaluated(
            rule_id=rule.id,
            title=rule.title,
            category=rule.category,
            missing=list(outcome.missing),
            facts=list(outcome.facts),
        )
        for rule, outcome in unevaluated
    ]
    return recommendations, not_evaluated


def continued(
    as_of_day: int, fired: Sequence[Rule], day_before: Sequence[Recommendation]
) -> dict[str, Trace]:
    """The traces of the ``fired`` rules' episodes given the recommendations of the day before."""
    before = {r.episode.key: r.shown() for r in day_before}
    out: dict[str, Trace] = {}
    for rule in fired:
        shown = before.get(episode_key(rule))
        if standing_item(rule.id) is not None:
            began = 0  # a standing-care item is one episode (icaht.core.episodes.trace)
        else:
            began = as_of_day if shown is None else shown.episode.began_day
        out[episode_key(rule)] = Trace(began_day=began, day_before=shown)
    return out


def _recommendation(
    rule: Rule, outcome: Fired, context: RuleContext, traces: dict[str, Trace]
) -> Recommendation:
    key = episode_key(rule)
    strength = outcome.strength or rule.strength
    episode = Episode(key=key, began_day=traces[key].began_day)
    standing = standing_item(rule.id) is not None
    sig = episode_peak(signature(rule, context), traces[key].day_before, standing)
    shown = Shown(episode=episode, said=said(rule.id, outcome.action, strength), signature=sig)
    new = novelty(traces[key].day_before, shown, standing)
    return Recommendation(
        rule_id=rule.id,
        title=rule.title,
        category=rule.category,
        decision=rule.decision,
        strength=strength,
        action=outcome.action,
        facts=list(outcome.facts),
        caveats=list(outcome.caveats),
        citations=list(sources(rule)),
        settings=list(settings_used(rule, context.profile)),
        episode=episode,
        signature=sig,
        novelty=new,
        tier=tier_of(rule.id, rule.decision, strength, new),
    )
