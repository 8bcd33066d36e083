"""CDS Hooks cards follow the tiers (issue 16; docs/worklist.md): one summary card plus one card
per new or changed act-now recommendation; standing items never become cards; citations readable
without line numbers; no infusion, no cards."""

from __future__ import annotations

from tests.utils.rule_helpers import SEED, assessment_of, daily, record

from icaht.core.tiers import standing_item
from icaht.io.fhir.cards import SUMMARY_CODE, detail, readable_where, worklist_cards

FEVER = "workup.neutropenic-fever"


def _fever_on(day: int) -> object:
    return assessment_of(
        record(
            patient={"product": "axi-cel"},
            labs=daily("anc", 350, 420, 0.3),
            events=[{"kind": "fever", "start": 410, "temperature_c": 39.4}],
        ),
        day,
        SEED,
    )


def _topics(cards: list[dict[str, object]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]  # type: ignore[index]


def test_summary_card_then_new_act_now_cards() -> None:
    """Day 410: the new fever alert gets a card after the summary; the standing items (follow-up,
    prophylaxis, secondary malignancy) do not."""
    a = _fever_on(410)
    cards = worklist_cards(a, link=("https://icaht.example/smart/launch", "smart"))  # type: ignore[arg-type]
    assert _topics(cards) == [SUMMARY_CODE, FEVER]
    summary = cards[0]
    assert summary["links"] == [
        {"label": "Open in icaht", "url": "https://icaht.example/smart/launch", "type": "smart"}
    ]
    assert "neutrophils 0.3" in str(summary["detail"])
    assert "Neutropenic fever" in str(summary["detail"])
    assert not any(standing_item(code) for code in _topics(cards))


def test_an_unchanged_alert_stays_in_the_summary_only() -> None:
    """Day 411: the same fever episode, unchanged: no card of its own, still named in the
    summary's act-now list."""
    cards = worklist_cards(_fever_on(411), link=("https://icaht.example/patients", "absolute"))  # type: ignore[arg-type]
    assert _topics(cards) == [SUMMARY_CODE]
    assert cards[0]["links"][0]["type"] == "absolute"  # type: ignore[index]
    assert "Neutropenic fever" in str(cards[0]["detail"])


def test_no_infusion_no_cards() -> None:
    assert worklist_cards(_fever_on(410), infused=False) == []  # type: ignore[arg-type]


def test_citations_are_readable_without_line_numbers() -> None:
    """ "Jain T et al., Blood 2023, Fig. 1", not "L37"."""
    assert readable_where("L37; Fig. 1") == "Fig. 1"
    assert readable_where("L65, L81") == ""
    a = _fever_on(410)
    fever = next(r for r in a.recommendations if r.rule_id == FEVER)  # type: ignore[attr-defined]
    text = detail(fever, a)  # type: ignore[arg-type]
    assert "Jain T et al., Blood 2023" in text
    assert "L37" not in text
