"""Profile settings of the graders: the pre-infusion baseline, EHA/EBMT ICAHT, T-ICAHT and the
neutrophil recovery phenotype."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from icaht.knowledge.profile.section import SECTION_CONFIG

#: Late (T-)ICAHT non-transient rule (docs/decisions.md, Grading): one setting for both scales.
LateRule = Literal["lowest_confirmed", "second_lowest"]


class BaselineSettings(BaseModel):
    """Pre-infusion baseline selection (docs/decisions.md, Timeline)."""

    model_config = SECTION_CONFIG
    lookback_days: int = Field(
        10,
        ge=1,
        le=60,
        description="Baseline = last value in [day -lookback, day 0) and before lymphodepletion "
        "starts when its date is known. Source: docs/decisions.md (Timeline).",
    )


class IcahtSettings(BaseModel):
    """Early and late neutrophil ICAHT (EHA/EBMT 2023) counting rules."""

    model_config = SECTION_CONFIG
    duration_method: Literal["longest_run", "cumulative"] = Field(
        "longest_run",
        description="longest_run = longest run under the threshold with short gaps joined "
        "(LIANG-ICAHT automated method); cumulative = total days under the threshold "
        "(T-ICAHT footnote). Source: docs/decisions.md (Grading).",
    )
    interpolation_max_gap_days: int = Field(
        7,
        ge=0,
        le=14,
        description="Missing days are linearly interpolated across gaps of at most this many "
        "days; longer gaps stay missing and are flagged. Source: LIANG-ICAHT.",
    )
    join_gap_days: int = Field(
        2,
        ge=0,
        le=6,
        description="Runs under the threshold separated by at most this many days above it are "
        "joined (stable recovery needs 3 consecutive days above). Source: LIANG-ICAHT.",
    )
    early_grade4_onset_max_day: int = Field(
        3,
        ge=0,
        le=7,
        description="Neutropenia (<=0.5) starting on day 0..this day and lasting to the last "
        "available value is grade 4. Source: LIANG-ICAHT.",
    )
    late_rule: LateRule = Field(
        "lowest_confirmed",
        description="lowest_confirmed = band of the lowest value provided another value in the "
        "window confirms it (ANC <= 1.5; platelets < 100) (LIANG-ICAHT); second_lowest = band of "
        "the second-lowest value. Late T-ICAHT uses the same rule, so both lineages are judged "
        "the same way. Source: docs/decisions.md (Grading).",
    )
    carry_edges_days: int = Field(
        7,
        ge=0,
        le=14,
        description="Early ICAHT: a first value at most this many days after day 0 is carried "
        "back to day 0, and the last value forward to the window end when that gap is at most "
        "this many days (LIANG-ICAHT: zoo::na.approx rule 2, maxgap 7); carried days are "
        "flagged; 0 = no carry. Source: docs/decisions.md (Grading, Early ICAHT).",
    )
    late_window_end_day: Literal[100, 180, 365] = Field(
        100,
        description="Late ICAHT window ends at the earliest of this day, relapse/progression, "
        "next therapy, death and last follow-up. Source: LIANG-ICAHT (day +100); 180/365 "
        "suggested by its author.",
    )


class TicahtSettings(BaseModel):
    """Platelet T-ICAHT counting rules."""

    model_config = SECTION_CONFIG
    duration_method: Literal["longest_run", "cumulative"] = Field(
        "cumulative",
        description="T-ICAHT counts cumulative days under the threshold (T-ICAHT Table 1 "
        "footnote). Source: docs/decisions.md (Grading).",
    )
    late_window_end_day: Literal[100, 180, 365] = Field(
        100, description="Late T-ICAHT window end. Source: T-ICAHT Table 1 (day 31-100)."
    )
    recovery_consecutive_days: int = Field(
        3,
        ge=1,
        le=7,
        description="Platelet recovery = first of this many consecutive days >= 20 x10^9/L. "
        "Source: T-ICAHT.",
    )
    recovery_transfusion_free_days: int = Field(
        7,
        ge=0,
        le=28,
        description="... with no platelet transfusion in this many days. Source: T-ICAHT.",
    )


class RecoveryPhenotypeSettings(BaseModel):
    """Neutrophil recovery phenotype (Rejeski, Blood 2021)."""

    model_config = SECTION_CONFIG
    window_end_day: int = Field(
        60,
        ge=30,
        le=365,
        description="The phenotype is read from ANC values up to this day; 'quick' needs "
        "follow-up to this day. Project default (the published definitions give no window).",
    )
