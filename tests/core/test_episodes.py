"""Episodes, severity signatures, tiers, changes and the standing-care checklist (issue 16;
docs/architecture.md, "Decisions, episodes and tiers"; docs/decisions.md, "Standing care, death
and what is shown")."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.utils.rule_helpers import SEED, assessment_of, daily, record

from icaht.core.assessment import assess
from icaht.core.changes import against, changes
from icaht.core.checklist import NOT_RECORDED_ID, raised
from icaht.core.episodes import Signature
from icaht.core.rules import CATALOGUE
from icaht.core.tiers import STANDING_ITEMS, tier_of
from icaht.io.records import load_course

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FEVER = "workup.neutropenic-fever"


def _late_fevers() -> object:
    """ANC 0.3 x10^9/L from day 350 and two fevers: 38.6 on day 366 and 39.4 on day 410."""
    return record(
        labs=daily("anc", 350, 420, 0.3),
        events=[
            {"kind": "fever", "start": 366, "temperature_c": 38.6},
            {"kind": "fever", "start": 410, "temperature_c": 39.4},
        ],
    )


def _fired(rec: object, day: int) -> dict[str, object]:
    return {r.rule_id: r for r in assessment_of(rec, day).recommendations}  # type: ignore[arg-type]


def test_a_new_fever_is_a_new_episode() -> None:
    """Issue 16: a neutropenic-fever alert of day 366 and a new fever of day 410 are two
    episodes; the alert's episode began on the fever day and lasts while it keeps firing."""
    rec = _late_fevers()
    on_367 = assessment_of(rec, 367).recommendations  # type: ignore[arg-type]
    on_410 = assessment_of(rec, 410).recommendations  # type: ignore[arg-type]
    first = next(r for r in on_367 if r.rule_id == FEVER)
    second = next(r for r in on_410 if r.rule_id == FEVER)
    assert first.episode.id == f"{FEVER}@366"
    assert second.episode.id == f"{FEVER}@410"
    assert (first.novelty, second.novelty) == ("unchanged", "new")
    assert second.tier == "act now"


def test_episode_start_has_no_look_ahead() -> None:
    """The walk back judges each earlier day as of that day: data after the as-of day change
    nothing (the same episodes from a course cut at the as-of day)."""
    course = load_course(EXAMPLES / "jain-case3.json")
    full = assess(course, 100.0, SEED).recommendations
    cut = assess(course.until(101.0), 100.0, SEED).recommendations
    assert [(r.rule_id, r.episode) for r in full] == [(r.rule_id, r.episode) for r in cut]


@pytest.mark.parametrize("name", ["jain-case3", "baur"])
def test_day_by_day_episodes_equal_the_walk_back(name: str) -> None:
    """Replay continues the day before's episodes; a single assessment traces them back: both
    give the same episodes, novelty and tiers."""
    course = load_course(EXAMPLES / f"{name}.json")
    previous = assess(course, 20.0, SEED).recommendations
    for day in range(21, 61, 3):
        traced = assess(course, float(day), SEED).recommendations
        stepped = previous
        for step in range(day - 2, day + 1):
            stepped = assess(course, float(step), SEED, day_before=stepped).recommendations
        assert stepped == traced, day
        previous = assess(course, float(day), SEED).recommendations


def test_signature_grade_and_lineages() -> None:
    """The signature is the highest current CTCAE grade of the lineages the rule reads and the
    severe ones among them; a higher grade or a new lineage is worse."""
    rec_fever = record(
        labs=[*daily("anc", 350, 365, 1.2), ("anc", 366.0, 0.3)],
        events=[{"kind": "fever", "start": 366, "temperature_c": 38.6}],
    )
    alert = _fired(rec_fever, 366)[FEVER]
    assert alert.signature == Signature(grade=4, lineages=("neutrophils",))  # type: ignore[attr-defined]
    g2 = Signature(grade=2, lineages=())
    assert Signature(grade=3, lineages=()).worse_than(g2)
    assert Signature(grade=2, lineages=("platelets",)).worse_than(g2)
    assert not g2.worse_than(Signature(grade=4, lineages=("platelets",)))


def test_peak_signature_merges_grades_and_lineages() -> None:
    """The worst of two signatures: the higher grade and the lineages of both."""
    a = Signature(grade=3, lineages=("platelets",))
    b = Signature(grade=4, lineages=("neutrophils",))
    assert a.merged(b) == Signature(grade=4, lineages=("neutrophils", "platelets"))
    assert a.merged(None) == a
    assert Signature(grade=None, lineages=()).merged(a) == a


