"""Profile settings of thrombopoietin-receptor agonists: candidates, titration and response."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from icaht.knowledge.profile.section import SECTION_CONFIG


class TpoRaSettings(BaseModel):
    """Thrombopoietin-receptor agonists (docs/decisions.md, TPO-RA candidate)."""

    model_config = SECTION_CONFIG
    earliest_day: int = Field(
        30,
        ge=14,
        le=120,
        description="TPO-RA candidacy only after this day. Source: docs/decisions.md (JAIN "
        "'well beyond day 30'; BK started from day 21, median 43).",
    )
    low_platelet_consecutive_values: int = Field(
        3,
        ge=2,
        le=7,
        description="Without platelet-transfusion dependence, platelets < 20 x10^9/L on this "
        "many consecutive values also qualify. Source: docs/decisions.md.",
    )
    indication_persistence_days: int = Field(
        7,
        ge=0,
        le=28,
        description="The platelet indication (transfusion dependence or low platelets) must have "
        "held for at least this many days. Project default (docs/decisions.md).",
    )
    no_response_weeks: int = Field(
        6,
        ge=4,
        le=16,
        description="Consider stopping a TPO-RA after this many weeks with neither a response nor "
        "a partial response on the treated lineage. Source: JAIN (4-6 weeks).",
    )
    partial_response_window_days: int = Field(
        14,
        ge=7,
        le=28,
        description="Partial response: platelet transfusions in the last this-many days at most "
        "half of those in the same span up to the first dose, or the platelet median over the "
        "last span at least double the median over the span up to the first dose. Project "
        "default (docs/decisions.md).",
    )
    taper_span_days: int = Field(
        14,
        ge=7,
        le=60,
        description="Taper a TPO-RA once platelets stay >= tpo_ra.taper_platelets_10e9_l on values "
        "spanning at least this many days without platelet transfusion. Project default "
        "(docs/decisions.md; BAUR kept > 50 x10^9/L for 2 months).",
    )
    taper_platelets_10e9_l: float = Field(
        50.0,
        ge=20.0,
        le=150.0,
        description="Platelet count the taper waits for (docs/decisions.md). Source: BAUR "
        "(> 50 x10^9/L maintained); TPO-RA labels (target >= 50 x10^9/L).",
    )
    eltrombopag_start_mg: float = Field(
        75.0, ge=12.5, le=150.0, description="Eltrombopag starting dose. Source: JAIN (75 mg)."
    )
    eltrombopag_reduced_start_mg: float = Field(
        25.0,
        ge=12.5,
        le=75.0,
        description="Starting dose for East/Southeast Asian ancestry or hepatic impairment. "
        "Source: eltrombopag label (ITP: 25 mg).",
    )
    eltrombopag_reduced_both_start_mg: float = Field(
        12.5,
        ge=12.5,
        le=50.0,
        description="Starting dose for East/Southeast Asian ancestry and hepatic impairment "
        "together. Source: eltrombopag label (ITP: 12.5 mg).",
    )
    eltrombopag_child_young_start_mg: float = Field(
        25.0,
        ge=12.5,
        le=50.0,
        description="Eltrombopag starting dose for children aged 1-5 years. Source: eltrombopag "
        "label (paediatric ITP, 1-5 years: 25 mg).",
    )
    eltrombopag_child_older_start_mg: float = Field(
        50.0,
        ge=12.5,
        le=75.0,
        description="Eltrombopag starting dose for children aged 6 years up to the child age "
        "limit. Source: eltrombopag label (paediatric ITP, 6-17 years: 50 mg).",
    )
    eltrombopag_max_mg_day: float = Field(
        150.0,
        ge=50.0,
        le=150.0,
        description="Eltrombopag titration cap. Source: JAIN and BK (150 mg; ITP label 75 mg).",
    )
    eltrombopag_step_mg: float = Field(
        25.0, ge=12.5, le=50.0, description="Eltrombopag dose step. Source: eltrombopag label."
    )
    eltrombopag_step_after_days: int = Field(
        14,
        ge=7,
        le=28,
        description="Step eltrombopag up after this many days at a dose under the target. "
        "Source: eltrombopag label (>= 2 weeks).",
    )
    romiplostim_start_ug_kg: float = Field(
        1.0, ge=1.0, le=10.0, description="Romiplostim starting dose. Source: romiplostim label."
    )
    romiplostim_step_ug_kg: float = Field(
        1.0, ge=0.5, le=2.0, description="Weekly romiplostim step. Source: romiplostim label."
    )
    romiplostim_max_ug_kg: float = Field(
        10.0, ge=1.0, le=10.0, description="Romiplostim maximum. Source: romiplostim label; JAIN."
    )
    platelet_target_10e9_l: float = Field(
        50.0,
        ge=20.0,
        le=150.0,
        description="Titrate up while platelets are below this count. Source: TPO-RA labels "
        "(target >= 50 x10^9/L); BAUR titrated until > 50.",
    )
    romiplostim_label: Literal["us", "eu"] = Field(
        "us",
        description="Reduce/hold thresholds: us = reduce > 200 for 2 weeks, hold > 400, resume "
        "< 200; eu = reduce > 150, hold > 250, resume < 150. Source: romiplostim US label / EU "
        "SmPC.",
    )
    liver_test_interval_days: int = Field(
        14,
        ge=7,
        le=31,
        description="Liver tests (ALT, AST, bilirubin) on eltrombopag at least this often during "
        "titration. Source: eltrombopag label (every 2 weeks).",
    )
