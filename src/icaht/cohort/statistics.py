"""Cohort statistics on the per-patient results table written by ``icaht cohort assess``.

Every function is pure: it takes the prepared results table (:func:`prepare_results`) and returns
a tidy :class:`pandas.DataFrame` that the HTML report renders and also writes as CSV.

Missing values are never zeros. Each statistic states the number of patients with data for it
(``n_with_data``); percentages use that number as denominator unless a column says otherwise.
Definitions and sources:

- Cytopenia phases: early = day < 30, prolonged = day 30-90, late = day > 90 (Jain, Blood 2023).
- Cytopenia grades: NCI CTCAE v5.0. "Cytopenia" is reported at three thresholds: any grade
  (>= 1), grade >= 3 and grade 4. Grade 1 needs the laboratory's lower limit of normal, so
  "any grade" counts only what could be graded; anemia grade 4 is clinical and is never
  claimed from laboratory values alone.
- ICAHT (EHA/EBMT, Rejeski, Blood 2023) and T-ICAHT (Rejeski, Blood 2025) grades as assessed.
- Recovery, as assessed: ANC > 0.5 x10^9/L after a nadir <= 0.5 (ICAHT); platelets >= 20 x10^9/L
  on 3 consecutive days with no platelet transfusion for 7 days (T-ICAHT). Patients whose count
  never fell to the threshold have nothing to recover from and are counted apart.
- Cumulative incidence of recovery: Aalen-Johansen estimator (lifelines ``AalenJohansenFitter``)
  with death and progression before recovery as competing events, censored at the end of
  follow-up (or the assessment day, whichever is earlier).
- TPO-RA table in the form of Beyar-Katz, Ann Hematol 2022.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from lifelines import AalenJohansenFitter

from icaht.core.ctcae import NOT_ASSESSABLE_0_1
from icaht.errors import InputError, Problem
from icaht.knowledge.bibliography import Reference
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L, PLT_RECOVERY_10E9_PER_L

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# --- the results-table contract (src/icaht/cohort/results.py owns the pyarrow schema) ---

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

# --- statistics settings ---

#: CTCAE v5.0 grade thresholds at which cytopenia incidence is reported (brief: any, >= 3, 4)
CYTOPENIA_THRESHOLDS: Final = (
    ("any grade (>= 1)", 1),
    ("grade >= 3", 3),
    ("grade 4", 4),
)
#: days after infusion at which cumulative incidence is tabulated (project default)
CUMULATIVE_INCIDENCE_DAYS: Final = (30, 60, 90, 180, 365)
#: Within one day, recoveries come first, then competing events (+0.25 day), then censoring
#: (+0.5 day: a patient censored on day d was still at risk that day, the usual convention). The
#: Aalen-Johansen point estimate does not depend on the order of events of different kinds on
#: one day (module tests), so this only spares lifelines its random tie jitter: the estimate is
#: deterministic and its variance loop runs over days, not patients.
COMPETING_OFFSET_DAYS: Final = 0.25
#: lifelines sets the estimate of its first event-table row to zero, which would drop events on
#: day 0 (recovery on the day of infusion); times are shifted by one day for the fit and back
TIME_SHIFT_DAYS: Final = 1.0
CENSOR_OFFSET_DAYS: Final = 0.5
#: lifelines jitters tied times of different event kinds (not expected after the offsets above
#: with whole days); a fixed seed keeps any such case reproducible
AJ_JITTER_SEED: Final = 20230
#: confidence level of the cumulative incidence intervals (project default)
CI_ALPHA: Final = 0.05

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
#: competing-risk event codes
CENSORED, RECOVERY, DEATH, PROGRESSION = 0, 1, 2, 3

Stratification = Literal["all", "car_hematotox_risk", "product", "crs_grade"]
STRATIFICATIONS: Final[tuple[Stratification, ...]] = (
    "all",
    "car_hematotox_risk",
    "product",
    "crs_grade",
)
STRATIFICATION_LABELS: Final[dict[Stratification, str]] = {
    "all": "All patients",
    "car_hematotox_risk": "CAR-HEMATOTOX risk",
    "product": "CAR-T product",
    "crs_grade": "Maximum CRS grade (ASTCT)",
}
#: CAR-HEMATOTOX bands (Rejeski, Blood 2021): low 0-1, high >= 2
HEMATOTOX_STRATA: Final = {"low": "low (0-1)", "high": "high (>= 2)"}
NOT_AVAILABLE: Final = "not available"
#: CRS strata: grade 3-4 CRS grouped as the risk factor Jain (Blood 2023) names
CRS_SEVERE_GRADE: Final = 3
CRS_STRATA: Final = ("none recorded", "grade 1", "grade 2", "grade >= 3")

#: method references (statistics, not clinical claims)
METHOD_REFERENCES: Final = (
    Reference(
        "AALEN-JOHANSEN",
        "Aalen OO, Johansen S",
        "An empirical transition matrix for non-homogeneous Markov chains based on censored "
        "observations",
        "Scand J Stat",
        1978,
        None,
        "Scand J Stat 1978;5(3):141-150",
    ),
    Reference(
        "LIFELINES",
        "Davidson-Pilon C",
        "lifelines: survival analysis in Python",
        "J Open Source Softw",
        2019,
        "10.21105/joss.01317",
        "J Open Source Softw 2019;4(40):1317 (AalenJohansenFitter; intervals by the delta "
        "method on log(-log), after Collett, Modelling Survival Data in Medical Research)",
    ),
)

#: Beyar-Katz 2022 published values (seed 002, abstract), shown beside the cohort's TPO-RA table
BK_PUBLISHED: Final = {
    "cohort": "93 eligible",
    "treated": "6/93 (6.5%)",
    "start_day": "43 (21-55)",
    "agent:eltrombopag": "4",
    "agent:romiplostim": "1",
    "agent:eltrombopag + romiplostim": "1",
    "gcsf": "6/6 (daily G-CSF before TPO-RA)",
    "transfusion_dependent": "6/6 before TPO-RA",
    "response": "6/6",
    "days_to_hemoglobin": "22 (8-124)",
    "days_to_platelets": "27 (6-38)",
    "days_to_neutrophils": "29 (7-61)",
    "complete_resolution": "5/6",
}
NOT_REPORTED: Final = "not reported"


# --- preparing and checking the table ---------------------------------------------------------


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


# --- small helpers ----------------------------------------------------------------------------


def _pct(n: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(100.0 * n / denominator, 1)


def _finite(series: pd.Series) -> FloatArray:
    arr = np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    finite: FloatArray = arr[~np.isnan(arr)]
    return finite


#: count-like columns are written as integers (nullable), never as 5.0
_COUNT_COLUMNS: Final = frozenset({"denominator", "day", "min_grade"})


def frame(rows: Sequence[dict[str, object]], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A statistics table from row dicts; counts as nullable integers (``Int64``)."""
    out = pd.DataFrame(list(rows), columns=None if columns is None else list(columns))
    for col in out.columns:
        name = str(col)
        if name in _COUNT_COLUMNS or name == "n" or name.startswith("n_"):
            values = pd.to_numeric(out[col], errors="coerce")
            whole = values.dropna()
            if len(whole) == values.notna().sum() and bool((whole == whole.round()).all()):
                out[col] = values.astype("Int64")
    return out


