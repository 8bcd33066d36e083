"""Wide views of the cohort report's long tables, as the HTML shows them (one row per lineage
and phase, measure or stratum; a column per grade threshold, grade or day). The CSV tables keep
the long, tidy form.
"""

from __future__ import annotations

import pandas as pd

from icaht.cohort import (
    descriptive,
    recovery,
)


def frame_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The rows of a frame as dicts with string keys."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _wide(
    frame: pd.DataFrame, keys: tuple[str, ...], keep: tuple[str, ...], spread: str, value: str
) -> pd.DataFrame:
    """One row per ``keys``; ``keep`` columns from its first row; ``spread`` values as columns."""
    rows: dict[tuple[object, ...], dict[str, object]] = {}
    for record in frame_records(frame):
        key = tuple(record[k] for k in keys)
        row = rows.setdefault(key, {k: record[k] for k in (*keys, *keep)})
        row[f"{spread}:{record[spread]}"] = record[value]
    return pd.DataFrame(list(rows.values()))


def cytopenia_shown(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    shown = _wide(frame, ("lineage", "phase"), ("n_with_data",), "min_grade", "display")
    columns = {"phase": "Phase", "n_with_data": "n with data"}
    for definition, grade in descriptive.CYTOPENIA_THRESHOLDS:
        columns[f"min_grade:{grade}"] = f"CTCAE {definition}"
    return shown, columns


def icaht_shown(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    graded = frame[frame["grade"] != "not graded"]
    shown = _wide(graded, ("measure",), ("n_with_data",), "grade", "display")
    records = frame_records(frame)
    for flag in ("n_provisional", "n_lower_bound"):
        shown[flag] = [
            sum(int(str(r[flag])) for r in records if r["measure"] == m) for m in shown["measure"]
        ]
    shown["not_graded"] = pd.Series(
        [
            next(r["n"] for r in records if r["measure"] == m and r["grade"] == "not graded")
            for m in shown["measure"]
        ],
        dtype=object,
    )
    columns = {"measure": "Measure", "n_with_data": "graded"}
    columns |= {f"grade:{g}": f"grade {g}" for g in range(5)}
    columns |= {
        "not_graded": "not graded",
        "n_provisional": "provisional",
        "n_lower_bound": "lower bound",
    }
    return shown, columns


def cumulative_incidence_shown(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    counts = (
        "n",
        "n_recovered",
        "n_death_before_recovery",
        "n_progression_before_recovery",
        "n_censored",
        "n_excluded",
    )
    shown = _wide(frame, ("outcome", "stratification", "stratum"), counts, "day", "display")
    columns = {
        "stratification": "Stratified by",
        "stratum": "Stratum",
        "n": "n",
        "n_recovered": "recovered",
        "n_death_before_recovery": "death first",
        "n_progression_before_recovery": "progression first",
        "n_censored": "censored",
        "n_excluded": "excluded",
    }
    columns |= {f"day:{d}": f"day {d}" for d in recovery.CUMULATIVE_INCIDENCE_DAYS}
    return shown, columns
