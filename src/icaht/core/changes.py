"""What changed between two views of a patient (docs/architecture.md, "Decisions, episodes and
tiers"): the recommendations that are new, changed, resolved and unchanged since a previous
as-of day, or since the last time a user saw the patient. ``replay`` and the presenters that show
"new since you last looked" use the same function.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from icaht.core.episodes import Shown, novelty
from icaht.core.frozen import FROZEN
from icaht.core.guidance import Recommendation
from icaht.core.tiers import standing_item, tier_of


class Changes(BaseModel):
    """Recommendations compared by episode: ``resolved`` holds the previous ones whose episode
    is over (no longer fired, or replaced by a new episode of the same key)."""

    model_config = FROZEN
    new: list[Recommendation]
    changed: list[Recommendation]
    resolved: list[Recommendation]
    unchanged: list[Recommendation]


def against(previous: Sequence[Shown], current: Sequence[Recommendation]) -> list[Recommendation]:
    """The current recommendations with their novelty and tier taken against a ``previous``
    view instead of the day before (e.g. the view the user last saw, as stored)."""
    before = {s.episode.key: s for s in previous}
    out = []
    for rec in current:
        standing = standing_item(rec.rule_id) is not None
        new = novelty(before.get(rec.episode.key), rec.shown(), standing)
        tier = tier_of(rec.rule_id, rec.decision, rec.strength, new)
        out.append(rec.model_copy(update={"novelty": new, "tier": tier}))
    return out


def changes(previous: Sequence[Recommendation], current: Sequence[Recommendation]) -> Changes:
    """Compare two lists of recommendations (each from one assessment) by episode."""
    compared = against([r.shown() for r in previous], current)
    now = {r.episode for r in current}
    return Changes(
        new=[r for r in compared if r.novelty == "new"],
        changed=[r for r in compared if r.novelty == "changed"],
        resolved=[r for r in previous if r.episode not in now],
        unchanged=[r for r in compared if r.novelty == "unchanged"],
    )