def summary(values: FloatArray) -> tuple[float | None, float | None, float | None]:
    """Median, minimum and maximum of the values present (``None`` when there are none)."""
    if values.size == 0:
        return None, None, None
    return float(np.median(values)), float(values.min()), float(values.max())


def format_number(value: float | None) -> str:
    """A count or day for display: whole numbers without decimals, others with one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


def format_median_range(median: float | None, low: float | None, high: float | None) -> str:
    """``43 (21-55)``, the form the papers report."""
    if median is None:
        return "-"
    return f"{format_number(median)} ({format_number(low)}-{format_number(high)})"


def format_fraction(n: int, denominator: int) -> str:
    """``6/93 (6.5%)``."""
    pct = _pct(n, denominator)
    return f"{n}/{denominator}" + ("" if pct is None else f" ({pct:.1f}%)")


def _flag_count(series: pd.Series) -> tuple[int, int]:
    """(number True, number with a value) of a flag column."""
    values = [v for v in series.tolist() if v is not None]
    return sum(1 for v in values if v), len(values)


def _split(text: str | None) -> list[str]:
    if text is None:
        return []
    return [part.strip() for part in text.split(";") if part.strip()]


# --- cohort characteristics -------------------------------------------------------------------


def _category_rows(
    df: pd.DataFrame, column: str, label: str, missing: str = "not recorded"
) -> list[dict[str, object]]:
    n_total = len(df)
    values = df[column]
    counts = values.dropna().value_counts()
    order = sorted(counts.index.tolist(), key=lambda k: (-int(counts[k]), str(k)))
    n_with = int(values.notna().sum())
    rows: list[dict[str, object]] = []
    for key in order:
        rows.append(_char_row(label, str(key), int(counts[key]), n_with, n_total))
    if n_with < n_total:
        rows.append(_char_row(label, missing, n_total - n_with, n_with, n_total))
    return rows


def _char_row(label: str, category: str, n: int, n_with: int, n_total: int) -> dict[str, object]:
    return {
        "characteristic": label,
        "category": category,
        "n": n,
        "percent": _pct(n, n_total),
        "median": None,
        "min": None,
        "max": None,
        "n_with_data": n_with,
        "display": format_fraction(n, n_total),
    }


def _numeric_row(df: pd.DataFrame, column: str, label: str) -> dict[str, object]:
    values = _finite(df[column])
    median, low, high = summary(values)
    return {
        "characteristic": label,
        "category": "median (range)",
        "n": None,
        "percent": None,
        "median": median,
        "min": low,
        "max": high,
        "n_with_data": int(values.size),
        "display": format_median_range(median, low, high),
    }


def _grade_labels(series: pd.Series, none_label: str) -> pd.Series:
    arr = series.to_numpy(dtype=np.float64, na_value=np.nan)
    labels = [none_label if math.isnan(v) else f"grade {int(v)}" for v in arr]
    return pd.Series(labels, dtype=object)


def cohort_characteristics(df: pd.DataFrame) -> pd.DataFrame:
    """The cohort table: n, age median and range, sex, diagnoses, products and more.

    Percentages of categories are of all patients (a "not recorded" row shows the rest);
    medians use the patients with a value (``n_with_data``).
    """
    n_total = len(df)
    rows: list[dict[str, object]] = [
        {
            "characteristic": "Patients",
            "category": "n",
            "n": n_total,
            "percent": None,
            "median": None,
            "min": None,
            "max": None,
            "n_with_data": n_total,
            "display": str(n_total),
        },
        _numeric_row(df, "age_years", "Age (years)"),
    ]
    for column, label in (
        ("sex", "Sex"),
        ("diagnosis", "Diagnosis"),
        ("product", "CAR-T product"),
        ("target", "CAR target"),
        ("costimulatory_domain", "Costimulatory domain"),
    ):
        rows += _category_rows(df, column, label)
    risk = df["car_hematotox_risk"].map(lambda v: None if v is None else HEMATOTOX_STRATA[v])
    rows += _category_rows(
        pd.DataFrame({"r": risk.astype(object)}), "r", "CAR-HEMATOTOX risk", "not computable"
    )
    rows.append(_numeric_row(df, "car_hematotox", "CAR-HEMATOTOX score"))
    for column, label in (
        ("crs_max_grade", "Maximum CRS grade"),
        ("icans_max_grade", "Maximum ICANS grade"),
    ):
        graded = pd.DataFrame({"g": _grade_labels(df[column], "none recorded")})
        counts = graded["g"].value_counts()
        for key in sorted(counts.index.tolist(), key=lambda k: (k != "none recorded", k)):
            rows.append(_char_row(label, str(key), int(counts[key]), n_total, n_total))
    rows.append(_numeric_row(df, "follow_up_end_day", "Follow-up (days after infusion)"))
    rows.append(_numeric_row(df, "as_of_day", "Assessment day (days after infusion)"))
    for column, label in (("death_day", "Died"), ("progression_day", "Progression or relapse")):
        n = int(df[column].notna().sum())
        rows.append(_char_row(label, "yes (day recorded)", n, n_total, n_total))
    n_gcsf, n_gcsf_data = _flag_count(df["gcsf_used"])
    rows.append(_char_row("G-CSF used", "yes", n_gcsf, n_gcsf_data, n_gcsf_data))
    rows += _category_rows(df, "profile", "Institution profile")
    return frame(rows)


# --- cytopenia incidence ----------------------------------------------------------------------


def cytopenia_incidence(df: pd.DataFrame) -> pd.DataFrame:
    """Incidence of early, prolonged and late cytopenia per lineage and CTCAE grade threshold.

    The denominator per lineage and phase is the number of patients with a CTCAE grade for that
    phase (a value was observed in it); patients without values are counted, not assumed well.
    A "grade 0-1" code (no lab LLN, grade 1 not assessable) counts below every threshold; for
    "any grade" those patients are listed in ``n_not_assessable``, so that incidence is a lower
    bound whenever they are present.
    """
    rows: list[dict[str, object]] = []
    for lineage in LINEAGES:
        for phase in PHASES:
            grades = _finite(df[f"ctcae_{lineage}_{phase}"])
            n_with = int(grades.size)
            unassessable = int((grades == NOT_ASSESSABLE_0_1).sum())
            for definition, threshold in CYTOPENIA_THRESHOLDS:
                n = int((grades >= threshold).sum())
                n_not_assessable = unassessable if threshold == 1 else 0
                display = format_fraction(n, n_with) if n_with else "no data"
                if n_not_assessable:
                    display += f"; {n_not_assessable} grade 0-1 (no LLN)"
                rows.append(
                    {
                        "lineage": LINEAGE_LABELS[lineage],
                        "phase": PHASE_LABELS[phase],
                        "definition": f"CTCAE v5.0 {definition}",
                        "min_grade": threshold,
                        "n": n,
                        "n_with_data": n_with,
                        "n_without_data": len(df) - n_with,
                        "n_not_assessable": n_not_assessable,
                        "percent": _pct(n, n_with),
                        "display": display,
                    }
                )
    return frame(rows)


# --- ICAHT and T-ICAHT grade distributions ------------------------------------------------------


def icaht_distributions(df: pd.DataFrame) -> pd.DataFrame:
    """Early and late ICAHT and T-ICAHT grade counts, with provisional and lower-bound flags.

    Percentages are of the patients with a grade; "not graded" counts the rest.
    """
    rows: list[dict[str, object]] = []
    for measure in ICAHT_MEASURES:
        grades = df[measure].to_numpy(dtype=np.float64, na_value=np.nan)
        provisional = np.array([v is True for v in df[f"{measure}_provisional"].tolist()])
        lower = np.array([v is True for v in df[f"{measure}_lower_bound"].tolist()])
        graded = ~np.isnan(grades)
        n_with = int(graded.sum())
        for grade in range(5):
            mask = graded & (grades == grade)
            n = int(mask.sum())
            rows.append(
                {
                    "measure": ICAHT_LABELS[measure],
                    "grade": str(grade),
                    "n": n,
                    "n_with_data": n_with,
                    "percent": _pct(n, n_with),
                    "n_provisional": int((mask & provisional).sum()),
                    "n_lower_bound": int((mask & lower).sum()),
                    "display": format_fraction(n, n_with) if n_with else "no data",
                }
            )
        rows.append(
            {
                "measure": ICAHT_LABELS[measure],
                "grade": "not graded",
                "n": len(df) - n_with,
                "n_with_data": n_with,
                "percent": None,
                "n_provisional": 0,
                "n_lower_bound": 0,
                "display": str(len(df) - n_with),
            }
        )
    return frame(rows)


# --- recovery phenotype -----------------------------------------------------------------------

PHENOTYPE_ORDER: Final = ("quick", "intermittent", "aplastic", "undetermined")


def phenotype_mix(df: pd.DataFrame) -> pd.DataFrame:
    """Neutrophil recovery phenotypes (Rejeski, Blood 2021), of all patients and of determined."""
    values = df["phenotype"]
    n_total = len(df)
    determined = int(values.isin(["quick", "intermittent", "aplastic"]).sum())
    rows: list[dict[str, object]] = []
    for phenotype in PHENOTYPE_ORDER:
        n = int((values == phenotype).sum())
        is_determined = phenotype != "undetermined"
        rows.append(
            {
                "phenotype": phenotype,
                "n": n,
                "percent_of_all": _pct(n, n_total),
                "n_determined": determined,
                "percent_of_determined": _pct(n, determined) if is_determined else None,
                "display": format_fraction(n, n_total),
            }
        )
    n_missing = int(values.isna().sum())
    if n_missing:
        rows.append(
            {
                "phenotype": "not reported",
                "n": n_missing,
                "percent_of_all": _pct(n_missing, n_total),
                "n_determined": determined,
                "percent_of_determined": None,
                "display": format_fraction(n_missing, n_total),
            }
        )
    return frame(rows)


# --- days to recovery -------------------------------------------------------------------------


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


# --- competing risks --------------------------------------------------------------------------


def strata(df: pd.DataFrame, by: Stratification) -> pd.Series:
    """The stratum label of each patient for one stratification (missing is its own stratum)."""
    if by == "all":
        return pd.Series(["all patients"] * len(df), dtype=object)
    if by == "car_hematotox_risk":
        return pd.Series(
            [NOT_AVAILABLE if v is None else HEMATOTOX_STRATA[v] for v in df[by].tolist()],
            dtype=object,
        )
    if by == "product":
        return pd.Series(
            ["not recorded" if v is None else v for v in df["product"].tolist()], dtype=object
        )
    labels: list[str] = []
    for v in df["crs_max_grade"].to_numpy(dtype=np.float64, na_value=np.nan):
        if math.isnan(v) or v == 0:
            labels.append(CRS_STRATA[0])
        elif v >= CRS_SEVERE_GRADE:
            labels.append(CRS_STRATA[3])
        else:
            labels.append(CRS_STRATA[int(v)])
    return pd.Series(labels, dtype=object)


def _stratum_order(by: Stratification, labels: pd.Series) -> list[str]:
    present = set(labels.tolist())
    if by == "car_hematotox_risk":
        fixed = [*HEMATOTOX_STRATA.values(), NOT_AVAILABLE]
        return [s for s in fixed if s in present]
    if by == "crs_grade":
        return [s for s in CRS_STRATA if s in present]
    counts = labels.value_counts()
    return sorted(present, key=lambda s: (s == "not recorded", -int(counts[s]), s))


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
class CumulativeIncidence:
    """Aalen-Johansen estimate of one stratum: step function of days after infusion."""

    times: FloatArray  # event-table times in days (with the within-day offsets)
    estimate: FloatArray
    lower: FloatArray
    upper: FloatArray
    last_day: float  # the longest follow-up in the stratum
    complete: bool  # every patient had an event: the estimate is final after last_day
    durations: FloatArray  # per patient (days, without the censoring offset)

    def at(self, day: float) -> tuple[float | None, float | None, float | None]:
        """Estimate and interval at the end of ``day``; ``None`` beyond the follow-up."""
        if day > self.last_day and not self.complete:
            return None, None, None
        t = day + CENSOR_OFFSET_DAYS
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        if i < 0:
            return 0.0, None, None

        def clean(v: float) -> float | None:
            return None if math.isnan(v) else float(v)

        return clean(self.estimate[i]), clean(self.lower[i]), clean(self.upper[i])

    def at_risk(self, day: float) -> int:
        """Patients still under observation without an event at the start of ``day``."""
        return int((self.durations >= day).sum())


def aalen_johansen(times: FloatArray, events: IntArray) -> CumulativeIncidence:
    """Cumulative incidence of event 1 with every other non-zero event competing.

    lifelines ``AalenJohansenFitter`` (Aalen and Johansen 1978) on whole-day times: within a
    day, competing events are placed ``COMPETING_OFFSET_DAYS`` and censoring
    ``CENSOR_OFFSET_DAYS`` after the events of interest (see the constants), so no tie jitter is
    needed; should lifelines jitter anyway, its seed is fixed and the global NumPy random state
    is restored afterwards. Intervals: lifelines' delta method on log(-log).
    """
    if times.size == 0:
        raise ValueError("no patients to estimate from")
    offsets = np.where(events == RECOVERY, 0.0, COMPETING_OFFSET_DAYS)
    durations = TIME_SHIFT_DAYS + times + np.where(events == CENSORED, CENSOR_OFFSET_DAYS, offsets)
    fitter = AalenJohansenFitter(seed=AJ_JITTER_SEED, alpha=CI_ALPHA, calculate_variance=True)
    state = np.random.get_state()
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            # one code for every competing kind: AJ treats them alike, and same-day deaths
            # and progressions would otherwise count as ties of different kinds
            kinds = np.where(events == RECOVERY, RECOVERY, np.where(events == CENSORED, 0, 2))
            fitter.fit(durations, kinds, event_of_interest=RECOVERY)
    finally:
        np.random.set_state(state)
    density = fitter.cumulative_density_
    index = density.index.to_numpy(dtype=np.float64) - TIME_SHIFT_DAYS
    estimate = density.iloc[:, 0].to_numpy(dtype=np.float64)
    bounds = fitter.confidence_interval_.to_numpy(dtype=np.float64)
    with np.errstate(all="ignore"):
        lower = np.fmin(bounds[:, 0], bounds[:, 1])
        upper = np.fmax(bounds[:, 0], bounds[:, 1])
    last_day = float(times.max())
    complete = bool((events[times == last_day] != CENSORED).all())
    return CumulativeIncidence(index, estimate, lower, upper, last_day, complete, times)


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
    for stratum in _stratum_order(by, labels):
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


# --- TPO-RA (Beyar-Katz form) -----------------------------------------------------------------

TPO_RA_LINEAGE_COLUMNS: Final = (
    ("hemoglobin", "tpo_ra_days_to_hemoglobin", "days_to_hemoglobin"),
    ("platelets", "tpo_ra_days_to_platelets", "days_to_platelets"),
    ("neutrophils", "tpo_ra_days_to_neutrophils", "days_to_neutrophils"),
)


def _tpo_row(
    item: str,
    *,
    category: str = "",
    n: int | None = None,
    denominator: int | None = None,
    values: FloatArray | None = None,
    published: str = NOT_REPORTED,
) -> dict[str, object]:
    median = low = high = None
    n_with: int | None = denominator
    display = ""
    if values is not None:
        median, low, high = summary(values)
        n_with = int(values.size)
        display = format_median_range(median, low, high)
    elif n is not None and denominator is not None:
        display = format_fraction(n, denominator)
    return {
        "item": item,
        "category": category,
        "n": n,
        "denominator": denominator,
        "percent": None if n is None or denominator is None else _pct(n, denominator),
        "median": median,
        "min": low,
        "max": high,
        "n_with_data": n_with,
        "display": display,
        "beyar_katz_2022": published,
    }


def tpo_ra_table(df: pd.DataFrame) -> pd.DataFrame:
    """TPO receptor agonist use and response in the form of Beyar-Katz (Ann Hematol 2022).

    Treated = a TPO-RA drug or start day on record. Response = transfusion independence plus
    ANC > 0.5 and/or platelets > 20 x10^9/L on 3 consecutive values; complete resolution =
    ANC > 0.5 and platelets > 20 x10^9/L and Hb > 8 g/dL (Beyar-Katz 2022, as assessed).
    Days to resolution per lineage are from the first dose. The published values of the
    Beyar-Katz cohort are shown beside for comparison.
    """
    n_total = len(df)
    drugs = df["tpo_ra_drugs"].tolist()
    treated_mask = (
        np.array([bool(_split(d)) for d in drugs], dtype=bool)
        | df["tpo_ra_start_day"].notna().to_numpy()
    )
    treated = df[treated_mask]
    n_treated = len(treated)
    rows = [
        _tpo_row("Patients in the cohort", n=n_total, published=BK_PUBLISHED["cohort"]),
        _tpo_row(
            "Treated with a TPO-RA",
            n=n_treated,
            denominator=n_total,
            published=BK_PUBLISHED["treated"],
        ),
    ]
    rows[0]["display"] = str(n_total)
    product_counts = treated["product"].map(lambda p: p or "not recorded").value_counts()
    for product in sorted(product_counts.index, key=lambda k: (-int(product_counts[k]), k)):
        rows.append(
            _tpo_row(
                "Product (treated)",
                category=str(product),
                n=int(product_counts[product]),
                denominator=n_treated,
            )
        )
    agent_counts: dict[str, int] = {}
    for d in treated["tpo_ra_drugs"].tolist():
        agent = " + ".join(sorted(set(_split(d)))) or "not recorded"
        agent_counts[agent] = agent_counts.get(agent, 0) + 1
    for agent in sorted(agent_counts, key=lambda k: (-agent_counts[k], k)):
        rows.append(
            _tpo_row(
                "Agent",
                category=agent,
                n=agent_counts[agent],
                denominator=n_treated,
                published=BK_PUBLISHED.get(f"agent:{agent}", NOT_REPORTED),
            )
        )
    rows.append(
        _tpo_row(
            "Days from infusion to first TPO-RA dose, median (range)",
            values=_finite(treated["tpo_ra_start_day"]),
            published=BK_PUBLISHED["start_day"],
        )
    )
    rows.append(
        _tpo_row("Days on TPO-RA, median (range)", values=_finite(treated["tpo_ra_days_on"]))
    )
    n_gcsf, n_gcsf_data = _flag_count(treated["gcsf_used"])
    rows.append(
        _tpo_row(
            "G-CSF used (any time up to the assessment day)",
            n=n_gcsf,
            denominator=n_gcsf_data,
            published=BK_PUBLISHED["gcsf"],
        )
    )
    n_resp, n_resp_data = _flag_count(treated["tpo_ra_response"])
    rows.append(
        _tpo_row(
            "Response (transfusion independence plus ANC > 0.5 and/or platelets > 20)",
            n=n_resp,
            denominator=n_resp_data,
            published=BK_PUBLISHED["response"],
        )
    )
    met = [set(_split(v)) for v in treated["tpo_ra_lineages_met"].tolist()]
    for lineage in ("neutrophils", "platelets", "hemoglobin"):
        rows.append(
            _tpo_row(
                "Lineage criterion met",
                category=lineage,
                n=sum(1 for m in met if lineage in m),
                denominator=n_treated,
            )
        )
    response_days = _finite(treated["tpo_ra_response_day"] - treated["tpo_ra_start_day"])
    rows.append(_tpo_row("Days from first dose to response, median (range)", values=response_days))
    n_ti, n_ti_data = _flag_count(treated["tpo_ra_transfusion_independent"])
    rows.append(_tpo_row("Transfusion independence", n=n_ti, denominator=n_ti_data))
    for lineage, column, key in TPO_RA_LINEAGE_COLUMNS:
        rows.append(
            _tpo_row(
                "Days from first dose to resolution, median (range)",
                category=lineage,
                values=_finite(treated[column]),
                published=BK_PUBLISHED[key],
            )
        )
    n_cr, n_cr_data = _flag_count(treated["tpo_ra_complete_resolution"])
    rows.append(
        _tpo_row(
            "Complete resolution (ANC > 0.5 and platelets > 20 x10^9/L and Hb > 8 g/dL)",
            n=n_cr,
            denominator=n_cr_data,
            published=BK_PUBLISHED["complete_resolution"],
        )
    )
    return frame(rows)


# --- data completeness ------------------------------------------------------------------------

COMPLETENESS_COLUMNS: Final = (
    "age_years",
    "product",
    "diagnosis",
    "follow_up_end_day",
    "car_hematotox",
    "early_icaht",
    "late_icaht",
    "early_ticaht",
    "late_ticaht",
    "phenotype",
    "anc_nadir",
    "platelet_nadir",
)


def data_completeness(df: pd.DataFrame) -> pd.DataFrame:
    """How many patients have a value for the key columns (missing is reported, not zero)."""
    n_total = len(df)
    rows: list[dict[str, object]] = []
    for column in COMPLETENESS_COLUMNS:
        n_with = int(df[column].notna().sum())
        rows.append(
            {
                "column": column,
                "n_with_data": n_with,
                "n_missing": n_total - n_with,
                "percent_with_data": _pct(n_with, n_total),
            }
        )
    return frame(rows)
