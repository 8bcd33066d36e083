"""Worklist benchmark (issue 16): replay the five seed cases and 200 simulated patients day by day
(days 0-200, profile seed-2023) as a clinician who looks every day and reports, per case:

- items shown by default per day: act-now and review cards plus raised checklist items
  (docs/worklist.md), mean and p90;
- new-or-changed items per day (cards whose episode is new or changed, checklist items raised);
- days with more than 5 default items;
- days on which a dismissed episode would hide a newer one (an episode of the same key that
  began after the dismissal): 0 by construction of the episode store, counted to prove it.

Targets on the seed cases (issue 16): mean <= 3, p90 <= 5, 0 hidden episodes. Results go to
``benchmarks/results/worklist.json`` and a row of ``benchmarks/results/README.md``. Not a timed
test: ``make bench`` runs it.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from icaht.core.assessment import assess
from icaht.core.checklist import ChecklistItem, raised
from icaht.core.course import Course, course_from_record
from icaht.core.guidance import Recommendation
from icaht.io.records import load_course
from icaht.knowledge.profile import load_profile
from icaht.service.dashboard.decisions import Decision
from icaht.simulate.writers import simulate_records

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_log import RESULTS, add_row, commit_id

ROOT = Path(__file__).resolve().parents[1]
SEED_CASES = ("jain-case1", "jain-case2", "jain-case3", "baur", "scaldaferri")
SIMULATED = int(sys.argv[1]) if len(sys.argv) > 1 else 200
SIMULATION_SEED = 16
FIRST_DAY, LAST_DAY = 0, 200
CROWDED = 5


def _default(
    recs: list[Recommendation], items: list[ChecklistItem], prev: list[ChecklistItem] | None
) -> tuple[int, int]:
    """(items shown by default, new-or-changed items) on one day."""
    cards = [r for r in recs if r.tier in ("act now", "review")]
    raised_items = raised(prev, items)
    fresh = sum(1 for r in recs if r.tier != "standing" and r.novelty != "unchanged")
    return len(cards) + len(raised_items), fresh + len(raised_items)


def _hidden(recs: list[Recommendation], dismissed: dict[str, Decision], day: int) -> int:
    """Cards of an episode that began after a dismissal of the same key and that the dashboard's
    decision store would still hide (:meth:`Decision.covers`)."""
    return sum(
        1
        for r in recs
        if (d := dismissed.get(r.episode.key)) is not None
        and d.began_day is not None
        and r.episode.began_day > d.began_day
        and d.covers(r, day)
    )


def _dismissal(rec: Recommendation, day: int) -> Decision:
    return Decision(
        rule_id=rec.rule_id,
        choice="dismiss",
        actor="benchmark",
        at=datetime.now(UTC),
        reason="benchmark",
        as_of_day=day,
        key=rec.episode.key,
        began_day=rec.episode.began_day,
        signature=rec.signature,
    )


def run_case(course: Course) -> dict[str, float]:
    profile = load_profile("seed-2023")
    shown: list[int] = []
    fresh: list[int] = []
    previous: list[Recommendation] | None = None
    items: list[ChecklistItem] | None = None
    dismissed: dict[str, Decision] = {}
    hidden = 0
    for day in range(FIRST_DAY, LAST_DAY + 1):
        a = assess(course, float(day), profile, day_before=previous)
        default, new = _default(a.recommendations, a.checklist, items)
        shown.append(default)
        fresh.append(new)
        hidden += _hidden(a.recommendations, dismissed, day)
        for rec in a.recommendations:  # the clinician dismisses every alert the day it is new
            if rec.strength == "alert" and rec.novelty == "new":
                dismissed[rec.episode.key] = _dismissal(rec, day)
        previous, items = a.recommendations, a.checklist
    values = np.array(shown, dtype=float)
    return {
        "mean_default": round(float(values.mean()), 2),
        "p90_default": float(np.percentile(values, 90)),
        "mean_new_or_changed": round(float(np.mean(fresh)), 2),
        "days_over_5": int((values > CROWDED).sum()),
        "hidden_newer_episodes": hidden,
    }


def main() -> None:
    results: dict[str, dict[str, float]] = {}
    for name in SEED_CASES:
        results[name] = run_case(load_course(ROOT / "examples" / f"{name}.json"))
        print(name, results[name], flush=True)
    simulated = [
        run_case(course_from_record(rec)) for rec in simulate_records(SIMULATED, SIMULATION_SEED)
    ]
    keys = simulated[0].keys() if simulated else ()
    results["simulated (mean over patients)"] = {
        k: round(float(np.mean([s[k] for s in simulated])), 2) for k in keys
    }
    print("simulated", results["simulated (mean over patients)"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "worklist.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    seeds = [results[n] for n in SEED_CASES]
    add_row(
        "## Worklist",
        "## Worklist\n\n| commit | seed mean default/day | seed max p90 | seed days > 5 "
        "| hidden |\n|---|---|---|---|---|",
        f"| {commit_id()} | {np.mean([s['mean_default'] for s in seeds]):.2f} | "
        f"{max(s['p90_default'] for s in seeds):g} | {sum(s['days_over_5'] for s in seeds)} | "
        f"{sum(s['hidden_newer_episodes'] for s in seeds)} |",
    )


if __name__ == "__main__":
    main()
