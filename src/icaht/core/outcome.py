"""What a recommendation rule returns: :class:`Fired` (the action and the facts that triggered
it), :class:`CannotEvaluate` (the data it needs and lacks) or ``None`` (does not apply), with the
:class:`Fact` records both carry and the strength a card is shown with.

Kept apart from :mod:`icaht.core.rule` (the catalogue) so that the rule context and the severity
and marrow queries can build facts without importing the catalogue (docs/architecture.md,
Recommendations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import BaseModel

from icaht.core.frozen import FROZEN_CLOSED

Strength = Literal["consider", "source recommends", "alert"]
STRENGTHS: tuple[Strength, ...] = get_args(Strength)


class Fact(BaseModel):
    """One fact that triggered (or blocked) a recommendation: a value with its day."""

    model_config = FROZEN_CLOSED
    label: str
    value: str
    day: int | None = None


@dataclass(frozen=True, slots=True)
class Fired:
    """A rule applies: what to consider, and why."""

    action: str
    facts: tuple[Fact, ...]
    caveats: tuple[str, ...] = ()
    strength: Strength | None = None
    """Overrides the rule's default strength (e.g. a label limit crossed becomes an alert)."""


@dataclass(frozen=True, slots=True)
class CannotEvaluate:
    """A rule might apply but data it needs are missing or stale; ``missing`` names them."""

    missing: tuple[str, ...]
    facts: tuple[Fact, ...] = ()


Outcome = Fired | CannotEvaluate | None
