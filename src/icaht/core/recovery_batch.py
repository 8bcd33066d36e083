"""The neutrophil recovery phenotype of many patients at once (a registry's grades-only pass).

The same reading as :func:`icaht.core.recovery.recovery_phenotype` (HT, Blood 2021, via
docs/decisions.md "Grading"), label only, on the kernel's concatenated arrays: the day grid from
day 0 to min(``window_end_day``, end of follow-up) without edge carry, then per patient
aplastic (ANC < 0.5 on >= 14 consecutive days), else undetermined without a recovery above 1.0
after the first fall below it, else intermittent (a fall below 1.0 after day +21 following the
recovery), else quick when follow-up reached the window end and a value after day +21 is on
file, else undetermined. ``tests/cohort/test_grading_long.py`` checks it against the one-patient
function on a simulated cohort.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from icaht.core.daily import COMPARISON_TOLERANCE, DailyBatch, FloatArray, IntArray, segment_ids
from icaht.core.day_grid import day_series_batch
from icaht.core.day_runs import below, segment_runs
from icaht.core.kernel import calendar_ends
from icaht.knowledge.icaht_criteria import (
    ANC_APLASTIC_10E9_PER_L,
    ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L,
    ANC_RECOVERY_10E9_PER_L,
    APLASTIC_MIN_DAYS,
    EARLY_WINDOW_START_DAY,
    SECOND_DIP_AFTER_DAY,
)
from icaht.knowledge.profile.grading import RecoveryPhenotypeSettings

#: Labels in the order of the codes :func:`phenotype_codes` returns.
PHENOTYPES = ("undetermined", "quick", "intermittent", "aplastic")
UNDETERMINED, QUICK, INTERMITTENT, APLASTIC = 0, 1, 2, 3


def _first_local(mask: NDArray[np.bool_], pid: IntArray, local: IntArray, n: int) -> IntArray:
    """Per patient, the first grid index (from its start) where ``mask`` holds, or -1."""
    out = np.full(n, -1, dtype=np.int64)
    hit = np.flatnonzero(mask)
    first = np.concatenate(([True], pid[hit][1:] != pid[hit][:-1])) if hit.size else hit
    out[pid[hit][first]] = local[hit][first]
    return out


def phenotype_codes(
    daily: DailyBatch,
    end_day: FloatArray,
    settings: RecoveryPhenotypeSettings,
    interpolation_max_gap_days: int,
) -> IntArray:
    """The phenotype code (index into :data:`PHENOTYPES`) of every patient of ``daily`` (the
    kernel's lowest ANC per day, observations after ``end_day`` already dropped)."""
    n = end_day.size
    end_cal, nan = calendar_ends(end_day)
    started = ~nan & (end_cal >= EARLY_WINDOW_START_DAY)
    target = settings.window_end_day
    grid = day_series_batch(
        daily,
        start_day=EARLY_WINDOW_START_DAY,
        end_day=np.where(started, np.minimum(target, end_cal), EARLY_WINDOW_START_DAY - 1),
        max_gap=interpolation_max_gap_days,
        round_decimals=ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L,
    )
    v = grid.values
    pid = segment_ids(grid.offsets)
    local = np.arange(v.size, dtype=np.int64) - grid.offsets[pid]
    code = np.full(n, UNDETERMINED, dtype=np.int64)
    seg, starts, ends = segment_runs(below(v, ANC_APLASTIC_10E9_PER_L, "<"), grid.offsets)
    longest = np.zeros(n, dtype=np.int64)
    np.maximum.at(longest, seg, ends - starts + 1)
    dip = below(v, ANC_RECOVERY_10E9_PER_L, "<")
    first_dip = _first_local(dip, pid, local, n)
    up = (v > ANC_RECOVERY_10E9_PER_L + COMPARISON_TOLERANCE) & (first_dip[pid] >= 0)
    recovery = _first_local(up & (local >= first_dip[pid]), pid, local, n)
    recovered = (first_dip < 0) | (recovery >= 0)
    after_21 = local + grid.start_day > SECOND_DIP_AFTER_DAY
    from_day = np.maximum(recovery, 0)
    second = np.bincount(pid[dip & after_21 & (local >= from_day[pid])], minlength=n) > 0
    late_value = np.bincount(pid[~np.isnan(v) & after_21], minlength=n) > 0
    quick = recovered & ~second & (end_cal >= target) & late_value
    code[quick] = QUICK
    code[recovered & second] = INTERMITTENT
    code[longest >= APLASTIC_MIN_DAYS] = APLASTIC
    code[~started | (grid.n_observed() == 0)] = UNDETERMINED
    return code
