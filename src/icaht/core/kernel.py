"""The columnar window-grading kernel: early and late ICAHT and T-ICAHT of many patients at once.

One algorithm, driven by a :class:`~icaht.core.grading_scheme.GradingScheme` (analyte,
comparison, thresholds with their duration tables, interpolation and joining limits, late depth
bands and late rule), grades a :class:`Batch`: the patients' observations concatenated patient
after patient with offsets, each with its end of usable follow-up. The steps are those of the
published automated method (LIANG-ICAHT; docs/evidence.md 3.1, docs/decisions.md "Grading") on
concatenated numpy arrays (:mod:`icaht.core.daily`, :mod:`icaht.core.day_grid`,
:mod:`icaht.core.day_runs`): lowest value per calendar day, the day grid with interpolation over
short gaps and edge carry, runs under each threshold joined across short gaps, durations and
their grades, the early no-recovery rule, and the late depth grade under the non-transient rule.

The result, :class:`WindowGrades`, holds the grades as columns (a registry pass reads those and
nothing else) and what set them, from which :func:`icaht.core.icaht.window_result` writes one
patient's :class:`~icaht.core.icaht.IcahtResult`. ``assess()`` grades a batch of one: there is
no second implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from icaht.core.daily import (
    BoolArray,
    Comparison,
    DailyBatch,
    FloatArray,
    IntArray,
    PreparedBatch,
    daily_minimum_batch,
    prepare_batch,
    segment_ids,
)
from icaht.core.day_grid import GridBatch, day_series_batch
from icaht.core.day_runs import RunsBatch, below, grades_for_durations, threshold_runs_batch
from icaht.core.day_text import threshold_label
from icaht.core.grading_scheme import DurationRow, GradingScheme
from icaht.knowledge.icaht_criteria import (
    EARLY_WINDOW_END_DAY,
    EARLY_WINDOW_START_DAY,
    LATE_WINDOW_START_DAY,
)

Window = Literal["early", "late"]
#: ``WindowGrades.status``: graded, end of follow-up not a number, window not reached, no value.
GRADED, END_NOT_A_NUMBER, NOT_REACHED, NO_VALUE = 0, 1, 2, 3
#: ``WindowGrades.rule4`` (early no-recovery rule): not met, recovery unknown (last value too
#: far before the window end), met but the window is still open, applied (grade 4).
RULE4_NONE, RULE4_UNKNOWN, RULE4_ONGOING, RULE4_APPLIED = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Batch:
    """Observations of many patients (day relative to infusion, value in the scheme's unit),
    concatenated patient after patient (patient ``i`` at ``offsets[i]:offsets[i + 1]``), each
    patient's end of usable follow-up (``end_day``, fractional) and whether that end is only the
    assessment day (``as_of``: the window may still be open) rather than an event."""

    days: FloatArray
    values: FloatArray
    offsets: IntArray
    end_day: FloatArray
    as_of: BoolArray

    @property
    def size(self) -> int:
        """Number of patients."""
        return int(self.offsets.size - 1)

    @classmethod
    def one(cls, days: FloatArray, values: FloatArray, end_day: float, as_of: bool) -> Batch:
        """A batch of one patient (arrays of unequal length are cut to the shorter)."""
        d = np.asarray(days, dtype=np.float64).ravel()
        v = np.asarray(values, dtype=np.float64).ravel()
        n = min(d.size, v.size)
        return cls(
            d[:n],
            v[:n],
            np.array([0, n], dtype=np.int64),
            np.array([end_day], dtype=np.float64),
            np.array([as_of], dtype=np.bool_),
        )


@dataclass(frozen=True, slots=True)
class LateDepth:
    """The values of a late window that set its depth grade, per patient: number of daily
    values (tests), the lowest and second-lowest (indices into the daily arrays, -1 when
    absent), their bands (grade, threshold; NaN when in none) and whether the second confirms
    the lowest (under the scheme's ``late_confirm``)."""

    n_tests: IntArray
    lowest: IntArray
    second: IntArray
    lowest_grade: IntArray
    lowest_threshold: FloatArray
    second_grade: IntArray
    second_threshold: FloatArray
    confirmed: BoolArray


@dataclass(frozen=True, slots=True)
class WindowGrades:
    """One window graded for every patient of a batch.

    Columns per patient: ``status`` (:data:`GRADED` or why not), ``end`` (window end used, a
    calendar day), ``censored`` (an event ended follow-up before the nominal end), ``open`` (the
    as-of day is before the window end), ``grade`` (-1 = none), ``provisional``,
    ``lower_bound``, ``durations`` (per threshold label), ``row_grades`` (early: the grade of
    each duration row), ``rule4`` (early no-recovery rule), ``lifted`` (late: the grade was read
    in the deepest band, so its duration row decided it). What set them: the prepared
    observations (drop counts), the daily values, the day grid and the runs of each row.
    """

    scheme: GradingScheme
    window: Window
    start: int
    nominal_end: int
    end: IntArray
    status: IntArray
    censored: BoolArray
    open: BoolArray
    grade: IntArray
    provisional: BoolArray
    lower_bound: BoolArray
    durations: dict[str, IntArray]
    row_grades: tuple[IntArray, ...]
    rule4: IntArray
    lifted: BoolArray
    prepared: PreparedBatch
    daily: DailyBatch
    grid: GridBatch | None
    runs: tuple[RunsBatch, ...]
    late: LateDepth | None


def calendar_ends(end_day: FloatArray) -> tuple[IntArray, BoolArray]:
    """:func:`~icaht.core.daily.calendar_end` of every patient: the calendar day (floor; +-inf
    beyond every window) and which ends are not a number."""
    nan = np.isnan(end_day)
    clipped = np.clip(np.where(nan, 0.0, end_day), -1e9, 1e9)
    return np.floor(clipped).astype(np.int64), nan


def _window(
    batch: Batch, start: int, nominal_end: int
) -> tuple[IntArray, IntArray, BoolArray, BoolArray]:
    """Window end used, status (not a number / not reached), censoring and openness."""
    end_cal, nan = calendar_ends(batch.end_day)
    censored = (end_cal < nominal_end) & ~nan
    end = np.where(nan, start - 1, np.minimum(end_cal, nominal_end))
    status = np.full(batch.size, GRADED, dtype=np.int64)
    status[end < start] = NOT_REACHED
    status[nan] = END_NOT_A_NUMBER
    return end, status, censored, batch.as_of & (end < nominal_end)


#: A batch's prepared observations and lowest value per calendar day: both windows read the
#: same ones (the end of follow-up is the patient's, not the window's).
Daily = tuple[PreparedBatch, DailyBatch]


def batch_daily(batch: Batch) -> Daily:
    """The prepared observations of ``batch`` and their lowest value per calendar day."""
    prepared = prepare_batch(batch.days, batch.values, batch.offsets, batch.end_day)
    return prepared, daily_minimum_batch(prepared)


def _grid(
    scheme: GradingScheme, daily: DailyBatch, start: int, end: IntArray, status: IntArray
) -> GridBatch:
    """The day grid of the graded patients (others get none)."""
    return day_series_batch(
        daily,
        start_day=start,
        end_day=np.where(status == GRADED, end, start - 1),
        max_gap=scheme.max_gap,
        round_decimals=scheme.round_decimals,
        carry_edges=scheme.carry_edges if start == EARLY_WINDOW_START_DAY else 0,
    )


def _row_runs(scheme: GradingScheme, grid: GridBatch, row: DurationRow) -> RunsBatch:
    return threshold_runs_batch(
        grid, row.threshold, scheme.comparison, join_gap=scheme.join_gap, method=scheme.method
    )


def _no_recovery_rule(
    scheme: GradingScheme, grid: GridBatch, severe: RunsBatch, grade: IntArray, early: _Early
) -> IntArray:
    """The early no-recovery rule (LIANG-ICAHT) per patient: the last (joined) run under the
    first row's threshold starts by ``grade4_onset_max_day`` and lasts to the last day with a
    value; applied when the window is closed and that value is within the interpolation limit
    of the window end (see :func:`icaht.core.neutrophil_icaht.grade_early_icaht`)."""
    rule = np.zeros(grade.size, dtype=np.int64)
    onset = scheme.grade4_onset_max_day
    if onset is None or severe.starts.size == 0:
        return rule
    seg = severe.patient
    last_run = np.flatnonzero(np.concatenate((seg[1:] != seg[:-1], [True])))
    patient = seg[last_run]
    last_value = grid.last_value_index()[patient]
    hit = (
        (grade[patient] < 4)
        & (severe.ends[last_run] == last_value)
        & (grid.start_day + severe.starts[last_run] <= onset)
    )
    patient, last_value = patient[hit], last_value[hit]
    trailing = early.end[patient] - (grid.start_day + last_value)
    rule[patient] = np.where(
        trailing > scheme.max_gap,
        RULE4_UNKNOWN,
        np.where(early.open[patient], RULE4_ONGOING, RULE4_APPLIED),
    )
    return rule


@dataclass(frozen=True, slots=True)
class _Early:
    end: IntArray
    open: BoolArray


def grade_early(scheme: GradingScheme, batch: Batch, known: Daily | None = None) -> WindowGrades:
    """Early window (day 0 to +30) of every patient: grade = the highest grade of the duration
    rows; ICAHT's no-recovery rule; ``provisional`` while open; ``lower_bound`` when days of the
    window were left missing and the grade is below 4. ``known``: :func:`batch_daily` of the
    batch when already computed (for the late window too)."""
    start = EARLY_WINDOW_START_DAY
    end, status, censored, is_open = _window(batch, start, EARLY_WINDOW_END_DAY)
    prepared, daily = known or batch_daily(batch)
    grid = _grid(scheme, daily, start, end, status)
    status[(status == GRADED) & (grid.n_observed() == 0)] = NO_VALUE
    row_runs = tuple(_row_runs(scheme, grid, row) for row in scheme.early_rows)
    row_grades = tuple(
        grades_for_durations(r.duration, row.table)
        for r, row in zip(row_runs, scheme.early_rows, strict=True)
    )
    grade = np.maximum.reduce(row_grades)
    rule4 = _no_recovery_rule(scheme, grid, row_runs[0], grade, _Early(end, is_open))
    grade[rule4 == RULE4_APPLIED] = 4
    graded = status == GRADED
    return WindowGrades(
        scheme=scheme,
        window="early",
        start=start,
        nominal_end=EARLY_WINDOW_END_DAY,
        end=end,
        status=status,
        censored=censored,
        open=is_open & graded,
        grade=np.where(graded, grade, -1),
        provisional=is_open & graded,
        lower_bound=graded & (grade < 4) & grid.missing_stretch(),
        durations={
            threshold_label(scheme.comparison, row.threshold): r.duration
            for r, row in zip(row_runs, scheme.early_rows, strict=True)
        },
        row_grades=row_grades,
        rule4=rule4,
        lifted=np.zeros(batch.size, dtype=np.bool_),
        prepared=prepared,
        daily=daily,
        grid=grid,
        runs=row_runs,
        late=None,
    )


def depth_grades(
    values: FloatArray, bands: tuple[tuple[float, int], ...], comparison: Comparison
) -> tuple[IntArray, FloatArray]:
    """Grade and threshold of the deepest band each value falls in (bands deepest first;
    grade 0 and NaN outside every band)."""
    grade = np.zeros(values.size, dtype=np.int64)
    threshold = np.full(values.size, np.nan)
    for thr, g in reversed(bands):
        hit = below(values, thr, comparison)
        grade[hit] = g
        threshold[hit] = thr
    return grade, threshold


def _first_minimum(values: FloatArray, mask: BoolArray, pid: IntArray, n: int) -> IntArray:
    """Per patient, the index of its lowest value among ``mask`` (the first on ties: daily
    values are ordered by day), -1 when none; no sort (values grouped by patient)."""
    out = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return out
    v, p = values[idx], pid[idx]
    starts = np.flatnonzero(np.concatenate(([True], p[1:] != p[:-1])))
    lowest = np.minimum.reduceat(v, starts)
    hit = v == np.repeat(lowest, np.diff(np.append(starts, v.size)))
    idx, p = idx[hit], p[hit]
    first = np.concatenate(([True], p[1:] != p[:-1]))
    out[p[first]] = idx[first]
    return out


def _late_depth(
    scheme: GradingScheme, daily: DailyBatch, end: IntArray, status: IntArray
) -> LateDepth:
    """The lowest and second-lowest daily value of each late window (earliest first on ties)
    and their bands."""
    n = end.size
    pid = segment_ids(daily.offsets)
    inside = (
        (daily.cal >= LATE_WINDOW_START_DAY) & (daily.cal <= end[pid]) & (status[pid] == GRADED)
    )
    n_tests = np.bincount(pid[inside], minlength=n).astype(np.int64)
    lowest = _first_minimum(daily.values, inside, pid, n)
    rest = inside.copy()
    rest[lowest[lowest >= 0]] = False
    second = _first_minimum(daily.values, rest, pid, n)
    padded = np.append(daily.values, np.nan)  # index -1: no value
    lo_vals, nd_vals = padded[lowest], padded[second]
    lo_grade, lo_thr = depth_grades(lo_vals, scheme.late_bands, scheme.comparison)
    nd_grade, nd_thr = depth_grades(nd_vals, scheme.late_bands, scheme.comparison)
    confirmed = below(nd_vals, scheme.late_confirm, scheme.comparison)
    return LateDepth(n_tests, lowest, second, lo_grade, lo_thr, nd_grade, nd_thr, confirmed)


def grade_late(scheme: GradingScheme, batch: Batch, known: Daily | None = None) -> WindowGrades:
    """Late window (day +31 to the scheme's end) of every patient: the depth grade under the
    late rule (``lowest_confirmed``: the band of the lowest value when another value is under
    ``late_confirm``, else 0; ``second_lowest``: the band of the second-lowest value), a single
    value graded from itself and provisional; T-ICAHT's deepest band lifted by its duration.
    ``known`` as for :func:`grade_early`."""
    start, nominal_end = LATE_WINDOW_START_DAY, scheme.late_end_day
    end, status, censored, is_open = _window(batch, start, nominal_end)
    prepared, daily = known or batch_daily(batch)
    late = _late_depth(scheme, daily, end, status)
    status[(status == GRADED) & (late.n_tests == 0)] = NO_VALUE
    single = late.n_tests == 1
    if scheme.late_rule == "lowest_confirmed":
        grade = np.where(late.confirmed, late.lowest_grade, 0)
    else:
        grade = late.second_grade.copy()
    grade = np.where(single, late.lowest_grade, grade)
    graded = status == GRADED
    lifted = np.zeros(batch.size, dtype=np.bool_)
    durations: dict[str, IntArray] = {}
    lower_bound = np.zeros(batch.size, dtype=np.bool_)
    grid = None
    row_runs: tuple[RunsBatch, ...] = ()
    if scheme.late_row is not None:
        grid = _grid(scheme, daily, start, end, status)
        runs = _row_runs(scheme, grid, scheme.late_row)
        row_runs = (runs,)
        lifted = graded & ~single & (grade == max(g for _, g in scheme.late_bands))
        lift = grades_for_durations(runs.duration, scheme.late_row.table)
        grade = np.where(lifted, np.maximum(grade, lift), grade)
        durations[threshold_label(scheme.comparison, scheme.late_row.threshold)] = runs.duration
        lower_bound = graded & (grade < 4) & grid.missing_stretch()
    return WindowGrades(
        scheme=scheme,
        window="late",
        start=start,
        nominal_end=nominal_end,
        end=end,
        status=status,
        censored=censored,
        open=is_open & graded,
        grade=np.where(graded, grade, -1),
        provisional=graded & (single | is_open),
        lower_bound=lower_bound,
        durations=durations,
        row_grades=(),
        rule4=np.zeros(batch.size, dtype=np.int64),
        lifted=lifted,
        prepared=prepared,
        daily=daily,
        grid=grid,
        runs=row_runs,
        late=late,
    )


def grade_windows(scheme: GradingScheme, batch: Batch) -> tuple[WindowGrades, WindowGrades]:
    """:func:`grade_early` and :func:`grade_late` of one batch, its daily values computed once."""
    daily = batch_daily(batch)
    return grade_early(scheme, batch, daily), grade_late(scheme, batch, daily)


def grade_window(scheme: GradingScheme, window: Window, batch: Batch) -> WindowGrades:
    """:func:`grade_early` or :func:`grade_late`."""
    return grade_early(scheme, batch) if window == "early" else grade_late(scheme, batch)
