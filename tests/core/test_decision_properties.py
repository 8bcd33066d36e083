"""Property test over a simulated cohort (issue 15, "One card per decision"): on every day 0-200 of
500 patients from ``icaht simulate`` (the same generator, seed 15), with both shipped profiles, no
two rules of one exclusive decision fire on the same day (stop and increase the same drug; consider
and defer G-CSF; two marrow or IEC-HS states), and nothing is recommended on or after a recorded
death (docs/decisions.md, "Standing care, death and what is shown").

The rules are evaluated raw (:func:`icaht.core.guidance.contradictions`), before the engine keeps
one state per decision, so this proves the rules never need that safeguard.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ProcessPoolExecutor

from icaht.core.course import course_from_record
from icaht.core.guidance import contradictions, run_rules
from icaht.core.rule_context import RuleContext
from icaht.knowledge.profile import load_profile, shipped_profiles
from icaht.simulate.writers import simulate_records

PATIENTS = 500
SEED = 15
LAST_DAY = 200
_CHUNKS = 10


def _check_chunk(chunk: int) -> tuple[Counter[tuple[str, str]], int, int]:
    """(contradictory pairs, recommendations on or after death, patient-days after death) of
    every ``_CHUNKS``-th simulated patient starting at ``chunk``."""
    profiles = [load_profile(name) for name in shipped_profiles()]
    pairs: Counter[tuple[str, str]] = Counter()
    after_death = 0
    death_days = 0
    for index, rec in enumerate(simulate_records(PATIENTS, SEED)):
        if index % _CHUNKS != chunk:
            continue
        course = course_from_record(rec)
        for profile in profiles:
            for day in range(LAST_DAY + 1):
                context = RuleContext.as_of(course, float(day), profile)
                pairs.update(contradictions(context))
                if context.death_day is not None:
                    death_days += 1
                    fired, unevaluated = run_rules(context)
                    after_death += len(fired) + len(unevaluated)
    return pairs, after_death, death_days


def test_no_contradictory_cards_and_nothing_after_death_on_a_simulated_cohort() -> None:
    assert set(shipped_profiles()) == {"seed-2023", "icaht-2023"}
    pairs: Counter[tuple[str, str]] = Counter()
    after_death = death_days = 0
    with ProcessPoolExecutor(max_workers=2) as pool:
        for chunk_pairs, chunk_after, chunk_deaths in pool.map(_check_chunk, range(_CHUNKS)):
            pairs += chunk_pairs
            after_death += chunk_after
            death_days += chunk_deaths
    assert death_days > 0, "the simulated cohort must include deaths for the check to mean much"
    assert after_death == 0
    assert not pairs, f"contradictory pairs (pair: patient-days): {dict(pairs.most_common(20))}"
