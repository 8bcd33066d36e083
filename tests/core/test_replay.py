"""Replay: each day assessed as of that day; appearances, changes and disappearances."""

from __future__ import annotations

from tests.utils.rule_helpers import SEED, daily, record

from icaht.core.course import course_from_record
from icaht.core.replay import replay

GM_CSF = "growth-factor.avoid-gm-csf"


def test_a_recommendation_appears_and_disappears_on_its_days() -> None:
    """JAIN L39: GM-CSF to be avoided; the alert lasts while GM-CSF runs (days 5-6). The G-CSF
    decision shows one state at a time and its episode continues (docs/architecture.md, "Decisions,
    episodes and tiers"): on day 7 it changes from the GM-CSF alert to the G-CSF advice."""
    course = course_from_record(
        record(
            labs=daily("anc", 0, 12, 0.3),
            events=[{"kind": "medication", "start": 5, "end": 6, "drug": "sargramostim"}],
        )
    )
    result = replay(course, 0, 12, SEED)
    appeared = {d.day: [r.rule_id for r in d.appeared] for d in result.days}
    changed = {d.day: [r.episode.id for r in d.changed] for d in result.days}
    active = {d.day: d.active for d in result.days}
    assert GM_CSF in appeared[5]
    assert all(GM_CSF not in ids for day, ids in appeared.items() if day != 5)
    assert GM_CSF not in active[7]
    assert changed[7] == ["gcsf@5"]
    assert (result.first_day, result.last_day, result.profile_name) == (0, 12, "seed-2023")


def test_replay_has_no_look_ahead() -> None:
    """A replay to day 4 is the prefix of a replay to day 12: later data change nothing before."""
    course = course_from_record(
        record(
            labs=daily("anc", 0, 12, 0.3),
            events=[{"kind": "medication", "start": 5, "end": 6, "drug": "sargramostim"}],
        )
    )
    short = replay(course, 0, 4, SEED)
    long = replay(course, 0, 12, SEED)
    assert short.days == [d for d in long.days if d.day <= 4]
