"""Worklist benchmark (issue 16): replay the five seed cases and 200 simulated patients day by day
(days 0-200, profile seed-2023) as a clinician who looks every day and reports, per case and
pooled over every day of the seed cases and of the simulated patients:

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
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
TARGET_MEAN, TARGET_P90 = 3.0, 5.0


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


def replay_days(course: Course) -> tuple[list[int], list[int], int]:
    """Replay one course day by day: items shown by default and new-or-changed items per day,
    and the hidden newer episodes over the whole replay."""
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
    return shown, fresh, hidden


def summarize(shown: list[int], fresh: list[int], hidden: int) -> dict[str, float]:
    """The figures of a run of days (one case, or several cases pooled)."""
    values = np.array(shown, dtype=float)
    return {
        "days": len(shown),
        "mean_default": round(float(values.mean()), 2),
        "p90_default": float(np.percentile(values, 90)),
        "mean_new_or_changed": round(float(np.mean(fresh)), 2),
        "days_over_5": int((values > CROWDED).sum()),
        "hidden_newer_episodes": hidden,
    }


def on_target(figures: dict[str, float]) -> bool:
    """Issue 16 targets: mean <= 3 and p90 <= 5 items shown by default a day, 0 hidden."""
    return (
        figures["mean_default"] <= TARGET_MEAN
        and figures["p90_default"] <= TARGET_P90
        and figures["hidden_newer_episodes"] == 0
    )


def run_group(named: Iterable[tuple[str, Course]]) -> tuple[dict[str, Any], dict[str, float]]:
    """Figures per case and pooled over every day of every case of a group."""
    cases: dict[str, Any] = {}
    shown: list[int] = []
    fresh: list[int] = []
    hidden = 0
    for name, course in named:
        days, new, hid = replay_days(course)
        cases[name] = summarize(days, new, hid)
        shown += days
        fresh += new
        hidden += hid
    return cases, summarize(shown, fresh, hidden)


def main() -> None:
    started = time.perf_counter()
    seeds = ((n, load_course(ROOT / "examples" / f"{n}.json")) for n in SEED_CASES)
    seed_cases, seed_overall = run_group(seeds)
    for name, figures in seed_cases.items():
        print(name, figures, flush=True)
    seed_seconds = time.perf_counter() - started
    records = simulate_records(SIMULATED, SIMULATION_SEED)
    simulated = ((r.patient.patient_id, course_from_record(r)) for r in records)
    sim_cases, sim_overall = run_group(simulated)
    total = time.perf_counter() - started
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        "commit": commit_id(),
        "days": [FIRST_DAY, LAST_DAY],
        "profile": "seed-2023",
        "targets": {"mean_default": TARGET_MEAN, "p90_default": TARGET_P90, "hidden": 0},
        "seed_cases": {"overall": seed_overall, "cases": seed_cases},
        "seed_targets_met": all(on_target(f) for f in seed_cases.values()),
        "simulated": {
            "patients": SIMULATED,
            "seed": SIMULATION_SEED,
            "overall": sim_overall,
            "cases": sim_cases,
        },
        "seconds": {
            "total": round(total, 1),
            "per_patient": round(total / (len(SEED_CASES) + max(SIMULATED, 1)), 3),
        },
    }
    print("seed cases overall", seed_overall)
    print("simulated overall", sim_overall)
    print("seconds", results["seconds"], f"(seed cases {seed_seconds:.1f})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "worklist.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    _readme_row(results, seed_cases, seed_overall, sim_overall)


def _readme_row(
    results: dict[str, Any],
    seed_cases: dict[str, Any],
    seed: dict[str, float],
    sim: dict[str, float],
) -> None:
    worst_p90 = max(f["p90_default"] for f in seed_cases.values())
    worst_mean = max(f["mean_default"] for f in seed_cases.values())
    add_row(
        "## Worklist",
        "## Worklist (`benchmarks/worklist.py`)\n\n"
        "The five seed cases and simulated patients (`icaht.simulate`, seeded) replayed day by "
        "day 0-200 with profile seed-2023 by a clinician who looks every day and dismisses each "
        "new alert. Default items = act-now and review cards plus raised checklist items. "
        "Targets on each seed case (issue 16): mean <= 3, p90 <= 5, 0 hidden episodes. Details "
        "per case: `worklist.json`.\n\n"
        "| date (UTC) | commit | seed mean/day (worst case) | seed p90 (worst case) "
        "| seed new-or-changed/day | seed days > 5 | seed hidden | simulated patients "
        "| sim mean/day | sim p90 | sim new-or-changed/day | sim days > 5 | sim hidden "
        "| s per patient | targets met |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        f"| {results['date']} | {results['commit']} | {seed['mean_default']:.2f} "
        f"({worst_mean:.2f}) | {seed['p90_default']:g} ({worst_p90:g}) | "
        f"{seed['mean_new_or_changed']:.2f} | {seed['days_over_5']} | "
        f"{seed['hidden_newer_episodes']} | {results['simulated']['patients']} | "
        f"{sim['mean_default']:.2f} | {sim['p90_default']:g} | "
        f"{sim['mean_new_or_changed']:.2f} | {sim['days_over_5']} | "
        f"{sim['hidden_newer_episodes']} | {results['seconds']['per_patient']} | "
        f"{'yes' if results['seed_targets_met'] else 'no'} |\n",
    )


if __name__ == "__main__":
    main()
