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


def prepare(days: FloatArray, values: FloatArray, end_day: float) -> Prepared:
    """Keep finite (day, value) pairs with ``day <= end_day``, sorted by day (stable).

    Pairs with a non-finite value or day (or ``|day| > MAX_ABS_DAY``) are dropped and counted.
    Values after ``end_day`` are ignored (no look-ahead past the end of usable follow-up).
    Mismatched lengths are truncated to the shorter array (defensive; callers pass equal lengths).
    """
    d = np.asarray(days, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    if d.shape != v.shape:
        n = min(d.size, v.size)
        d, v = d[:n], v[:n]
    finite = np.isfinite(v) & (np.abs(d) <= MAX_ABS_DAY)  # also rejects non-finite days
    n_bad = int(d.size - np.count_nonzero(finite))
    if n_bad:
        d, v = d[finite], v[finite]
    n_after = 0
    if not math.isnan(end_day):
        keep = d <= end_day
        n_after = int(d.size - np.count_nonzero(keep))
        if n_after:
            d, v = d[keep], v[keep]
    if d.size > 1 and bool(np.any(d[1:] < d[:-1])):
        order = np.argsort(d, kind="stable")
        d, v = d[order], v[order]
    return Prepared(d, v, n_bad, n_after)


def daily_minimum(days: FloatArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    """Lowest value per calendar day; ``days`` must be sorted. Calendar day = ``floor(day)``.

    Returns ``(calendar_days, minima)``, both ordered by day, one entry per day with a value.
    Source: LIANG-ICAHT ("keep the lowest ANC value" per day).
    """
    if days.size == 0:
        return _EMPTY_I, _EMPTY_F
    cal = np.floor(days).astype(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], cal[1:] != cal[:-1])))
    return cal[starts], np.minimum.reduceat(values, starts)


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
    listed in ``gaps``.
    """
    n = end_day - start_day + 1
    if n <= 0:
        return DaySeries(
            start_day, end_day, _EMPTY_F, np.zeros(0, dtype=np.bool_), (), max_gap, _EMPTY_B
        )
    grid = np.full(n, np.nan)
    observed = np.zeros(n, dtype=np.bool_)
    carried = np.zeros(n, dtype=np.bool_)
    if cal_days.size:
        lo = int(np.searchsorted(cal_days, start_day, side="left"))
        hi = int(np.searchsorted(cal_days, end_day, side="right"))
        obs_days = cal_days[lo:hi]
        obs_vals = minima[lo:hi]
    else:
        obs_days, obs_vals = cal_days, minima
    if obs_days.size == 0:
        return DaySeries(start_day, end_day, grid, observed, (), max_gap, carried)
    idx = obs_days - start_day
    grid[idx] = obs_vals
    observed[idx] = True
    gaps: list[Gap] = []
    first, last = int(obs_days[0]), int(obs_days[-1])
    if first - start_day > carry_edges:
        gaps.append(Gap(start_day, first - 1, "leading"))
    elif first > start_day:
        grid[: first - start_day] = obs_vals[0]
        carried[: first - start_day] = True
    if obs_days.size >= 2:
        missing = np.diff(obs_days) - 1
        if bool(np.any(missing > 0)):
            span = np.arange(first, last + 1, dtype=np.float64)
            filled = np.interp(span, obs_days.astype(np.float64), obs_vals)
            long_gap = np.flatnonzero(missing > max_gap)
            if long_gap.size:
                # Mark the days of each long gap (a handful per series) as missing again.
                g_first = (obs_days[long_gap] + 1).tolist()
                g_last = (obs_days[long_gap + 1] - 1).tolist()
                for a, b in zip(g_first, g_last, strict=True):
                    filled[a - first : b - first + 1] = np.nan
                    gaps.append(Gap(a, b, "internal"))
            sl = slice(first - start_day, last - start_day + 1)
            interp_mask = ~observed[sl]
            if round_decimals is not None:
                filled[interp_mask] = np.round(filled[interp_mask], round_decimals)
            grid[sl][interp_mask] = filled[interp_mask]
    if end_day - last > carry_edges:
        gaps.append(Gap(last + 1, end_day, "trailing"))
    elif last < end_day:
        grid[last - start_day + 1 :] = obs_vals[-1]
        carried[last - start_day + 1 :] = True
    gaps.sort(key=lambda g: g.first_day)
    return DaySeries(start_day, end_day, grid, observed, tuple(gaps), max_gap, carried)


def below(values: FloatArray, threshold: float, comparison: Comparison) -> BoolArray:
    """Boolean mask of values under ``threshold`` (``"<="`` or ``"<"``); NaN is never under.

    A value within :data:`COMPARISON_TOLERANCE` of the threshold counts as equal to it.
    """
    if comparison == "<=":
        return values <= threshold + COMPARISON_TOLERANCE
    return values < threshold - COMPARISON_TOLERANCE


def runs(mask: BoolArray) -> tuple[IntArray, IntArray]:
    """Runs of True: ``(starts, ends)`` as inclusive indices, in order."""
    if mask.size == 0 or not bool(mask.any()):
        return _EMPTY_I, _EMPTY_I
    padded = np.zeros(mask.size + 2, dtype=np.int8)
    padded[1:-1] = mask
    change = np.flatnonzero(padded[1:] != padded[:-1])  # alternating run starts / run ends + 1
    return change[0::2].astype(np.int64), change[1::2].astype(np.int64) - 1


def join_runs(starts: IntArray, ends: IntArray, join_gap: int) -> tuple[IntArray, IntArray]:
    """Join runs separated by at most ``join_gap`` days (the days between count into the run).

    LIANG-ICAHT (heatwaveR ``joinAcrossGaps = TRUE, maxGap = 2``): an interruption shorter than a
    stable recovery (3 consecutive days above the threshold) does not end the episode. The days in
    between are joined whatever their values (above the threshold, or missing), as heatwaveR does.
    """
    if starts.size <= 1 or join_gap <= 0:
        return starts, ends
    separate = (starts[1:] - ends[:-1] - 1) > join_gap
    if not bool(separate.any()):
        return starts[:1], ends[-1:]
    keep_start = np.concatenate(([True], separate))
    keep_end = np.concatenate((separate, [True]))
    return starts[keep_start], ends[keep_end]


def run_duration(starts: IntArray, ends: IntArray, method: DurationMethod) -> tuple[int, IntArray]:
    """Duration in days and the indices of the runs that make it.

    ``longest_run``: the longest (joined) run, first one on ties (LIANG-ICAHT). ``cumulative``:
    the sum of all (joined) runs, so days of non-stable recovery inside a joined run count toward
    the total (T-ICAHT Table 1 footnote).
    """
    if starts.size == 0:
        return 0, _EMPTY_I
    lengths = ends - starts + 1
    if method == "cumulative":
        return int(lengths.sum()), np.arange(starts.size, dtype=np.int64)
    best = int(np.argmax(lengths))
    return int(lengths[best]), np.array([best], dtype=np.int64)


def threshold_runs(
    series: DaySeries,
    threshold: float,
    comparison: Comparison,
    *,
    join_gap: int,
    method: DurationMethod,
) -> tuple[int, IntArray, IntArray, IntArray]:
    """Runs of ``series`` under ``threshold`` joined across ``join_gap`` and their duration.

    Returns ``(duration_days, starts, ends, selected)``: joined runs as grid indices and the
    indices (into starts/ends) of the runs that make up the duration.
    """
    s, e = runs(below(series.values, threshold, comparison))
    s, e = join_runs(s, e, join_gap)
    total, selected = run_duration(s, e, method)
    return total, s, e, selected


def grade_for_duration(duration_days: int, table: tuple[tuple[int, int], ...]) -> int:
    """Grade of the largest ``minimum_days`` in ``table`` reached by ``duration_days`` (else 0)."""
    grade = 0
    for min_days, g in table:
        if duration_days >= min_days:
            grade = g
    return grade


def threshold_label(comparison: Comparison, threshold: float) -> str:
    """Key for duration dictionaries, e.g. ``"<=0.5"`` or ``"<20"``."""
    return f"{comparison}{threshold:g}"


def fmt_value(value: float) -> str:
    """A count for messages: up to 3 significant decimals, no trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def has_missing_stretch(series: DaySeries) -> bool:
    """True if any stretch of the window was left missing (internal gap, or a leading/trailing
    stretch longer than the interpolation limit): a duration counted on it is a minimum."""
    return any(g.kind == "internal" or g.days > series.max_gap for g in series.gaps)


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


def dropped_caveats(prepared: Prepared, analyte: str, end_day: float, end_reason: str) -> list[str]:
    """Caveats for observations the graders ignored."""
    out: list[str] = []
    if prepared.dropped_non_finite:
        out.append(
            f"{prepared.dropped_non_finite} {analyte} value(s) with a non-finite value or an "
            f"invalid day: ignored"
        )
    if prepared.dropped_after_end:
        out.append(
            f"{prepared.dropped_after_end} {analyte} value(s) after day {fmt_value(end_day)} "
            f"({end_reason}) ignored"
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
