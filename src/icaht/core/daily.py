"""Day-level machinery shared by the ICAHT, T-ICAHT and recovery graders (numpy, vectorised).

The published automated ICAHT method (LIANG-ICAHT; docs/evidence.md 3.1) works on one value
per calendar day: the lowest value of the day, missing days filled by linear interpolation over
short gaps, then runs of days under a threshold, short interruptions joined. This module does
exactly those steps on numpy arrays:

* :func:`prepare` drops non-finite pairs and values after the end of follow-up, sorts if needed;
* :func:`daily_minimum` keeps the lowest value per calendar day (day = floor of the fractional day);
* :func:`day_series` lays the daily values on a day grid and interpolates gaps of at most
  ``max_gap`` missing days (longer gaps stay NaN and are returned as :class:`Gap`);
* :func:`below`, :func:`runs`, :func:`join_runs` and :func:`run_duration` find and count runs.

Gap length is the number of consecutive **missing calendar days** between two days with a value
(zoo ``na.approx(maxgap=7)`` as used by LIANG-ICAHT): values on day 0 and day 8 leave a 7-day gap
(days 1-7), which is interpolated with ``max_gap=7``; values on day 0 and day 9 leave 8 missing
days, which stay missing. Days before the first or after the last value are filled only when the
caller asks for edge carry (``carry_edges``): LIANG-ICAHT's ``na.approx(rule = 2, maxgap = 7)``
carries the first value back and the last value forward over edge stretches of at most 7 days,
which early ICAHT does by default (docs/decisions.md, Grading: ``icaht.carry_edges_days``).
Carried days are marked in :attr:`DaySeries.carried`; without carry no count is assumed that was
not measured on both sides.
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

_EMPTY_F = np.empty(0, dtype=np.float64)
_EMPTY_I = np.empty(0, dtype=np.int64)
_EMPTY_B = np.empty(0, dtype=np.bool_)


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
        return DailyBatch(np.zeros(n + 1, dtype=np.int64), _EMPTY_I, _EMPTY_F)
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
    one = PreparedBatch(np.array([0, days.size], dtype=np.int64), days, values, _EMPTY_I, _EMPTY_I)
    out = daily_minimum_batch(one)
    return out.cal, out.values


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of calendar days without a value that was left missing.

    ``internal``: between two values, longer than the interpolation limit. ``leading``: from the
    window start to the first value. ``trailing``: from the last value to the window end.
    """

    first_day: int
    last_day: int
    kind: Literal["internal", "leading", "trailing"]

    @property
    def days(self) -> int:
        """Number of missing calendar days."""
        return self.last_day - self.first_day + 1


@dataclass(frozen=True, slots=True)
class DaySeries:
    """One value per calendar day from ``start_day`` to ``end_day`` (inclusive); NaN = missing."""

    start_day: int
    end_day: int
    values: FloatArray
    observed: BoolArray
    gaps: tuple[Gap, ...]
    max_gap: int
    carried: BoolArray
    """Days whose value was carried from the nearest value at an edge of the window."""

    def carried_days(self) -> list[int]:
        """Calendar days whose value was carried (edge carry), in order."""
        return (self.start_day + np.flatnonzero(self.carried)).tolist()

    @property
    def n_observed(self) -> int:
        """Days with an observed (not interpolated) value."""
        return int(np.count_nonzero(self.observed))

    def last_value_day(self) -> int | None:
        """Last calendar day with a value (observed or interpolated), or None."""
        idx = np.flatnonzero(~np.isnan(self.values))
        return None if idx.size == 0 else self.start_day + int(idx[-1])


_GAP_KINDS: tuple[Literal["leading", "internal", "trailing"], ...] = (
    "leading",
    "internal",
    "trailing",
)


