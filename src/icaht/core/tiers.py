"""Tiers: how prominently a fired recommendation is shown (docs/architecture.md, "Rules and
decisions"; docs/decisions.md, "Standing care, death and what is shown"; docs/worklist.md).

- **act now**: alerts (strength "alert"), and *new* episodes of a high-stakes decision (a marrow,
  G-CSF, TPO-RA, stem cell boost/HCT or IEC-HS decision) or of advice the source states as its
  recommendation (strength "source recommends");
- **review**: any other new episode, and an episode that changed (another state of the decision,
  another action or strength, a worse severity signature);
- **standing**: the standing-care items (one checklist, :mod:`icaht.core.checklist`), whatever
  their novelty;
- **folded**: everything else (unchanged advice that is not an alert).

Presenters order and fold by tier; they never re-derive it (they call :func:`tier_of` with the
novelty against the view they compare with).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from icaht.core.episodes import Novelty
from icaht.core.outcome import Strength
from icaht.core.rule import Decision
from icaht.knowledge.drugs import ANTIVIRAL_PROPHYLAXIS, PJP_PROPHYLAXIS

Tier = Literal["act now", "review", "standing", "folded"]
#: Display order of the tiers.
TIERS: tuple[Tier, ...] = get_args(Tier)

#: Decisions whose new episodes need acting on today: procedures and disease-modifying therapy.
HIGH_STAKES_DECISIONS: frozenset[Decision] = frozenset(
    {"marrow", "gcsf", "tpo-ra", "boost-hct", "iec-hs"}
)


@dataclass(frozen=True, slots=True)
class StandingItem:
    """One item of the standing-care checklist: the rules whose advice it gathers, and the drug
    class that makes it done when running (empty: no drug)."""

    id: str
    title: str
    rule_ids: tuple[str, ...]
    drugs: frozenset[str] = frozenset()


#: The standing items of docs/decisions.md ("Standing care, death and what is shown").
STANDING_ITEMS: tuple[StandingItem, ...] = (
    StandingItem(
        "antiviral",
        "Antiviral prophylaxis",
        ("prophylaxis.antiviral-start", "prophylaxis.antiviral-stop"),
        ANTIVIRAL_PROPHYLAXIS,
    ),
    StandingItem(
        "pjp",
        "PJP prophylaxis",
        ("prophylaxis.pjp-start", "prophylaxis.pjp-switch-from-tmp-smx", "prophylaxis.pjp-stop"),
        PJP_PROPHYLAXIS,
    ),
    StandingItem("irradiated", "Irradiated blood products", ("transfusion.irradiated-products",)),
    StandingItem("follow-up", "Follow-up at the CAR-T centre", ("workup.follow-up-car-t-centre",)),
    StandingItem(
        "secondary-malignancy",
        "Secondary-malignancy vigilance",
        ("alert.secondary-malignancy",),
    ),
    StandingItem(
        "risk-factors",
        "Risk factors",
        ("risk.cytopenia-risk-factors", "risk.car-hematotox"),
    ),
)
_ITEM_OF_RULE = {rule_id: item for item in STANDING_ITEMS for rule_id in item.rule_ids}


def standing_item(rule_id: str) -> StandingItem | None:
    """The checklist item a rule's advice belongs to, or None for a rule that is not standing."""
    return _ITEM_OF_RULE.get(rule_id)


def tier_of(rule_id: str, decision: Decision, strength: Strength, novelty: Novelty) -> Tier:
    """The tier of a fired recommendation (module docstring)."""
    if standing_item(rule_id) is not None:
        return "standing"
    if strength == "alert":
        return "act now"
    if novelty == "new" and (decision in HIGH_STAKES_DECISIONS or strength == "source recommends"):
        return "act now"
    if novelty != "unchanged":
        return "review"
    return "folded"
