"""Building blocks of the cohort statistics tables: row dicts to a tidy frame (counts as
nullable integers), medians and ranges, and the display forms the papers use (``43 (21-55)``,
``6/93 (6.5%)``). Missing values are never zeros: helpers skip them and report denominators.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]


def pct(n: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(100.0 * n / denominator, 1)


def finite_values(series: pd.Series) -> FloatArray:
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
    percent = pct(n, denominator)
    return f"{n}/{denominator}" + ("" if percent is None else f" ({percent:.1f}%)")


def flag_count(series: pd.Series) -> tuple[int, int]:
    """(number True, number with a value) of a flag column."""
    values = [v for v in series.tolist() if v is not None]
    return sum(1 for v in values if v), len(values)


def split_list(text: str | None) -> list[str]:
    if text is None:
        return []
    return [part.strip() for part in text.split(";") if part.strip()]
