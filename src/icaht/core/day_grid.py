"""The day grid of the graders: daily values laid on consecutive calendar days, short gaps
interpolated (LIANG-ICAHT; docs/evidence.md 3.1).

:func:`day_series` lays the daily values on a day grid and interpolates gaps of at most
``max_gap`` missing days (longer gaps stay NaN and are returned as :class:`Gap`).

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

from dataclasses import dataclass
from typing import Literal

import numpy as np

from icaht.core.daily import (
    EMPTY_INT,
    BoolArray,
    DailyBatch,
    FloatArray,
    IntArray,
    ranges,
    segment_ids,
)


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
        return EMPTY_INT, EMPTY_INT, EMPTY_INT, EMPTY_INT
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
