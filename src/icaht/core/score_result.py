"""Shared result types of the risk scores (CAR-HEMATOTOX, EASIX family, HScore).

A score result always says whether it could be computed. A missing input is never scored as
normal: it is named in ``missing``, its item has ``points=None``, and the total is ``None``.
Scores with a known range despite missing inputs (HScore, CAR-HEMATOTOX) report ``minimum`` and
``maximum`` so a clinician sees how far the missing inputs could move the total.
"""

from __future__ import annotations

import math
from typing import Self

from pydantic import BaseModel, model_validator

from icaht.core.frozen import FROZEN_CLOSED

MISSING_BAND = "missing: not scored"
"""``ScoreItem.band`` of an input that was not given."""


def present_input(name: str, value: float | None) -> float | None:
    """A score input as given, ``None`` when it is missing (``None`` or NaN: never scored as
    normal); ValueError for an impossible value (infinite or negative)."""
    if value is None or math.isnan(value):
        return None
    if math.isinf(value) or value < 0:
        raise ValueError(f"{name} must be a finite non-negative number: {value!r}")
    return float(value)


class ScoreItem(BaseModel):
    """One input of a score: its value, unit, the points it earned and the rule applied.

    ``band`` describes the rule, e.g. ``"75-175 x10^9/L → 1"``; for a missing input it is
    :data:`MISSING_BAND` and ``points`` is ``None``. Items of scores without points (EASIX) have
    ``points=None`` and a band naming their role in the formula.
    """

    model_config = FROZEN_CLOSED

    name: str
    value: float | None
    unit: str
    points: int | None
    band: str


class ScoreResult(BaseModel):
    """The result of one score for one patient at one time.

    * ``computable``: every input was available and the formula is defined; then ``total`` is set.
    * otherwise ``total`` is ``None``, ``missing`` names the missing inputs and/or ``reason``
      says why (e.g. platelets 0).
    * ``category``: the published risk group (e.g. ``"high"``), only when computable and only for
      scores that define one.
    * ``minimum`` / ``maximum``: the range the total can take given the known inputs (HScore and
      CAR-HEMATOTOX when inputs are missing; equal to ``total`` when computable).
    * ``log2_total``: log2 of the total (EASIX family; ``None`` when not defined).
    * ``probability``: a published probability read from a table (HScore), as a label such as
      ``"54%"`` or ``">99%"``.
    """

    model_config = FROZEN_CLOSED

    name: str
    version: str | None = None
    citations: list[str]
    computable: bool
    total: float | None
    category: str | None = None
    items: list[ScoreItem]
    missing: list[str] = []
    reason: str | None = None
    notes: list[str] = []
    minimum: float | None = None
    maximum: float | None = None
    log2_total: float | None = None
    probability: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.computable:
            if self.total is None or self.missing:
                raise ValueError("a computable score has a total and no missing inputs")
        else:
            if self.total is not None or self.category is not None:
                raise ValueError("a score that is not computable has no total and no category")
            if not self.missing and not self.reason:
                raise ValueError("a score that is not computable names missing inputs or a reason")
        return self
