"""Neutrophil recovery phenotype: quick, intermittent, aplastic (HT: Rejeski et al., Blood 2021).

Definitions per docs/decisions.md ("Grading") and docs/evidence.md section 4 (the
operational definitions are recalled from HT and flagged [UNCONFIRMED] there):

* quick: sustained recovery without a second dip below ANC 1.0;
* intermittent: recovery to ANC > 1.0 followed by a second dip below 1.0 after day +21;
* aplastic: continuous ANC < 0.5 for >= 14 days.

Precedence aplastic > intermittent > quick; otherwise "undetermined" with what is missing.
Thresholds come from :mod:`icaht.knowledge.icaht_criteria`.

Also the recovery after the nadir of one series (:func:`recovery_after_nadir`), the ANC recovery
day and the platelet nadir of the cohort results table.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from icaht.core.course import Series
from icaht.core.daily import COMPARISON_TOLERANCE, FloatArray, calendar_end, daily_minimum, prepare
from icaht.core.day_grid import day_series
from icaht.core.day_runs import below, runs
from icaht.core.day_text import fmt_value
from icaht.core.frozen import FROZEN
from icaht.knowledge.icaht_criteria import (
    ANC_APLASTIC_10E9_PER_L,
    ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L,
    ANC_RECOVERY_10E9_PER_L,
    ANC_SEVERE_10E9_PER_L,
    APLASTIC_MIN_DAYS,
    EARLY_WINDOW_START_DAY,
    SECOND_DIP_AFTER_DAY,
)
from icaht.knowledge.profile.grading import RecoveryPhenotypeSettings

_CITATIONS = ("HT",)
#: ANC recovery threshold after the nadir: ANC > 0.5 x10^9/L, the upper bound of the ICAHT
#: "<= 0.5" neutropenia band (Rejeski, Blood 2023).
ANC_RECOVERY_THRESHOLD_10E9_PER_L = ANC_SEVERE_10E9_PER_L


class PhenotypeResult(BaseModel):
    """The recovery phenotype and the facts that decided it.

    ``first_recovery_day``: first day with ANC > 1.0 after the first day below 1.0 (None when
    ANC never fell below 1.0 or has not recovered). ``second_dip_day``: first day after day +21
    with ANC < 1.0 following that recovery. ``longest_severe_run_days``: longest continuous run of
    days with ANC < 0.5 (no joining).
    """

    model_config = FROZEN
    phenotype: Literal["quick", "intermittent", "aplastic", "undetermined"]
    reason: str
    first_recovery_day: int | None = None
    second_dip_day: int | None = None
    longest_severe_run_days: int = 0
    citations: list[str] = Field(default_factory=list)


def recovery_phenotype(
    days: FloatArray,
    values: FloatArray,
    *,
    end_day: float,
    settings: RecoveryPhenotypeSettings,
    interpolation_max_gap_days: int,
) -> PhenotypeResult:
    """Neutrophil recovery phenotype (HT, Blood 2021, via docs/decisions.md "Grading").

    ANC values from day 0 to min(``settings.window_end_day``, floor(``end_day``)) are laid on a
    day-level series as for early ICAHT: lowest value per day, linear interpolation over gaps of
    at most ``interpolation_max_gap_days`` missing days (interpolated ANC rounded to 0.01
    x10^9/L), longer gaps missing (they break a run). Boundaries:

    * aplastic: ANC < 0.5 (strict; 0.5 is not < 0.5) on >= 14 consecutive days; "continuous"
      means no joining across days at or above 0.5 or missing days. Decided as soon as seen.
    * first dip: the first day with ANC < 1.0; recovery: the first later day with ANC > 1.0
      (strict; exactly 1.0 is neither a recovery nor a dip).
    * intermittent: after that recovery, a day after day +21 (day >= 22) with ANC < 1.0. A fall
      that began before day 22 and lasts past it counts (ANC is below 1.0 after day +21 following
      a recovery); a fall that ends by day 21 does not. Decided as soon as seen.
    * quick: recovered (or never below 1.0) and no second dip, decided only when follow-up
      reaches ``settings.window_end_day`` and at least one ANC value after day +21 is on file
      (otherwise nothing excludes a second dip).
    * otherwise undetermined, with the reason (no ANC, no recovery yet, follow-up too short).
    """
    citations = list(_CITATIONS)
    end_cal = calendar_end(end_day)
    if end_cal is None or end_cal < EARLY_WINDOW_START_DAY:
        return PhenotypeResult(
            phenotype="undetermined",
            reason="follow-up after infusion has not started (no day 0 or later)",
            citations=citations,
        )
    target = settings.window_end_day
    end = min(target, end_cal)
    prep = prepare(days, values, end_day)
    cal, mins = daily_minimum(prep.days, prep.values)
    series = day_series(
        cal,
        mins,
        start_day=EARLY_WINDOW_START_DAY,
        end_day=end,
        max_gap=interpolation_max_gap_days,
        round_decimals=ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L,
    )
    if series.n_observed == 0:
        return PhenotypeResult(
            phenotype="undetermined",
            reason=f"no ANC value in day {EARLY_WINDOW_START_DAY}-{end}",
            citations=citations,
        )
    v = series.values
    s0 = series.start_day

    # Aplastic: continuous ANC < 0.5 for >= 14 days.
    rs, re = runs(below(v, ANC_APLASTIC_10E9_PER_L, "<"))
    longest = 0
    if rs.size:
        lengths = re - rs + 1
        best = int(np.argmax(lengths))
        longest = int(lengths[best])
        if longest >= APLASTIC_MIN_DAYS:
            seg = v[rs[best] : re[best] + 1]
            j = int(np.nanargmin(seg))
            return PhenotypeResult(
                phenotype="aplastic",
                reason=(
                    f"ANC < {fmt_value(ANC_APLASTIC_10E9_PER_L)} continuously on day "
                    f"{s0 + int(rs[best])}-{s0 + int(re[best])} ({longest} days, >= "
                    f"{APLASTIC_MIN_DAYS}; nadir {fmt_value(float(seg[j]))} on day "
                    f"{s0 + int(rs[best]) + j})"
                ),
                longest_severe_run_days=longest,
                citations=citations,
            )

    dip = below(v, ANC_RECOVERY_10E9_PER_L, "<")
    up = v > ANC_RECOVERY_10E9_PER_L + COMPARISON_TOLERANCE
    has_value = ~np.isnan(v)
    after_21 = np.arange(v.size) + s0 > SECOND_DIP_AFTER_DAY
    follow_up_complete = end_cal >= target
    dip_idx = np.flatnonzero(dip)
    first_recovery: int | None = None
    recovery_text: str
    if dip_idx.size == 0:
        recovery_text = f"ANC never below {fmt_value(ANC_RECOVERY_10E9_PER_L)} in day {s0}-{end}"
        recovered_from = 0
    else:
        first_dip = int(dip_idx[0])
        rec_idx = np.flatnonzero(up[first_dip:])
        if rec_idx.size == 0:
            last = int(np.flatnonzero(has_value)[-1])
            return PhenotypeResult(
                phenotype="undetermined",
                reason=(
                    f"no recovery to ANC > {fmt_value(ANC_RECOVERY_10E9_PER_L)} after the fall "
                    f"below it on day {s0 + first_dip} (last value {fmt_value(float(v[last]))} "
                    f"on day {s0 + last}); not aplastic (longest run < "
                    f"{fmt_value(ANC_APLASTIC_10E9_PER_L)}: {longest} days)"
                ),
                longest_severe_run_days=longest,
                citations=citations,
            )
        rec = first_dip + int(rec_idx[0])
        first_recovery = s0 + rec
        recovery_text = (
            f"ANC recovered to {fmt_value(float(v[rec]))} (> "
            f"{fmt_value(ANC_RECOVERY_10E9_PER_L)}) on day {first_recovery}"
        )
        recovered_from = rec

    second = np.flatnonzero(dip[recovered_from:] & after_21[recovered_from:])
    if second.size:
        sd = recovered_from + int(second[0])
        return PhenotypeResult(
            phenotype="intermittent",
            reason=(
                f"{recovery_text}, then fell below {fmt_value(ANC_RECOVERY_10E9_PER_L)} after day "
                f"+{SECOND_DIP_AFTER_DAY} ({fmt_value(float(v[sd]))} on day {s0 + sd})"
            ),
            first_recovery_day=first_recovery,
            second_dip_day=s0 + sd,
            longest_severe_run_days=longest,
            citations=citations,
        )
    if not follow_up_complete:
        return PhenotypeResult(
            phenotype="undetermined",
            reason=(
                f"{recovery_text}, no second dip so far; 'quick' needs follow-up to day "
                f"{target} (follow-up to day {end_cal})"
            ),
            first_recovery_day=first_recovery,
            longest_severe_run_days=longest,
            citations=citations,
        )
    if not bool(np.any(has_value & after_21)):
        return PhenotypeResult(
            phenotype="undetermined",
            reason=(
                f"{recovery_text}, but no ANC value after day +{SECOND_DIP_AFTER_DAY} to exclude "
                f"a second dip"
            ),
            first_recovery_day=first_recovery,
            longest_severe_run_days=longest,
            citations=citations,
        )
    last = int(np.flatnonzero(has_value)[-1])
    return PhenotypeResult(
        phenotype="quick",
        reason=(
            f"{recovery_text}, no dip below {fmt_value(ANC_RECOVERY_10E9_PER_L)} after day "
            f"+{SECOND_DIP_AFTER_DAY} through day {end} (last value {fmt_value(float(v[last]))} "
            f"on day {s0 + last})"
        ),
        first_recovery_day=first_recovery,
        longest_severe_run_days=longest,
        citations=citations,
    )


def recovery_after_nadir(
    series: Series, end_day: int, threshold: float
) -> tuple[int | None, float | None]:
    """(first calendar day with a value > ``threshold`` after the nadir, nadir value).

    Values from day 0 through calendar day ``end_day`` (the end of follow-up), lowest value per
    calendar day as for the ICAHT grading (LIANG-ICAHT). The nadir is the lowest daily value (its
    first day); recovery is the first later day whose lowest value is above ``threshold``. No
    recovery day when the nadir is already above the threshold (nothing to recover from) or when
    no later day is above it by the end of follow-up.
    """
    if end_day < 0 or not len(series):
        return None, None
    post = series.between(0.0, float(end_day + 1))
    prepared = prepare(post.day, post.value, float(end_day + 1))
    days, minima = daily_minimum(prepared.days, prepared.values)
    if not days.size:
        return None, None
    nadir_at = int(np.argmin(minima))
    nadir = float(minima[nadir_at])
    if nadir > threshold:
        return None, nadir
    above = np.flatnonzero(minima[nadir_at + 1 :] > threshold)
    if not above.size:
        return None, nadir
    return int(days[nadir_at + 1 + int(above[0])]), nadir