@dataclass(frozen=True, slots=True)
class GridBatch:
    """:class:`DaySeries` of many patients: one value per calendar day from ``start_day`` to
    each patient's ``end_day``, concatenated (patient ``i`` at ``offsets[i]:offsets[i + 1]``,
    none when its end is before the start), with the gaps left missing as columns (ordered by
    patient and day; ``gap_kind`` indexes ``leading, internal, trailing``)."""

    start_day: int
    end_day: IntArray
    offsets: IntArray
    values: FloatArray
    observed: BoolArray
    carried: BoolArray
    gap_patient: IntArray
    gap_first: IntArray
    gap_last: IntArray
    gap_kind: IntArray
    max_gap: int

    def n_observed(self) -> IntArray:
        """Days with an observed (not interpolated) value, per patient."""
        csum = np.zeros(self.observed.size + 1, dtype=np.int64)
        np.cumsum(self.observed, out=csum[1:])
        return csum[self.offsets[1:]] - csum[self.offsets[:-1]]

    def last_value_index(self) -> IntArray:
        """Per patient, the grid index (from its start) of the last day with a value, or -1."""
        n = self.offsets.size - 1
        out = np.full(n, -1, dtype=np.int64)
        has = np.flatnonzero(~np.isnan(self.values))
        if has.size:
            pid = np.searchsorted(self.offsets, has, side="right") - 1
            out[pid] = has - self.offsets[pid]  # the last write of each patient wins
        return out

    def missing_stretch(self) -> BoolArray:
        """Per patient: whether a stretch of the window was left missing (an internal gap, or a
        leading/trailing stretch longer than the interpolation limit): a duration counted on it
        is a minimum."""
        n = self.offsets.size - 1
        long = (self.gap_kind == 1) | (self.gap_last - self.gap_first + 1 > self.max_gap)
        return np.bincount(self.gap_patient[long], minlength=n) > 0

    def series(self, i: int) -> DaySeries:
        """Patient ``i`` as a :class:`DaySeries`."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        g0, g1 = np.searchsorted(self.gap_patient, [i, i + 1], side="left").tolist()
        gaps = tuple(
            Gap(f, last, _GAP_KINDS[k])
            for f, last, k in zip(
                self.gap_first[g0:g1].tolist(),
                self.gap_last[g0:g1].tolist(),
                self.gap_kind[g0:g1].tolist(),
                strict=True,
            )
        )
        return DaySeries(
            self.start_day,
            int(self.end_day[i]),
            self.values[a:b],
            self.observed[a:b],
            gaps,
            self.max_gap,
            self.carried[a:b],
        )


def day_series_batch(
    daily: DailyBatch,
    *,
    start_day: int,
    end_day: IntArray,
    max_gap: int,
    round_decimals: int | None = None,
    carry_edges: int = 0,
) -> GridBatch:
    """:func:`day_series` for many patients at once (window end per patient)."""
    lengths = np.maximum(end_day - start_day + 1, 0)
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    grid = np.full(int(offsets[-1]), np.nan)
    observed = np.zeros(grid.size, dtype=np.bool_)
    carried = np.zeros(grid.size, dtype=np.bool_)
    pid = segment_ids(daily.offsets)
    inside = (daily.cal >= start_day) & (daily.cal <= end_day[pid])
    p, c, v = pid[inside], daily.cal[inside], daily.values[inside]
    pos = offsets[p] + (c - start_day)
    grid[pos] = v
    observed[pos] = True
    gaps: list[tuple[IntArray, IntArray, IntArray, int]] = []
    if p.size:
        same = p[1:] == p[:-1]
        missing = c[1:] - c[:-1] - 1
        k = np.flatnonzero(same & (missing > 0) & (missing <= max_gap))
        if k.size:
            _interpolate(grid, pos, c, v, k, missing[k], round_decimals)
        k = np.flatnonzero(same & (missing > max_gap))
        gaps.append((p[k], c[k] + 1, c[k + 1] - 1, 1))
        first = np.flatnonzero(np.concatenate(([True], ~same)))
        last = np.concatenate((first[1:] - 1, [p.size - 1]))
        lead = c[first] - start_day
        _edge(
            grid, carried, gaps, (lead, pos[first], v[first], p[first], c[first]), -1, carry_edges
        )
        trail = end_day[p[last]] - c[last]
        _edge(grid, carried, gaps, (trail, pos[last], v[last], p[last], c[last]), 1, carry_edges)
    gp, gf, gl, gk = _gap_columns(gaps)
    return GridBatch(start_day, end_day, offsets, grid, observed, carried, gp, gf, gl, gk, max_gap)


def _interpolate(
    grid: FloatArray,
    pos: IntArray,
    cal: IntArray,
    values: FloatArray,
    pairs: IntArray,
    missing: IntArray,
    round_decimals: int | None,
) -> None:
    """Fill the missing days between observed days ``pairs`` and ``pairs + 1`` on ``grid``:
    linear interpolation as ``np.interp`` computes it (slope times distance plus the left
    value), rounded to ``round_decimals`` when given (LIANG-ICAHT)."""
    x1 = cal[pairs].astype(np.float64)
    y1 = values[pairs]
    slope = (values[pairs + 1] - y1) / (cal[pairs + 1].astype(np.float64) - x1)
    rep = np.repeat(np.arange(pairs.size, dtype=np.int64), missing)
    step = ranges(missing) + 1
    filled = slope[rep] * ((x1[rep] + step) - x1[rep]) + y1[rep]
    if round_decimals is not None:
        filled = np.round(filled, round_decimals)
    grid[pos[pairs][rep] + step] = filled


_Edge = tuple[IntArray, IntArray, FloatArray, IntArray, IntArray]


def _edge(
    grid: FloatArray,
    carried: BoolArray,
    gaps: list[tuple[IntArray, IntArray, IntArray, int]],
    edge: _Edge,
    direction: Literal[-1, 1],
    carry_edges: int,
) -> None:
    """The stretch before the first (``direction=-1``) or after the last (``+1``) value of each
    patient: carried from that value when at most ``carry_edges`` days long, else a gap."""
    stretch, pos, value, patient, day = edge
    long = stretch > carry_edges
    kind = 0 if direction < 0 else 2
    lo = day - stretch if direction < 0 else day + 1
    hi = day - 1 if direction < 0 else day + stretch
    gaps.append((patient[long], lo[long], hi[long], kind))
    carry = np.flatnonzero((stretch > 0) & ~long)
    if carry.size:
        m = stretch[carry]
        first = pos[carry] - m if direction < 0 else pos[carry] + 1
        at = np.repeat(first, m) + ranges(m)
        grid[at] = np.repeat(value[carry], m)
        carried[at] = True


def _gap_columns(
    gaps: list[tuple[IntArray, IntArray, IntArray, int]],
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """The gaps as columns ordered by patient and first day."""
    if not gaps:
        return _EMPTY_I, _EMPTY_I, _EMPTY_I, _EMPTY_I
    patient = np.concatenate([g[0] for g in gaps])
    first = np.concatenate([g[1] for g in gaps])
    last = np.concatenate([g[2] for g in gaps])
    kind = np.concatenate([np.full(g[0].size, g[3], dtype=np.int64) for g in gaps])
    order = np.lexsort((first, patient))
    return patient[order], first[order], last[order], kind[order]


def day_series(
    cal_days: IntArray,
    minima: FloatArray,
    *,
    start_day: int,
    end_day: int,
    max_gap: int,
    round_decimals: int | None = None,
    carry_edges: int = 0,
) -> DaySeries:
    """Day grid ``start_day..end_day`` with observed daily values and interpolated short gaps.

    Only daily values inside the window are used (LIANG-ICAHT restricts to the window before
    interpolating). Gaps of at most ``max_gap`` missing days between two values are filled by
    linear interpolation (LIANG-ICAHT: ``na.approx(maxgap = 7)``); interpolated values are rounded
    to ``round_decimals`` decimals when given (LIANG-ICAHT rounds ANC to the nearest 10/uL, i.e. 2
    decimals in 10^9/L; numpy rounds halves to even, as R does). Observed values are never
    rounded. Longer gaps stay NaN and are listed in ``gaps``. Days before the first value are
    filled with it when there are at most ``carry_edges`` of them, and days after the last value
    with it likewise (LIANG-ICAHT: ``na.approx(rule = 2, maxgap = 7)``); those days are marked
    ``carried``. Longer edge stretches (or all of them with ``carry_edges=0``) stay NaN and are
    listed in ``gaps``. One patient of :func:`day_series_batch`.
    """
    one = DailyBatch(np.array([0, cal_days.size], dtype=np.int64), cal_days, minima)
    return day_series_batch(
        one,
        start_day=start_day,
        end_day=np.array([end_day], dtype=np.int64),
        max_gap=max_gap,
        round_decimals=round_decimals,
        carry_edges=carry_edges,
    ).series(0)


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
        return _EMPTY_I, _EMPTY_I, _EMPTY_I
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
        return duration, _EMPTY_B
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


def threshold_label(comparison: Comparison, threshold: float) -> str:
    """Key for duration dictionaries, e.g. ``"<=0.5"`` or ``"<20"``."""
    return f"{comparison}{threshold:g}"


def fmt_value(value: float) -> str:
    """A count for messages: up to 3 significant decimals, no trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def gap_caveats(series: DaySeries, analyte: str) -> list[str]:
    """Data-quality caveats for stretches left missing that are longer than the interpolation limit.

    Internal gaps are by construction longer than ``max_gap``; leading and trailing stretches are
    reported only when longer than ``max_gap`` (a day or two without a result is routine).
    """
    out: list[str] = []
    for gap in series.gaps:
        if gap.kind == "internal":
            out.append(
                f"gap of {gap.days} days without {analyte} (day {gap.first_day}-{gap.last_day}) "
                f"not interpolated (limit {series.max_gap} days): incomplete data"
            )
        elif gap.days > series.max_gap:
            where = "before the first" if gap.kind == "leading" else "after the last"
            out.append(
                f"no {analyte} on day {gap.first_day}-{gap.last_day} ({gap.days} days, {where} "
                f"value in the window): incomplete data"
            )
    return out


