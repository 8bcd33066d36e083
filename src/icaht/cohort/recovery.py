"""Recovery of neutrophils and platelets in a cohort: who is at risk of the recovery event, days
to recovery among the recovered, and the cumulative incidence of recovery with death and
progression before recovery as competing events (:mod:`icaht.cohort.aalen_johansen`), censored
at the end of follow-up or the assessment day, whichever is earlier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from icaht.cohort.aalen_johansen import (
    CENSORED,
    DEATH,
    PROGRESSION,
    RECOVERY,
    CumulativeIncidence,
    FloatArray,
    aalen_johansen,
)
from icaht.cohort.results_contract import LINEAGE_LABELS
from icaht.cohort.strata import STRATIFICATION_LABELS, Stratification, strata, stratum_order
from icaht.cohort.tabulation import format_median_range, frame, summary
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L, PLT_RECOVERY_10E9_PER_L

#: days after infusion at which cumulative incidence is tabulated (project default)
CUMULATIVE_INCIDENCE_DAYS: Final = (30, 60, 90, 180, 365)

RecoveryLineage = Literal["neutrophils", "platelets"]
#: (recovery day column, nadir column, criterion) per lineage, from the results contract: ANC
#: recovery is the first day > 0.5 x10^9/L after a nadir <= 0.5 (ICAHT); platelet recovery the
#: first of 3 consecutive days >= 20 x10^9/L with no platelet transfusion for 7 days (T-ICAHT)
RECOVERY_COLUMNS: Final[dict[RecoveryLineage, tuple[str, str, str]]] = {
    "neutrophils": ("anc_recovery_day", "anc_nadir", "ANC > 0.5 x10^9/L after a nadir <= 0.5"),
    "platelets": (
        "platelet_recovery_day",
        "platelet_nadir",
        "platelets >= 20 x10^9/L on 3 consecutive days, no platelet transfusion for 7 days",
    ),
}
NEVER_BELOW: Final = "never below the threshold (nothing to recover from)"


def recovery_population(df: pd.DataFrame, lineage: RecoveryLineage) -> list[str | None]:
    """Per patient: ``None`` if the patient is at risk of the recovery event, else the reason.

    At risk = the count fell to the recovery threshold: ANC nadir <= 0.5 x10^9/L (ICAHT), or
    platelet nadir < 20 x10^9/L or any platelet transfusion (T-ICAHT), or a recovery day on
    record. Without values of the lineage, or never below the threshold, the patient has no
    recovery to time (the assessment reports no recovery day then) and is excluded, counted.
    """
    day_col, nadir_col, _ = RECOVERY_COLUMNS[lineage]
    day = df[day_col].to_numpy(dtype=np.float64, na_value=np.nan)
    nadir = df[nadir_col].to_numpy(dtype=np.float64, na_value=np.nan)
    if lineage == "neutrophils":
        below = nadir <= ANC_SEVERE_10E9_PER_L
    else:
        transfused = df["platelet_transfusions"].to_numpy(dtype=np.float64, na_value=np.nan) > 0
        below = (nadir < PLT_RECOVERY_10E9_PER_L) | transfused
    reasons: list[str | None] = []
    for i in range(len(df)):
        if not math.isnan(day[i]) or below[i]:
            reasons.append(None)
        elif math.isnan(nadir[i]):
            reasons.append(f"no {lineage} values")
        else:
            reasons.append(NEVER_BELOW)
    return reasons


def recovery_times(df: pd.DataFrame) -> pd.DataFrame:
    """Median (range) day after infusion of neutrophil and platelet recovery, among recovered.

    ``n_with_data``: patients with values of the lineage; ``n_at_risk``: of them, those whose
    count fell to the recovery threshold (the others had nothing to recover from);
    ``n_not_recovered``: at risk without a recovery day by the assessment day (not imputed: the
    cumulative incidence accounts for them and for competing death and progression).
    """
    rows: list[dict[str, object]] = []
    for lineage in ("neutrophils", "platelets"):
        day_col, _, criterion = RECOVERY_COLUMNS[lineage]
        reasons = recovery_population(df, lineage)
        at_risk = np.array([r is None for r in reasons], dtype=bool)
        never = sum(1 for r in reasons if r == NEVER_BELOW)
        days = df[day_col].to_numpy(dtype=np.float64, na_value=np.nan)[at_risk]
        recovered = days[~np.isnan(days)]
        median, low, high = summary(recovered)
        rows.append(
            {
                "lineage": LINEAGE_LABELS[lineage],
                "criterion": criterion,
                "n_with_data": int(at_risk.sum()) + never,
                "n_never_below": never,
                "n_at_risk": int(at_risk.sum()),
                "n_recovered": int(recovered.size),
                "n_not_recovered": int(at_risk.sum()) - int(recovered.size),
                "median_day": median,
                "min_day": low,
                "max_day": high,
                "display": format_median_range(median, low, high),
            }
        )
    return frame(rows)


def competing_risk_times(df: pd.DataFrame, lineage: RecoveryLineage) -> pd.DataFrame:
    """Per-patient time and event for the recovery analysis of one lineage.

    event: 1 = recovery (the recovery day), 2 = death or 3 = progression before recovery (a
    recovery on the same day as death or progression counts as recovery), 0 = censored at the
    end of follow-up (``follow_up_end_day``, else ``last_observation_day``), never later than
    the assessment day: events after ``as_of_day`` are not known to the assessment and ignored.
    ``excluded`` names why a patient cannot enter the analysis (no values of the lineage, never
    below the recovery threshold (:func:`recovery_population`), no follow-up end, a day before
    infusion); such patients are counted, not dropped silently.
    """
    day_col, _, _ = RECOVERY_COLUMNS[lineage]

    def col(name: str) -> FloatArray:
        return df[name].to_numpy(dtype=np.float64, na_value=np.nan)

    horizon = col("as_of_day")
    horizon = np.where(np.isnan(horizon), np.inf, horizon)

    def known(arr: FloatArray) -> FloatArray:
        return np.where(arr <= horizon, arr, np.nan)

    recovery = known(col(day_col))
    death = known(col("death_day"))
    progression = known(col("progression_day"))
    end = col("follow_up_end_day")
    end = np.where(np.isnan(end), col("last_observation_day"), end)
    end = np.minimum(end, horizon)  # a missing end stays missing
    end = np.where(np.isinf(end), np.nan, end)
    population = recovery_population(df, lineage)

    times: list[float] = []
    events: list[int] = []
    excluded: list[str | None] = []
    for i in range(len(df)):
        competing = np.nan
        kind = CENSORED
        if not math.isnan(progression[i]):
            competing, kind = progression[i], PROGRESSION
        if not math.isnan(death[i]) and (math.isnan(competing) or death[i] < competing):
            competing, kind = death[i], DEATH
        reason = population[i]
        if reason is not None:
            time, event = math.nan, CENSORED
        elif not math.isnan(recovery[i]) and (math.isnan(competing) or recovery[i] <= competing):
            time, event = float(recovery[i]), RECOVERY
        elif not math.isnan(competing):
            time, event = float(competing), kind
        elif not math.isnan(end[i]):
            time, event = float(end[i]), CENSORED
        else:
            time, event, reason = math.nan, CENSORED, "no follow-up end day"
        if reason is None and time < 0:
            time, event, reason = math.nan, CENSORED, "event or follow-up end before day 0"
        times.append(time)
        events.append(event)
        excluded.append(reason)
    return pd.DataFrame(
        {
            "patient_id": df["patient_id"].tolist(),
            "time": np.array(times, dtype=np.float64),
            "event": np.array(events, dtype=np.int64),
            "excluded": pd.Series(excluded, dtype=object),
        }
    )


@dataclass(frozen=True, slots=True)
class StratumCounts:
    stratum: str
    n: int
    n_recovered: int
    n_death: int
    n_progression: int
    n_censored: int
    n_excluded: int


def cumulative_incidence(
    df: pd.DataFrame,
    lineage: RecoveryLineage,
    by: Stratification,
    days: Sequence[int] = CUMULATIVE_INCIDENCE_DAYS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cumulative incidence of recovery per stratum: (table at ``days``, curves for plotting).

    The table has one row per stratum and day: the counts of the stratum (patients analysed,
    recovered, death and progression before recovery, censored, excluded with reasons),
    patients at risk at the start of the day, and the estimate with its 95% interval (null
    beyond the stratum's follow-up). The curve has one point per day with an event.
    """
    data = competing_risk_times(df, lineage)
    labels = strata(df, by)
    _, _, criterion = RECOVERY_COLUMNS[lineage]
    table: list[dict[str, object]] = []
    curves: list[dict[str, object]] = []
    for stratum in stratum_order(by, labels):
        members = data[(labels == stratum).to_numpy()]
        usable = members[members["excluded"].isna()]
        reasons = members["excluded"].dropna().value_counts()
        excluded_text = "; ".join(f"{k}: {int(v)}" for k, v in sorted(reasons.items()))
        ev = usable["event"].to_numpy(dtype=np.int64)
        counts = StratumCounts(
            stratum,
            len(usable),
            int((ev == RECOVERY).sum()),
            int((ev == DEATH).sum()),
            int((ev == PROGRESSION).sum()),
            int((ev == CENSORED).sum()),
            len(members) - len(usable),
        )
        fit = aalen_johansen(usable["time"].to_numpy(dtype=np.float64), ev) if len(usable) else None
        for day in days:
            estimate, low, high = (None, None, None) if fit is None else fit.at(day)
            table.append(
                {
                    "outcome": f"{LINEAGE_LABELS[lineage]} recovery ({criterion})",
                    "stratification": STRATIFICATION_LABELS[by],
                    "stratum": stratum,
                    "n": counts.n,
                    "n_recovered": counts.n_recovered,
                    "n_death_before_recovery": counts.n_death,
                    "n_progression_before_recovery": counts.n_progression,
                    "n_censored": counts.n_censored,
                    "n_excluded": counts.n_excluded,
                    "excluded_reasons": excluded_text,
                    "day": day,
                    "n_at_risk": 0 if fit is None else fit.at_risk(day),
                    "cumulative_incidence": estimate,
                    "ci_lower": low,
                    "ci_upper": high,
                    "display": "no patients" if fit is None else _format_ci(estimate, low, high),
                }
            )
        if fit is not None:
            curves += _curve_points(fit, lineage, by, stratum, counts.n)
    return frame(table), frame(curves, CURVE_COLUMNS)


CURVE_COLUMNS: Final = (
    "lineage",
    "stratification",
    "stratum",
    "n",
    "day",
    "cumulative_incidence",
    "ci_lower",
    "ci_upper",
)


def _format_ci(estimate: float | None, low: float | None, high: float | None) -> str:
    if estimate is None:
        return "beyond follow-up"
    text = f"{100 * estimate:.1f}%"
    if low is not None and high is not None:
        text += f" ({100 * low:.1f}-{100 * high:.1f})"
    return text


def _curve_points(
    fit: CumulativeIncidence, lineage: str, by: Stratification, stratum: str, n: int
) -> list[dict[str, object]]:
    """One point per whole day with an event (ties within a day collapse), from day 0."""
    days = sorted({0.0, *np.floor(fit.times[fit.times >= 0]).tolist()})
    end = fit.last_day
    if end not in days:
        days.append(end)
    points: list[dict[str, object]] = []
    for day in days:
        estimate, low, high = fit.at(day)
        points.append(
            {
                "lineage": lineage,
                "stratification": STRATIFICATION_LABELS[by],
                "stratum": stratum,
                "n": n,
                "day": day,
                "cumulative_incidence": estimate,
                "ci_lower": low,
                "ci_upper": high,
            }
        )
    return points
