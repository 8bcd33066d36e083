"""Runs of days under a threshold on the day grid (LIANG-ICAHT; docs/evidence.md 3.1):
:func:`below`, :func:`runs`, :func:`join_runs` and :func:`run_duration` find, join and count
runs; the batch forms do the same for many series at once; durations map to grades by table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from icaht.core.daily import (
    COMPARISON_TOLERANCE,
    EMPTY_BOOL,
    EMPTY_INT,
    BoolArray,
    Comparison,
    DurationMethod,
    FloatArray,
    IntArray,
)
from icaht.core.day_grid import GridBatch


def below(values: FloatArray, threshold: float, comparison: Comparison) -> BoolArray:
    """Boolean mask of values under ``threshold`` (``"<="`` or ``"<"``); NaN is never under.

    A value within :data:`COMPARISON_TOLERANCE` of the threshold counts as equal to it.
    """
    if comparison == "<=":
        return values <= threshold + COMPARISON_TOLERANCE
    return values < threshold - COMPARISON_TOLERANCE


@dataclass(frozen=True, slots=True)
class RunsBatch:
    """Runs of many patients: ``patient``, ``starts`` and ``ends`` (inclusive indices from the
    patient's first grid day), ordered by patient and day; per patient the ``duration`` in days
    and, per run, whether it makes up that duration (``selected``)."""

    patient: IntArray
    starts: IntArray
    ends: IntArray
    duration: IntArray
    selected: BoolArray

    def of(self, i: int) -> tuple[IntArray, IntArray, IntArray]:
        """Patient ``i``'s runs ``(starts, ends, selected indices)``."""
        a, b = np.searchsorted(self.patient, [i, i + 1], side="left").tolist()
        return self.starts[a:b], self.ends[a:b], np.flatnonzero(self.selected[a:b])


def segment_runs(mask: BoolArray, offsets: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Runs of True within each segment of ``mask``: ``(segment, starts, ends)``, inclusive
    indices from the segment's start; a run never crosses from one segment to the next."""
    if mask.size == 0 or not bool(mask.any()):
        return EMPTY_INT, EMPTY_INT, EMPTY_INT
    filled = offsets[:-1][np.diff(offsets) > 0]
    head = np.zeros(mask.size, dtype=np.bool_)
    head[filled] = True
    tail = np.roll(head, -1)  # the last element of every segment
    before = np.empty_like(mask)
    before[0] = False
    before[1:] = mask[:-1]
    after = np.empty_like(mask)
    after[-1] = False
    after[:-1] = mask[1:]
    starts = np.flatnonzero(mask & ~(before & ~head))
    ends = np.flatnonzero(mask & ~(after & ~tail))
    segment = np.searchsorted(offsets, starts, side="right") - 1
    base = offsets[segment]
    return segment, starts - base, ends - base


def join_segment_runs(
    segment: IntArray, starts: IntArray, ends: IntArray, join_gap: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Join runs of the same segment separated by at most ``join_gap`` days (the days between
    count into the run).

    LIANG-ICAHT (heatwaveR ``joinAcrossGaps = TRUE, maxGap = 2``): an interruption shorter than a
    stable recovery (3 consecutive days above the threshold) does not end the episode. The days in
    between are joined whatever their values (above the threshold, or missing), as heatwaveR does.
    """
    if starts.size <= 1 or join_gap <= 0:
        return segment, starts, ends
    separate = (segment[1:] != segment[:-1]) | ((starts[1:] - ends[:-1] - 1) > join_gap)
    keep_start = np.concatenate(([True], separate))
    keep_end = np.concatenate((separate, [True]))
    return segment[keep_start], starts[keep_start], ends[keep_end]


def segment_durations(
    segment: IntArray, starts: IntArray, ends: IntArray, n: int, method: DurationMethod
) -> tuple[IntArray, BoolArray]:
    """Duration in days per segment and which runs make it.

    ``longest_run``: the longest (joined) run, first one on ties (LIANG-ICAHT). ``cumulative``:
    the sum of all (joined) runs, so days of non-stable recovery inside a joined run count toward
    the total (T-ICAHT Table 1 footnote).
    """
    duration = np.zeros(n, dtype=np.int64)
    if starts.size == 0:
        return duration, EMPTY_BOOL
    lengths = ends - starts + 1
    first = np.flatnonzero(np.concatenate(([True], segment[1:] != segment[:-1])))
    if method == "cumulative":
        duration[segment[first]] = np.add.reduceat(lengths, first)
        return duration, np.ones(starts.size, dtype=np.bool_)
    duration[segment[first]] = np.maximum.reduceat(lengths, first)
    best = np.flatnonzero(lengths == duration[segment])
    selected = np.zeros(starts.size, dtype=np.bool_)
    selected[best[np.concatenate(([True], segment[best][1:] != segment[best][:-1]))]] = True
    return duration, selected


def threshold_runs_batch(
    grid: GridBatch,
    threshold: float,
    comparison: Comparison,
    *,
    join_gap: int,
    method: DurationMethod,
) -> RunsBatch:
    """Runs of every patient's day series under ``threshold``, joined across ``join_gap``, and
    their duration (``method``)."""
    seg, s, e = segment_runs(below(grid.values, threshold, comparison), grid.offsets)
    seg, s, e = join_segment_runs(seg, s, e, join_gap)
    duration, selected = segment_durations(seg, s, e, grid.offsets.size - 1, method)
    return RunsBatch(seg, s, e, duration, selected)


def _one(size: int) -> IntArray:
    return np.array([0, size], dtype=np.int64)


def runs(mask: BoolArray) -> tuple[IntArray, IntArray]:
    """Runs of True: ``(starts, ends)`` as inclusive indices, in order (one segment of
    :func:`segment_runs`)."""
    _, starts, ends = segment_runs(mask, _one(mask.size))
    return starts, ends


def join_runs(starts: IntArray, ends: IntArray, join_gap: int) -> tuple[IntArray, IntArray]:
    """:func:`join_segment_runs` for the runs of one series."""
    _, s, e = join_segment_runs(np.zeros(starts.size, dtype=np.int64), starts, ends, join_gap)
    return s, e


def run_duration(starts: IntArray, ends: IntArray, method: DurationMethod) -> tuple[int, IntArray]:
    """:func:`segment_durations` for the runs of one series: the duration in days and the
    indices of the runs that make it."""
    duration, selected = segment_durations(
        np.zeros(starts.size, dtype=np.int64), starts, ends, 1, method
    )
    return int(duration[0]), np.flatnonzero(selected)


def grades_for_durations(durations: IntArray, table: tuple[tuple[int, int], ...]) -> IntArray:
    """Grade of the largest ``minimum_days`` in ``table`` reached by each duration (else 0)."""
    min_days = np.array([m for m, _ in table], dtype=np.int64)
    grades = np.array([0] + [g for _, g in table], dtype=np.int64)
    return grades[np.searchsorted(min_days, durations, side="right")]


def grade_for_duration(duration_days: int, table: tuple[tuple[int, int], ...]) -> int:
    """Grade of the largest ``minimum_days`` in ``table`` reached by ``duration_days`` (else 0)."""
    return int(grades_for_durations(np.array([duration_days], dtype=np.int64), table)[0])
