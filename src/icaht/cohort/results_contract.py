"""The contract of the per-patient results table that ``icaht cohort assess`` writes and the
cohort statistics read: its columns, their types and ranges, and :func:`prepare_results`, which
checks a table against them (:mod:`icaht.cohort.results` owns the pyarrow schema).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

from icaht.core.ctcae import NOT_ASSESSABLE_0_1
from icaht.errors import InputError, Problem

LINEAGES: Final = ("neutrophils", "platelets", "hemoglobin", "white_cells", "lymphocytes")
LINEAGE_LABELS: Final = {
    "neutrophils": "Neutrophils (ANC)",
    "platelets": "Platelets",
    "hemoglobin": "Hemoglobin (anemia)",
    "white_cells": "White cells",
    "lymphocytes": "Lymphocytes",
}
#: Jain phases (Jain, Blood 2023): early < day 30, prolonged day 30-90, late > day 90
PHASES: Final = ("early", "prolonged", "late")
PHASE_LABELS: Final = {
    "early": "early (day < 30)",
    "prolonged": "prolonged (day 30-90)",
    "late": "late (day > 90)",
}

STRING_COLUMNS: Final = (
    "patient_id",
    "sex",
    "diagnosis",
    "product",
    "target",
    "costimulatory_domain",
    "follow_up_end_reason",
    "car_hematotox_risk",
    "phenotype",
    "tpo_ra_drugs",
    "tpo_ra_lineages_met",
    "profile",
)
FLOAT_COLUMNS: Final = ("age_years", "anc_nadir", "platelet_nadir")
DAY_COLUMNS: Final = (
    "as_of_day",
    "follow_up_end_day",
    "death_day",
    "progression_day",
    "last_observation_day",
    "anc_recovery_day",
    "platelet_recovery_day",
    "tpo_ra_start_day",
    "tpo_ra_response_day",
    "tpo_ra_complete_resolution_day",
)
DURATION_COLUMNS: Final = (
    "tpo_ra_days_on",
    "tpo_ra_days_to_platelets",
    "tpo_ra_days_to_neutrophils",
    "tpo_ra_days_to_hemoglobin",
    "rbc_transfusions",
    "platelet_transfusions",
)
ICAHT_MEASURES: Final = ("early_icaht", "late_icaht", "early_ticaht", "late_ticaht")
ICAHT_LABELS: Final = {
    "early_icaht": "Early ICAHT (neutrophils, day 0-30)",
    "late_icaht": "Late ICAHT (neutrophils, after day 30)",
    "early_ticaht": "Early T-ICAHT (platelets, day 0-30)",
    "late_ticaht": "Late T-ICAHT (platelets, after day 30)",
}
CTCAE_COLUMNS: Final = tuple(f"ctcae_{lin}_{phase}" for lin in LINEAGES for phase in PHASES)
#: allowed integer range per graded column (inclusive)
GRADE_RANGES: Final[dict[str, tuple[int, int]]] = {
    "crs_max_grade": (0, 5),
    "icans_max_grade": (0, 5),
    "car_hematotox": (0, 7),
    **dict.fromkeys(ICAHT_MEASURES, (0, 4)),
    # -1 = "grade 0-1": no lab LLN, so grade 1 cannot be assessed (icaht.core.ctcae)
    **dict.fromkeys(CTCAE_COLUMNS, (NOT_ASSESSABLE_0_1, 5)),
}
BOOL_COLUMNS: Final = (
    *(f"{m}_{flag}" for m in ICAHT_MEASURES for flag in ("provisional", "lower_bound")),
    "gcsf_used",
    "tpo_ra_response",
    "tpo_ra_transfusion_independent",
    "tpo_ra_complete_resolution",
)
CATEGORY_VALUES: Final[dict[str, frozenset[str]]] = {
    "car_hematotox_risk": frozenset({"low", "high"}),
    "phenotype": frozenset({"quick", "intermittent", "aplastic", "undetermined"}),
}
REQUIRED_COLUMNS: Final = (
    *STRING_COLUMNS,
    *FLOAT_COLUMNS,
    *DAY_COLUMNS,
    *DURATION_COLUMNS,
    *GRADE_RANGES,
    *BOOL_COLUMNS,
)
#: at most this many value problems are listed one by one (the rest are counted)
MAX_LISTED_PROBLEMS: Final = 50


def _problem(source: str, message: str, row: int | None = None, **kw: object) -> Problem:
    field = kw.get("field")
    return Problem(
        source=source,
        message=message,
        row=row,
        field=None if field is None else str(field),
        value=kw.get("value"),
    )


def _as_bool(value: object) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and int(value) in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    if text == "":
        return None
    raise ValueError(text)


def prepare_results(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check the results table against the contract and return it with uniform types.

    Strings become ``object`` columns with ``None`` for missing (an empty string is missing),
    numbers ``float64`` with NaN for missing, flags ``object`` with ``True``/``False``/``None``.
    Every problem is collected; :class:`InputError` names the source, row (1-based data row),
    field and value, and nothing is returned half-checked.
    """
    problems: list[Problem] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            [
                _problem(source, "required column missing from the results table", field=c)
                for c in missing
            ]
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    value_problems: list[Problem] = []

    def bad(row: int, field: str, value: object, message: str) -> None:
        value_problems.append(_problem(source, message, row + 1, field=field, value=value))

    for col in STRING_COLUMNS:
        values = raw[col].tolist()
        cleaned: list[str | None] = []
        for v in values:
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                cleaned.append(None)
            else:
                text = str(v)
                cleaned.append(text if text.strip() else None)
        out[col] = pd.Series(cleaned, dtype=object)
    for col, allowed in CATEGORY_VALUES.items():
        for i, v in enumerate(out[col].tolist()):
            if v is not None and v not in allowed:
                bad(i, col, v, f"expected one of {sorted(allowed)}")
    for i, pid in enumerate(out["patient_id"].tolist()):
        if pid is None:
            bad(i, "patient_id", None, "patient_id is missing")
    dupes = out["patient_id"].dropna()
    for pid in sorted(set(dupes[dupes.duplicated()].tolist())):
        first = int(np.flatnonzero(out["patient_id"].to_numpy() == pid)[1])
        bad(first, "patient_id", pid, "patient_id occurs more than once")

    numeric = (*FLOAT_COLUMNS, *DAY_COLUMNS, *DURATION_COLUMNS, *GRADE_RANGES)
    for col in numeric:
        converted = pd.to_numeric(raw[col], errors="coerce").astype("float64")
        originals = raw[col].tolist()
        for i in np.flatnonzero(converted.isna().to_numpy() & raw[col].notna().to_numpy()).tolist():
            text = str(originals[i])
            if text.strip():
                bad(i, col, originals[i], "not a number")
        arr = converted.to_numpy()
        if col not in FLOAT_COLUMNS:
            for i in np.flatnonzero(~np.isnan(arr) & (arr != np.round(arr))).tolist():
                bad(i, col, originals[i], "expected a whole number")
        if col in GRADE_RANGES:
            lo, hi = GRADE_RANGES[col]
            for i in np.flatnonzero(~np.isnan(arr) & ((arr < lo) | (arr > hi))).tolist():
                bad(i, col, originals[i], f"grade outside {lo}-{hi}")
        if col in DURATION_COLUMNS or col == "age_years":
            for i in np.flatnonzero(~np.isnan(arr) & (arr < 0)).tolist():
                bad(i, col, originals[i], "must not be negative")
        out[col] = converted
    for col in BOOL_COLUMNS:
        flags: list[bool | None] = []
        for i, v in enumerate(raw[col].tolist()):
            try:
                flags.append(_as_bool(v))
            except ValueError:
                bad(i, col, v, "expected true or false")
                flags.append(None)
        out[col] = pd.Series(flags, dtype=object)

    problems.extend(value_problems[:MAX_LISTED_PROBLEMS])
    if len(value_problems) > MAX_LISTED_PROBLEMS:
        more = len(value_problems) - MAX_LISTED_PROBLEMS
        problems.append(_problem(source, f"... and {more} more problem(s) of the same kinds"))
    if problems:
        raise InputError(problems)
    return out
