"""The stratifications of the cumulative incidence tables: CAR-HEMATOTOX risk, product and
maximum CRS grade, each patient's stratum label and the order strata are shown in.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import numpy as np
import pandas as pd

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


def stratum_order(by: Stratification, labels: pd.Series) -> list[str]:
    present = set(labels.tolist())
    if by == "car_hematotox_risk":
        fixed = [*HEMATOTOX_STRATA.values(), NOT_AVAILABLE]
        return [s for s in fixed if s in present]
    if by == "crs_grade":
        return [s for s in CRS_STRATA if s in present]
    counts = labels.value_counts()
    return sorted(present, key=lambda s: (s == "not recorded", -int(counts[s]), s))
