"""The worst CTCAE v5.0 grade of a set of array codes (:func:`icaht.core.ctcae.grade_array`), e.g.
one lineage over a phase: what a presenter can claim without hiding a possible grade 1
(docs/decisions.md, Grading)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from icaht.core.ctcae import NOT_ASSESSABLE_0_1, UNGRADED


def worst_grade(codes: Iterable[int] | NDArray[np.integer]) -> int | None:
    """The worst grade a presenter can claim from a set of codes (e.g. one lineage over time).

    * the highest certain grade (0-4), ignoring "not graded" (-2) codes;
    * -1 ("grade 0-1") when no certain grade reaches 1 but some value is 0-1 without an LLN: a
      certain grade 0 does not hide a value that may be grade 1;
    * ``None`` when nothing is graded (empty, or only -2).
    """
    arr = np.fromiter(codes, dtype=np.int64) if not isinstance(codes, np.ndarray) else codes
    if arr.size == 0:
        return None
    return _worst(int(arr.max()), int(arr.min()), arr)


def worst_grades(codes: NDArray[np.integer], bounds: list[int]) -> list[int | None]:
    """:func:`worst_grade` of each slice ``codes[bounds[i]:bounds[i + 1]]`` (None when empty),
    with one vectorised pass for all slices; ``bounds`` ascend from 0 to ``len(codes)``."""
    if bounds[0] != 0 or bounds[-1] != codes.shape[0]:
        raise ValueError("bounds must run from 0 to len(codes)")
    pairs = list(pairwise(bounds))
    # Empty slices are left out, so each kept start's reduction runs to the next kept start.
    starts = [lo for lo, hi in pairs if hi > lo]
    if not starts:
        return [None] * len(pairs)
    tops = iter(np.maximum.reduceat(codes, starts).tolist())
    lows = iter(np.minimum.reduceat(codes, starts).tolist())
    return [_worst(next(tops), next(lows), codes[lo:hi]) if hi > lo else None for lo, hi in pairs]


def _worst(top: int, low: int, arr: NDArray[np.integer]) -> int | None:
    """The worst grade of the non-empty codes ``arr`` whose maximum and minimum are given."""
    if low < UNGRADED or top > 4:
        raise ValueError("CTCAE codes are -2..4")
    if top >= 1 or top == NOT_ASSESSABLE_0_1:
        return top
    if top == 0:
        has_0_1 = low <= NOT_ASSESSABLE_0_1 and bool(np.any(arr == NOT_ASSESSABLE_0_1))
        return NOT_ASSESSABLE_0_1 if has_0_1 else 0
    return None
