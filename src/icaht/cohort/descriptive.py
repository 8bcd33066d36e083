"""Descriptive cohort statistics on the per-patient results table of ``icaht cohort assess``.

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

Recovery and its cumulative incidence are in :mod:`icaht.cohort.recovery`, the TPO-RA table in
:mod:`icaht.cohort.tpo_ra_table`.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

from icaht.cohort.results_contract import (
    ICAHT_LABELS,
    ICAHT_MEASURES,
    LINEAGE_LABELS,
    LINEAGES,
    PHASE_LABELS,
    PHASES,
)
from icaht.cohort.strata import HEMATOTOX_STRATA
from icaht.cohort.tabulation import (
    finite_values,
    flag_count,
    format_fraction,
    format_median_range,
    frame,
    pct,
    summary,
)
from icaht.core.ctcae import NOT_ASSESSABLE_0_1

#: CTCAE v5.0 grade thresholds at which cytopenia incidence is reported (brief: any, >= 3, 4)
CYTOPENIA_THRESHOLDS: Final = (
    ("any grade (>= 1)", 1),
    ("grade >= 3", 3),
    ("grade 4", 4),
)


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
        "percent": pct(n, n_total),
        "median": None,
        "min": None,
        "max": None,
        "n_with_data": n_with,
        "display": format_fraction(n, n_total),
    }


def _numeric_row(df: pd.DataFrame, column: str, label: str) -> dict[str, object]:
    values = finite_values(df[column])
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
    n_gcsf, n_gcsf_data = flag_count(df["gcsf_used"])
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
            grades = finite_values(df[f"ctcae_{lineage}_{phase}"])
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
                        "percent": pct(n, n_with),
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
                    "percent": pct(n, n_with),
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
                "percent_of_all": pct(n, n_total),
                "n_determined": determined,
                "percent_of_determined": pct(n, determined) if is_determined else None,
                "display": format_fraction(n, n_total),
            }
        )
    n_missing = int(values.isna().sum())
    if n_missing:
        rows.append(
            {
                "phenotype": "not reported",
                "n": n_missing,
                "percent_of_all": pct(n_missing, n_total),
                "n_determined": determined,
                "percent_of_determined": None,
                "display": format_fraction(n_missing, n_total),
            }
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
                "percent_with_data": pct(n_with, n_total),
            }
        )
    return frame(rows)
