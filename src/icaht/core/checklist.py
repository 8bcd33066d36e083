"""The standing-care checklist (docs/decisions.md, "Standing care, death and what is shown"):
antiviral and PJP prophylaxis, irradiated products, follow-up at the CAR-T centre, secondary-
malignancy vigilance and risk factors form one checklist with a state per item, shown once and
acknowledged once. An item is raised again only when its facts change: its state, or the rules
that fire for it and what they advise (e.g. a new cytopenia makes TMP-SMX a concern: the PJP
advice changes). The daily facts of a rule (today's day number, today's count) do not raise it.

When the record holds no medication list (no medication recorded and the medication stream not
declared complete), the prophylaxis items whose advice fired read "not recorded" and one item,
"Prophylaxis not recorded", says so once instead of advising each drug every day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from icaht.core.frozen import FROZEN
from icaht.core.guidance import CitedSource, Recommendation
from icaht.core.record import Medication
from icaht.core.rule_context import RuleContext
from icaht.core.tiers import STANDING_ITEMS, StandingItem

ItemState = Literal["to do", "done", "not applicable", "not recorded"]
#: States that ask for attention when they appear or change.
RAISING_STATES: frozenset[ItemState] = frozenset({"to do"})
NOT_RECORDED_ID = "prophylaxis-not-recorded"


class ChecklistItem(BaseModel):
    """One standing item as of the as-of day."""

    model_config = FROZEN
    id: str
    title: str
    state: ItemState
    advice: list[str]
    rule_ids: list[str]
    citations: list[CitedSource]
    facts_key: str

    @property
    def raises(self) -> bool:
        """Whether this item asks for attention (when it is new or its facts changed)."""
        return self.state in RAISING_STATES


def _key(state: str, advice: Sequence[tuple[str, str]]) -> str:
    text = "|".join([state, *(f"{rule_id}:{action}" for rule_id, action in advice)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _citations(fired: Sequence[Recommendation]) -> list[CitedSource]:
    """The sources of the advice, each once, in order."""
    out: dict[tuple[str, str], CitedSource] = {}
    for rec in fired:
        for source in rec.citations:
            out.setdefault((source.key, source.where), source)
    return list(out.values())


def _no_medication_list(context: RuleContext) -> bool:
    return not context.stream_complete("medications") and not context.course.of_kind(Medication)


def _item(
    spec: StandingItem, context: RuleContext, fired: list[Recommendation], unrecorded: bool
) -> ChecklistItem:
    state: ItemState
    if fired:
        state = "not recorded" if unrecorded and spec.drugs else "to do"
    elif spec.drugs and context.active_medications(spec.drugs):
        state = "done"
    else:
        state = "not applicable"
    advice = [(r.rule_id, r.action) for r in fired]
    return ChecklistItem(
        id=spec.id,
        title=spec.title,
        state=state,
        advice=[action for _, action in advice],
        rule_ids=[rule_id for rule_id, _ in advice],
        citations=_citations(fired),
        facts_key=_key(state, advice),
    )


def checklist(
    context: RuleContext, recommendations: Sequence[Recommendation]
) -> list[ChecklistItem]:
    """The checklist as of the context's day (empty after a death: nothing is recommended)."""
    if context.death_day is not None:
        return []
    unrecorded = _no_medication_list(context)
    items = [
        _item(spec, context, [r for r in recommendations if r.rule_id in spec.rule_ids], unrecorded)
        for spec in STANDING_ITEMS
    ]
    missing = [item for item in items if item.state == "not recorded"]
    if not missing:
        return items
    titles = ", ".join(item.title for item in missing)
    summary = ChecklistItem(
        id=NOT_RECORDED_ID,
        title="Prophylaxis not recorded",
        state="to do",
        advice=[
            f"The record holds no medication list: check {titles} against the advice of each "
            "item (if it is running, the advice does not apply)."
        ],
        rule_ids=[rule_id for item in missing for rule_id in item.rule_ids],
        citations=[c for item in missing for c in item.citations],
        facts_key=_key("to do", [(item.id, item.facts_key) for item in missing]),
    )
    return [summary, *items]


def raised(
    previous: Sequence[ChecklistItem] | None, current: Sequence[ChecklistItem]
) -> list[ChecklistItem]:
    """The items that ask for attention now: raising items that are new or whose facts changed
    since ``previous`` (None: never seen, every raising item)."""
    seen = {item.id: item.facts_key for item in previous or ()}
    return [item for item in current if item.raises and seen.get(item.id) != item.facts_key]
