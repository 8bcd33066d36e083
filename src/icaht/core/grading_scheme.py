"""The grading schemes of the window kernel (:mod:`icaht.core.kernel`): everything that makes
ICAHT (EHA/EBMT consensus, Rejeski et al., Blood 2023) and T-ICAHT differ, built from
:mod:`icaht.knowledge.icaht_criteria` and the profile's grading settings (docs/decisions.md,
"Grading"); the algorithm is the same.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from icaht.core.daily import (
    Comparison,
    DurationMethod,
)
from icaht.knowledge.icaht_criteria import (
    ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L,
    ANC_LATE_CONFIRM_MAX_10E9_PER_L,
    ANC_PROFOUND_10E9_PER_L,
    ANC_SEVERE_10E9_PER_L,
    ICAHT_COMPARISON,
    ICAHT_EARLY_PROFOUND_DURATION_GRADES,
    ICAHT_EARLY_SEVERE_DURATION_GRADES,
    ICAHT_LATE_DEPTH_GRADES_10E9_PER_L,
    PLT_LATE_MILD_10E9_PER_L,
    PLT_PROFOUND_10E9_PER_L,
    PLT_SEVERE_10E9_PER_L,
    TICAHT_COMPARISON,
    TICAHT_EARLY_SEVERE_DURATION_GRADES,
    TICAHT_INTERPOLATION_MAX_GAP_DAYS,
    TICAHT_JOIN_GAP_DAYS,
    TICAHT_LATE_DEPTH_GRADES_10E9_PER_L,
    TICAHT_PROFOUND_DURATION_GRADES,
)
from icaht.knowledge.profile.grading import IcahtSettings, LateRule, TicahtSettings


@dataclass(frozen=True, slots=True)
class DurationRow:
    """A row of a duration table: days under ``threshold`` and the grade they reach."""

    threshold: float
    table: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class GradingScheme:
    """Everything that makes ICAHT and T-ICAHT differ; the algorithm is the same.

    ``early_rows`` are ordered shallow first (the first row is the one of the early no-recovery
    rule). ``late_row``, when set, lifts a late grade in the deepest band by its duration on the
    day grid (T-ICAHT: < 20 for >= 14 days is G4). ``analyte``/``analyte_plural`` name the
    analyte in messages.
    """

    scale: Literal["ICAHT", "T-ICAHT"]
    analyte: str
    analyte_plural: str
    comparison: Comparison
    early_rows: tuple[DurationRow, ...]
    max_gap: int
    round_decimals: int | None
    carry_edges: int
    join_gap: int
    method: DurationMethod
    grade4_onset_max_day: int | None
    late_bands: tuple[tuple[float, int], ...]
    late_confirm: float
    late_rule: LateRule
    late_end_day: int
    late_row: DurationRow | None
    single_note: str
    early_citations: tuple[str, ...]
    late_citations: tuple[str, ...]


@functools.lru_cache(maxsize=32)
def icaht_scheme(settings: IcahtSettings) -> GradingScheme:
    """Neutrophil ICAHT (ICAHT Table 1 via LIANG-ICAHT; docs/evidence.md 3.1) under the
    profile's counting rules."""
    early_citations: tuple[str, ...] = ("ICAHT", "LIANG-ICAHT")
    if settings.duration_method == "cumulative":
        early_citations += ("T-ICAHT",)
    return GradingScheme(
        scale="ICAHT",
        analyte="ANC",
        analyte_plural="ANC",
        comparison=ICAHT_COMPARISON,
        early_rows=(
            DurationRow(ANC_SEVERE_10E9_PER_L, ICAHT_EARLY_SEVERE_DURATION_GRADES),
            DurationRow(ANC_PROFOUND_10E9_PER_L, ICAHT_EARLY_PROFOUND_DURATION_GRADES),
        ),
        max_gap=settings.interpolation_max_gap_days,
        round_decimals=ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L,
        carry_edges=settings.carry_edges_days,
        join_gap=settings.join_gap_days,
        method=settings.duration_method,
        grade4_onset_max_day=settings.early_grade4_onset_max_day,
        late_bands=ICAHT_LATE_DEPTH_GRADES_10E9_PER_L,
        late_confirm=ANC_LATE_CONFIRM_MAX_10E9_PER_L,
        late_rule=settings.late_rule,
        late_end_day=settings.late_window_end_day,
        late_row=None,
        single_note="non-transient neutropenia needs a second value",
        early_citations=early_citations,
        late_citations=("ICAHT", "LIANG-ICAHT"),
    )


@functools.lru_cache(maxsize=32)
def ticaht_scheme(settings: TicahtSettings, late_rule: LateRule) -> GradingScheme:
    """Platelet T-ICAHT (T-ICAHT Table 1 and footnote; docs/evidence.md 3.4): strict "<", no
    rounding and no edge carry, non-stable recovery (< 3 days) joined; ``late_rule`` is the one
    of late ICAHT (docs/decisions.md, Grading)."""
    citations = ("T-ICAHT", "LIANG-ICAHT")
    return GradingScheme(
        scale="T-ICAHT",
        analyte="platelet",
        analyte_plural="platelets",
        comparison=TICAHT_COMPARISON,
        early_rows=(
            DurationRow(PLT_SEVERE_10E9_PER_L, TICAHT_EARLY_SEVERE_DURATION_GRADES),
            DurationRow(PLT_PROFOUND_10E9_PER_L, TICAHT_PROFOUND_DURATION_GRADES),
        ),
        max_gap=TICAHT_INTERPOLATION_MAX_GAP_DAYS,
        round_decimals=None,
        carry_edges=0,
        join_gap=TICAHT_JOIN_GAP_DAYS,
        method=settings.duration_method,
        grade4_onset_max_day=None,
        late_bands=TICAHT_LATE_DEPTH_GRADES_10E9_PER_L,
        late_confirm=PLT_LATE_MILD_10E9_PER_L,
        late_rule=late_rule,
        late_end_day=settings.late_window_end_day,
        late_row=DurationRow(PLT_PROFOUND_10E9_PER_L, TICAHT_PROFOUND_DURATION_GRADES),
        single_note="T-ICAHT needs >= 2 tests",
        early_citations=citations,
        late_citations=citations,
    )
