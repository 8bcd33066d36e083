"""Day-level machinery shared by the ICAHT, T-ICAHT and recovery graders (numpy, vectorised).

The published automated ICAHT method (LIANG-ICAHT; docs/evidence.md 3.1) works on one value
per calendar day: the lowest value of the day, missing days filled by linear interpolation over
short gaps, then runs of days under a threshold, short interruptions joined. This module holds the
first step and the array types the others share:

* :func:`prepare` drops non-finite pairs and values after the end of follow-up, sorts if needed;
* :func:`daily_minimum` keeps the lowest value per calendar day (day = floor of the fractional day);
* :func:`calendar_end` is the calendar day of the end of follow-up.

The day grid and its interpolation are in :mod:`icaht.core.day_grid`, runs under a threshold in
:mod:`icaht.core.day_runs`, the wording of values and caveats in :mod:`icaht.core.day_text`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Comparison = Literal["<=", "<"]
DurationMethod = Literal["longest_run", "cumulative"]

#: Counts converted between units carry float noise (e.g. 0.1 + 0.2); comparisons allow this much
#: so a value that is the threshold in its source unit compares as equal. Numerical, not clinical.
COMPARISON_TOLERANCE = 1e-9

#: Days further than this from infusion are treated as invalid input (about 2,700 years), so that
#: calendar days always fit an int64. Numerical guard, not clinical.
MAX_ABS_DAY = 1e6

#: Empty columns the batch functions return for no input (shared: numpy arrays are not copied).
EMPTY_FLOAT = np.empty(0, dtype=np.float64)
EMPTY_INT = np.empty(0, dtype=np.int64)
EMPTY_BOOL = np.empty(0, dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Finite observations up to the end of follow-up, sorted by day."""

    days: FloatArray
    values: FloatArray
    dropped_non_finite: int
    dropped_after_end: int


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """:class:`Prepared` for many patients: their observations concatenated patient after
    patient, patient ``i`` at ``offsets[i]:offsets[i + 1]``, with per-patient drop counts."""

    offsets: IntArray
    days: FloatArray
    values: FloatArray
    dropped_non_finite: IntArray
    dropped_after_end: IntArray


def segment_ids(offsets: IntArray) -> IntArray:
    """The segment (patient) of every element of a concatenation described by ``offsets``."""
    n = offsets.size - 1
    return np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))


def ranges(lengths: IntArray) -> IntArray:
    """``concatenate([arange(k) for k in lengths])`` without the loop."""
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _offsets_of(segment: IntArray, n: int) -> IntArray:
    """Offsets (``n + 1``) of a sorted array of segment ids."""
    return np.searchsorted(segment, np.arange(n + 1, dtype=np.int64), side="left").astype(np.int64)


def prepare_batch(
    days: FloatArray, values: FloatArray, offsets: IntArray, end_day: FloatArray
) -> PreparedBatch:
    """:func:`prepare` for many patients at once (``end_day`` per patient)."""
    n = offsets.size - 1
    pid = segment_ids(offsets)
    finite = np.isfinite(values) & (np.abs(days) <= MAX_ABS_DAY)  # also rejects non-finite days
    bad = np.bincount(pid[~finite], minlength=n).astype(np.int64)
    after = days > end_day[pid]  # NaN end: nothing is after it
    after &= finite
    n_after = np.bincount(pid[after], minlength=n).astype(np.int64)
    keep = finite & ~after
    d, v, p = days, values, pid
    if not bool(keep.all()):
        d, v, p = d[keep], v[keep], p[keep]
    if d.size > 1 and bool(np.any((d[1:] < d[:-1]) & (p[1:] == p[:-1]))):
        order = np.lexsort((d, p))  # stable: same-day values keep their order
        d, v, p = d[order], v[order], p[order]
    return PreparedBatch(_offsets_of(p, n), d, v, bad, n_after)


def prepare(days: FloatArray, values: FloatArray, end_day: float) -> Prepared:
    """Keep finite (day, value) pairs with ``day <= end_day``, sorted by day (stable).

    Pairs with a non-finite value or day (or ``|day| > MAX_ABS_DAY``) are dropped and counted.
    Values after ``end_day`` are ignored (no look-ahead past the end of usable follow-up).
    Mismatched lengths are truncated to the shorter array (defensive; callers pass equal lengths).
    One patient of :func:`prepare_batch`.
    """
    d = np.asarray(days, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    if d.shape != v.shape:
        n = min(d.size, v.size)
        d, v = d[:n], v[:n]
    one = prepare_batch(d, v, np.array([0, d.size], dtype=np.int64), np.array([end_day]))
    return Prepared(
        one.days, one.values, int(one.dropped_non_finite[0]), int(one.dropped_after_end[0])
    )


@dataclass(frozen=True, slots=True)
class DailyBatch:
    """The lowest value per calendar day of many patients, concatenated patient after patient
    (patient ``i`` at ``offsets[i]:offsets[i + 1]``, ordered by day)."""

    offsets: IntArray
    cal: IntArray
    values: FloatArray


def daily_minimum_batch(prepared: PreparedBatch) -> DailyBatch:
    """:func:`daily_minimum` for every patient of a prepared batch (days sorted per patient)."""
    n = prepared.offsets.size - 1
    if prepared.days.size == 0:
        return DailyBatch(np.zeros(n + 1, dtype=np.int64), EMPTY_INT, EMPTY_FLOAT)
    pid = segment_ids(prepared.offsets)
    cal = np.floor(prepared.days).astype(np.int64)
    new = np.empty(cal.size, dtype=np.bool_)
    new[0] = True
    new[1:] = (cal[1:] != cal[:-1]) | (pid[1:] != pid[:-1])
    starts = np.flatnonzero(new)
    minima = np.minimum.reduceat(prepared.values, starts)
    return DailyBatch(_offsets_of(pid[starts], n), cal[starts], minima)


def daily_minimum(days: FloatArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    """Lowest value per calendar day; ``days`` must be sorted. Calendar day = ``floor(day)``.

    Returns ``(calendar_days, minima)``, both ordered by day, one entry per day with a value.
    Source: LIANG-ICAHT ("keep the lowest ANC value" per day). One patient of
    :func:`daily_minimum_batch`.
    """
    one = PreparedBatch(
        np.array([0, days.size], dtype=np.int64), days, values, EMPTY_INT, EMPTY_INT
    )
    out = daily_minimum_batch(one)
    return out.cal, out.values


def calendar_end(end_day: float) -> int | None:
    """Calendar day of the end of usable follow-up (floor); None when it is not a number.

    ``+inf`` (no end known) maps to a day beyond every window, ``-inf`` to one before them.
    """
    if math.isnan(end_day):
        return None
    if math.isinf(end_day):
        return 10**9 if end_day > 0 else -(10**9)
    return math.floor(end_day)
