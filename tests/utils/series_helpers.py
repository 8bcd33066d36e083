"""Shared builders and hypothesis strategies for the day-level grader tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


def daily_series(
    low: dict[tuple[int, int], float], *, base: float, first: int = 0, last: int = 40
) -> tuple[np.ndarray, np.ndarray]:
    """One value a day, first..last: ``base`` except the inclusive day ranges in ``low``."""
    days = np.arange(first, last + 1, dtype=np.float64)
    values = np.full(days.size, base)
    for (a, b), v in low.items():
        values[(days >= a) & (days <= b)] = v
    return days, values


#: arbitrary (unsorted, clustered, out-of-range) inputs for "never raises" properties
ANY_VALUES = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False), max_size=80
)
ANY_DAYS = st.lists(
    st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False), max_size=80
)
