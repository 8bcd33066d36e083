"""Acknowledging, dismissing or snoozing a recommendation episode (or a standing checklist item),
kept in the append-only audit log (docs/worklist.md, "Dashboard decisions").

The store has no table for decisions, so a decision is an audit entry (``store.audit.audit``)
with the action ``recommendation-accepted`` (acknowledged), ``recommendation-dismissed``,
``recommendation-snoozed`` or ``recommendation-reopened``; its detail holds the rule id, the
as-of day, the reason, and the episode it applies to (key, day it began, severity signature) or,
for a checklist item, the item's facts key; a snooze holds the day it ends. The latest entry per
episode key wins; a reopened key counts as open again. Dismissing needs a reason.

A decision covers a recommendation only while it is the same episode with a signature that is not
worse, and a snooze only before its day: a new episode, a worse signature or the snooze's end opens
it again. Entries written before episodes existed (rule id and as-of day only: the migration of
the old decisions) apply to the episode that was running on their as-of day, so an episode that
began after it is new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.core.checklist import ChecklistItem
from icaht.core.episodes import Signature, episode_key
from icaht.core.guidance import Recommendation
from icaht.core.rules import CATALOGUE
from icaht.store.audit import audit
from icaht.store.tables import AuditEntry

Choice = Literal["accept", "dismiss", "snooze", "reopen"]
ACTIONS: dict[str, str] = {
    "accept": "recommendation-accepted",
    "dismiss": "recommendation-dismissed",
    "snooze": "recommendation-snoozed",
    "reopen": "recommendation-reopened",
}
_CHOICE_OF = {action: choice for choice, action in ACTIONS.items()}
#: What each choice reads as on the page.
CHOICE_WORDS = {"accept": "Acknowledged", "dismiss": "Dismissed", "snooze": "Snoozed"}
#: Longest reason kept (project default).
MAX_REASON_CHARS = 500
#: Key prefix of a standing checklist item in the decisions.
CHECKLIST_PREFIX = "checklist:"
_KEY_OF_RULE = {rule.id: episode_key(rule) for rule in CATALOGUE}


@dataclass(frozen=True, slots=True)
class Decision:
    """The standing decision on one episode key of one patient."""

    rule_id: str
    choice: str
    actor: str
    at: datetime
    reason: str
    as_of_day: int | None
    key: str
    began_day: int | None = None
    signature: Signature | None = None
    facts_key: str | None = None
    until_day: int | None = None

    @property
    def word(self) -> str:
        return CHOICE_WORDS.get(self.choice, self.choice)

    def _active(self, day: int) -> bool:
        return self.choice != "snooze" or (self.until_day is not None and day < self.until_day)

    def covers(self, rec: Recommendation, day: int) -> bool:
        """Whether this decision still applies to ``rec`` shown as of ``day``."""
        if self.key != rec.episode.key or not self._active(day):
            return False
        if self.began_day is None:  # written before episodes: the episode running then
            return self.as_of_day is not None and rec.episode.began_day <= self.as_of_day
        if self.began_day != rec.episode.began_day:
            return False
        return self.signature is None or not rec.signature.worse_than(self.signature)

    def covers_item(self, item: ChecklistItem, day: int) -> bool:
        """Whether this decision still applies to a checklist item (its facts unchanged)."""
        return (
            self.key == CHECKLIST_PREFIX + item.id
            and self._active(day)
            and self.facts_key == item.facts_key
        )


def record_decision(
    db: Session,
    *,
    actor: str,
    remote: str | None,
    patient_key: str,
    subject: Recommendation | ChecklistItem,
    choice: Choice,
    reason: str,
    as_of_day: int,
    until_day: int | None = None,
) -> None:
    """Append a decision on a recommendation's episode or a checklist item (the caller
    commits)."""
    detail: dict[str, Any] = {"reason": reason, "as_of_day": as_of_day, "until_day": until_day}
    if isinstance(subject, Recommendation):
        detail |= {
            "rule_id": subject.rule_id,
            "episode": subject.episode.key,
            "began_day": subject.episode.began_day,
            "grade": subject.signature.grade,
            "lineages": list(subject.signature.lineages),
        }
    else:
        detail |= {
            "rule_id": CHECKLIST_PREFIX + subject.id,
            "episode": CHECKLIST_PREFIX + subject.id,
            "facts_key": subject.facts_key,
        }
    audit(
        db,
        actor=actor,
        action=ACTIONS[choice],
        patient_key=patient_key,
        remote=remote,
        detail=detail,
    )


def _rows(db: Session, patient_key: str | None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action.in_(tuple(ACTIONS.values())))
    if patient_key is not None:
        query = query.where(AuditEntry.patient_key == patient_key)
    return list(db.scalars(query.order_by(AuditEntry.id)))


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _decision(entry: AuditEntry, detail: dict[str, Any], rule_id: str, key: str) -> Decision:
    lineages = detail.get("lineages")
    began = _int(detail.get("began_day"))
    return Decision(
        rule_id=rule_id,
        choice=_CHOICE_OF[entry.action],
        actor=entry.actor,
        at=entry.at,
        reason=str(detail.get("reason") or ""),
        as_of_day=_int(detail.get("as_of_day")),
        key=key,
        began_day=began,
        signature=None
        if began is None or not isinstance(lineages, list)
        else Signature(grade=_int(detail.get("grade")), lineages=tuple(map(str, lineages))),
        facts_key=detail.get("facts_key") if isinstance(detail.get("facts_key"), str) else None,
        until_day=_int(detail.get("until_day")),
    )


def _fold(entries: list[AuditEntry]) -> dict[str, dict[str, Decision]]:
    out: dict[str, dict[str, Decision]] = {}
    for entry in entries:
        detail = entry.detail or {}
        rule_id = str(detail.get("rule_id", ""))
        if not rule_id or entry.patient_key is None:
            continue
        key = str(detail.get("episode") or _KEY_OF_RULE.get(rule_id, rule_id))
        per_patient = out.setdefault(entry.patient_key, {})
        if _CHOICE_OF[entry.action] == "reopen":
            per_patient.pop(key, None)
            continue
        per_patient[key] = _decision(entry, detail, rule_id, key)
    return out


def decisions(db: Session, patient_key: str) -> dict[str, Decision]:
    """The standing decision per episode key for one patient."""
    return _fold(_rows(db, patient_key)).get(patient_key, {})


def all_decisions(db: Session) -> dict[str, dict[str, Decision]]:
    """The standing decisions of every patient (patient key -> episode key -> decision)."""
    return _fold(_rows(db, None))


def covering(
    decided: dict[str, Decision], recommendations: Sequence[Recommendation], day: int
) -> dict[str, Decision]:
    """The decisions that still apply to the recommendations shown as of ``day``, by rule id."""
    out = {}
    for rec in recommendations:
        found = decided.get(rec.episode.key)
        if found is not None and found.covers(rec, day):
            out[rec.rule_id] = found
    return out


def covering_items(
    decided: dict[str, Decision], items: Sequence[ChecklistItem], day: int
) -> dict[str, Decision]:
    """The decisions that still apply to the checklist items as of ``day``, by item id."""
    out = {}
    for item in items:
        found = decided.get(CHECKLIST_PREFIX + item.id)
        if found is not None and found.covers_item(item, day):
            out[item.id] = found
    return out
