"""What a user last looked at (kept with the audit entry of each patient page view, for "new
since you last looked"), and the cards of a look ordered by tier."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.core.episodes import Shown
from icaht.core.guidance import Recommendation
from icaht.core.rule import CATEGORIES
from icaht.service.dashboard.decisions import Decision
from icaht.store.tables import AuditEntry

#: The audit action of a patient page view; its detail keeps the recommendations shown.
LOOK_ACTION = "dashboard-patient"


def shown_detail(recommendations: Iterable[Recommendation]) -> list[dict[str, Any]]:
    """The compact form of a view stored with its audit entry (:class:`Shown` per card)."""
    return [r.shown().model_dump(mode="json") for r in recommendations]


def last_views(db: Session, actor: str, patient_key: str | None = None) -> dict[str, list[Shown]]:
    """The recommendations each patient's page last showed this user (patient key -> view)."""
    query = select(AuditEntry).where(AuditEntry.action == LOOK_ACTION, AuditEntry.actor == actor)
    if patient_key is not None:
        query = query.where(AuditEntry.patient_key == patient_key)
    out: dict[str, list[Shown]] = {}
    for entry in db.scalars(query.order_by(AuditEntry.id)):
        shown = (entry.detail or {}).get("shown")
        if entry.patient_key is not None and isinstance(shown, list):
            out[entry.patient_key] = [Shown.model_validate(item) for item in shown]
    return out


def by_tier(
    recommendations: Sequence[Recommendation], covered: dict[str, Decision]
) -> list[tuple[str, list[Recommendation]]]:
    """Cards ordered by tier, then category (catalogue order within one): act now, review,
    folded (with every card a decision still covers); standing cards go to the checklist."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    tiers: dict[str, list[Recommendation]] = {"act now": [], "review": [], "folded": []}
    for rec in sorted(recommendations, key=lambda r: order[r.category]):
        if rec.tier == "standing":
            continue
        tiers["folded" if rec.rule_id in covered else rec.tier].append(rec)
    return [(tier, recs) for tier, recs in tiers.items() if recs]
