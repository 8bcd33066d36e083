"""When a synthetic patient's blood is drawn (PROJECT schedule, ``targets``: lab schedule).

One pre-lymphodepletion draw (the CAR-HEMATOTOX baseline), usually one after lymphodepletion
before infusion, daily while inpatient, about three times a week to day 30, weekly to day 90,
monthly to one year; twice weekly while transfusion-dependent or on a TPO-RA; missed draws and,
for some patients, a long gap (transfer, holiday). Draws are in the morning (day + 0.25-0.45).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from icaht.simulate import targets as t

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Schedule:
    """Draw days (sorted, fractional) for blood counts, inflammation markers and chemistry."""

    baseline_day: float
    counts: FloatArray
    inflammation: FloatArray
    chemistry: FloatArray


def _keep(rng: np.random.Generator, days: FloatArray, missed: float) -> FloatArray:
    return days[rng.random(days.size) >= missed]


def draw_schedule(
    rng: np.random.Generator,
    *,
    ld_start_day: float,
    end_day: float,
    support: tuple[float, float] | None,
    protected: tuple[float, float] | None,
) -> Schedule:
    """Draw days up to ``end_day`` (exclusive). ``support``: twice-weekly visits in that span;
    ``protected``: a span no long gap may cover (a TPO-RA course)."""
    baseline = ld_start_day - float(rng.integers(1, 5))  # 1-4 days before lymphodepletion
    inpatient_end = int(rng.integers(t.INPATIENT_DAYS[0], t.INPATIENT_DAYS[1] + 1))
    inpatient = np.arange(0.0, inpatient_end)
    steps = np.tile(np.array([2.0, 2.0, 3.0]), 12)
    to_30 = inpatient_end + np.cumsum(steps) - 2.0
    to_30 = to_30[to_30 <= 30]
    weekly = np.arange(35.0, 91.0, 7.0) + rng.integers(-1, 2, 8)
    monthly = np.arange(120.0, 366.0, 30.0) + rng.integers(-5, 6, 9)
    parts = [
        np.array([-1.0]) if rng.random() < 0.6 else np.empty(0),
        inpatient[:1],
        _keep(rng, inpatient[1:], t.MISSED_DRAW["inpatient"]),
        _keep(rng, to_30, t.MISSED_DRAW["to_day_30"]),
        _keep(rng, weekly, t.MISSED_DRAW["weekly"]),
        _keep(rng, monthly, t.MISSED_DRAW["monthly"]),
    ]
    if support is not None and support[1] > support[0]:
        visits = np.arange(support[0], support[1], 3.5).round()
        parts.append(_keep(rng, visits, t.MISSED_DRAW["to_day_30"]))
    days = np.unique(np.concatenate(parts))
    if rng.random() < t.LONG_GAP_SHARE:
        start = float(rng.uniform(35.0, 300.0))
        stop = start + float(rng.integers(t.LONG_GAP_DAYS[0], t.LONG_GAP_DAYS[1] + 1))
        overlaps = protected is not None and start < protected[1] and stop > protected[0]
        if not overlaps:
            days = days[(days < start) | (days >= stop)]
    days = days + rng.uniform(0.25, 0.45, days.size)
    days = days[days < end_day]
    counts = np.concatenate((np.array([baseline + 0.3]), days))
    early = days[days < 31.0]
    later = days[days >= 31.0]
    inflammation = np.concatenate(
        (counts[:1], early, later[rng.random(later.size) < 0.3])  # CRP/ferritin
    )
    chemistry = np.concatenate(
        (counts[:1], early[::3], later[rng.random(later.size) < 0.3])  # LDH, creatinine
    )
    return Schedule(
        baseline_day=baseline + 0.3,
        counts=counts,
        inflammation=np.sort(inflammation),
        chemistry=np.sort(chemistry),
    )