def carried_caveats(series: DaySeries, analyte: str) -> list[str]:
    """Caveats naming the edge days whose value was carried from the nearest value."""
    if not bool(series.carried.any()):
        return []
    out: list[str] = []
    starts, ends = runs(series.carried)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        leading = a == 0
        source = series.start_day + (b + 1 if leading else a - 1)  # the day carried from
        first, last = series.start_day + a, series.start_day + b
        days = f"day {first}" if first == last else f"day {first}-{last}"
        out.append(
            f"{analyte} of day {source} carried {'back' if leading else 'forward'} to {days} "
            f"(edge carry of the published method, LIANG-ICAHT)"
        )
    return out


def dropped_caveats(
    non_finite: int, after_end: int, analyte: str, end_day: float, end_reason: str
) -> list[str]:
    """Caveats for observations the graders ignored (counts of :class:`Prepared`)."""
    out: list[str] = []
    if non_finite:
        out.append(
            f"{non_finite} {analyte} value(s) with a non-finite value or an invalid day: ignored"
        )
    if after_end:
        out.append(
            f"{after_end} {analyte} value(s) after day {fmt_value(end_day)} ({end_reason}) ignored"
        )
    return out


def calendar_end(end_day: float) -> int | None:
    """Calendar day of the end of usable follow-up (floor); None when it is not a number.

    ``+inf`` (no end known) maps to a day beyond every window, ``-inf`` to one before them.
    """
    if math.isnan(end_day):
        return None
    if math.isinf(end_day):
        return 10**9 if end_day > 0 else -(10**9)
    return math.floor(end_day)