def test_transfusion_sawtooth_does_not_change_an_episode() -> None:
    """Issue 16 and docs/decisions.md (Episodes: the same episode shows again only with worse
    facts). Jain case 3 (L71: PRBC and platelets every 2 weeks beyond day 90): the counts fall
    to a grade-4 trough before each transfusion and rise to grade 3 after it. The marrow card,
    the TA-TMA screen and the lineage-switch alert, whose advice does not change, were marked
    changed on every trough (days 63, 77, 119) although the episode had been that bad before;
    they are changed only when the episode passes its worst."""
    course = load_course(EXAMPLES / "jain-case3.json")
    quiet = {"workup.marrow-biopsy", "workup.ta-tma", "alert.lineage-switch"}
    previous = assess(course, 60.0, SEED).recommendations
    for day in range(61, 121):
        current = assess(course, float(day), SEED, day_before=previous).recommendations
        changed = {r.rule_id for r in current if r.novelty == "changed" and r.rule_id in quiet}
        assert changed <= ({"workup.marrow-biopsy"} if day == 91 else set()), day
        previous = current
    traced = {r.rule_id: r for r in assess(course, 119.0, SEED).recommendations}
    assert {traced[rule_id].novelty for rule_id in quiet} == {"unchanged"}


def test_tiers_from_strength_and_novelty() -> None:
    """docs/worklist.md: alerts act now; a new high-stakes decision acts now, unchanged it folds;
    other new or changed advice is review; standing items are the checklist."""
    assert tier_of(FEVER, "workup", "alert", "unchanged") == "act now"
    assert tier_of("tpo-ra.candidate", "tpo-ra", "consider", "new") == "act now"
    assert tier_of("tpo-ra.candidate", "tpo-ra", "consider", "changed") == "review"
    assert tier_of("tpo-ra.candidate", "tpo-ra", "consider", "unchanged") == "folded"
    assert tier_of("transfusion.platelet-trigger", "transfusion", "consider", "new") == "review"
    assert tier_of("alert.secondary-malignancy", "alert", "alert", "new") == "standing"


def test_standing_items_name_catalogue_rules() -> None:
    ids = {rule.id for rule in CATALOGUE}
    assert all(set(item.rule_ids) <= ids for item in STANDING_ITEMS)


def test_changes_by_episode() -> None:
    """changes(): new, changed, resolved and unchanged by episode (the fever of day 366 is
    resolved by day 409; the one of day 410 is new; follow-up is unchanged)."""
    rec = _late_fevers()
    on_367 = assessment_of(rec, 367).recommendations  # type: ignore[arg-type]
    on_410 = assessment_of(rec, 410).recommendations  # type: ignore[arg-type]
    diff = changes(on_367, on_410)
    assert [r.episode.id for r in diff.resolved] == [f"{FEVER}@366"]
    assert [r.episode.id for r in diff.new] == [f"{FEVER}@410"]
    assert "workup.follow-up-car-t-centre" in {r.rule_id for r in diff.unchanged}
    # the PJP advice names its agent once persistent cytopenia is known: same episode, changed
    assert [r.rule_id for r in diff.changed] == ["prophylaxis.pjp-start"]
    assert [r.novelty for r in against([r.shown() for r in on_410], on_410)] == ["unchanged"] * len(
        on_410
    )


def test_prophylaxis_not_recorded_once() -> None:
    """docs/decisions.md: without a medication list the checklist says "prophylaxis not
    recorded" once; the antiviral item reads "not recorded" instead of advising each day."""
    rec = record(labs=daily("anc", 0, 12, 0.3))
    items = {i.id: i for i in assessment_of(rec, 10).checklist}
    assert items[NOT_RECORDED_ID].state == "to do"
    assert items["antiviral"].state == "not recorded"
    assert [i.id for i in raised(None, list(items.values()))].count(NOT_RECORDED_ID) == 1
    assert "antiviral" not in {i.id for i in raised(None, list(items.values()))}


def test_checklist_raised_only_when_its_facts_change() -> None:
    """An item raised on day 10 is not raised again on day 11 (only the day number changed); the
    PJP item is raised when persistent cytopenia makes its advice change (TMP-SMX a concern)."""
    rec = record(
        labs=daily("anc", -5, 60, 0.3),
        events=[
            {"kind": "medication", "start": 0, "drug": "aciclovir"},
            {"kind": "medication", "start": 20, "drug": "co-trimoxazole"},
        ],
    )
    day10, day11 = assessment_of(rec, 10).checklist, assessment_of(rec, 11).checklist
    assert {i.id: i.state for i in day10}["antiviral"] == "done"
    assert raised(day10, day11) == []
    day20, day29 = assessment_of(rec, 20).checklist, assessment_of(rec, 29).checklist
    assert {i.id: i.state for i in day20}["pjp"] == "done"
    assert [i.id for i in raised(day20, day29)] == ["pjp"]
    assert raised(day29, assessment_of(rec, 40).checklist) == []


def test_nothing_on_the_checklist_after_death() -> None:
    rec = record(labs=daily("anc", 0, 12, 0.3), events=[{"kind": "death", "start": 5}])
    assert assessment_of(rec, 8).checklist == []
