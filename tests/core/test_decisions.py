"""The engine's decision states (docs/architecture.md "Decisions, episodes and tiers";
docs/decisions.md "Standing care, death and what is shown"): nothing after death, and an
exclusive decision shows one state at a time."""

from __future__ import annotations

from dataclasses import replace

from tests.utils.rule_helpers import SEED, assessment_of, daily, record

from icaht.core.course import course_from_record
from icaht.core.guidance import contradictions, run_rules
from icaht.core.outcome import Fired
from icaht.core.rule import EXCLUSIVE_DECISIONS
from icaht.core.rule_context import RuleContext
from icaht.core.rules import CATALOGUE


def _neutropenic(death_day: int | None = None):  # type: ignore[no-untyped-def]
    events = [{"kind": "death", "start": death_day}] if death_day is not None else []
    return record(
        patient={"age_years": 60, "weight_kg": 70},
        labs=[*daily("anc", 0, 40, 0.1), *daily("platelets", 0, 40, 8.0)],
        events=events,
    )


def test_recommendations_stop_on_the_day_of_death() -> None:
    """Issue 15 finding 10: antiviral and PJP prophylaxis were advised on the day of death, and
    G-CSF and antibacterial prophylaxis the day after. After a death on or before the as-of day no
    recommendation fires; the grades and the censoring stay."""
    alive = assessment_of(_neutropenic(), 20)
    assert alive.recommendations  # the same record without the death advises
    for day in (20, 21, 30):
        dead = assessment_of(_neutropenic(death_day=20), day)
        assert dead.recommendations == []
        assert dead.not_evaluated == []
        assert dead.follow_up_end_day == 20
        assert dead.follow_up_end_reason == "death"
    before = assessment_of(_neutropenic(death_day=20), 19)
    assert before.recommendations  # the day before, the death is not yet known


def test_a_death_on_the_as_of_day_closes_the_window_by_death() -> None:
    """Issue 15 finding 9 (docs/decisions.md, Grading: ties at a window's end go to the
    event): ANC <= 0.5 from day 0 and death on day 20 is early ICAHT grade 4 as of day 20, as it
    is as of day 21 (it was grade 3, provisional, "as-of", on day 20)."""
    on_the_day = assessment_of(_neutropenic(death_day=20), 20)
    after = assessment_of(_neutropenic(death_day=20), 21)
    assert on_the_day.early_icaht.grade == after.early_icaht.grade == 4
    assert on_the_day.follow_up_end_reason == "death"


def test_an_exclusive_decision_shows_one_state() -> None:
    """Two rules of one exclusive decision that both fire: the engine shows the first, and
    ``contradictions`` names the pair (a fault the property test looks for)."""
    context = RuleContext.as_of(course_from_record(_neutropenic()), 20.0, SEED)
    first, second = (
        replace(rule, decision="gcsf", evaluate=lambda ctx, n=n: Fired(f"Consider {n}.", ()))
        for n, rule in zip(("a", "b"), CATALOGUE[:2], strict=True)
    )
    assert "gcsf" in EXCLUSIVE_DECISIONS
    fired, _ = run_rules(context, (first, second))
    assert [outcome.action for _, outcome in fired] == ["Consider a."]
    assert contradictions(context, (first, second)) == [(first.id, second.id)]
    other = replace(second, decision="workup")
    assert len(run_rules(context, (first, other))[0]) == 2
    assert contradictions(context, (first, other)) == []
