"""Profile settings of supportive care: transfusion and G-CSF dependence, transfusion triggers and
blood products, anti-infective prophylaxis."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from icaht.knowledge.profile.section import SECTION_CONFIG


class TransfusionSettings(BaseModel):
    """Transfusion dependence windows (project defaults, docs/decisions.md)."""

    model_config = SECTION_CONFIG
    platelet_dependence_window_days: int = Field(
        14,
        ge=1,
        le=56,
        description="Platelet-transfusion dependent = dependence_min_transfusions platelet "
        "transfusions in this many trailing days. Project default (docs/decisions.md).",
    )
    rbc_dependence_window_days: int = Field(
        28,
        ge=1,
        le=90,
        description="RBC-transfusion dependent = dependence_min_transfusions RBC transfusions "
        "in this many trailing days. Project default (docs/decisions.md).",
    )
    dependence_min_transfusions: int = Field(
        2,
        ge=1,
        le=10,
        description="Transfusions of one product within its window that make a patient "
        "dependent; fewer is 'transfused', not dependent. Project default "
        "(docs/decisions.md, revised 2026-12).",
    )


class GcsfSettings(BaseModel):
    """G-CSF use and dependence (docs/decisions.md, Management defaults)."""

    model_config = SECTION_CONFIG
    dependence_window_days: int = Field(
        14,
        ge=1,
        le=56,
        description="G-CSF dependent = G-CSF on severity.gcsf_dependent_days of this many "
        "trailing days with ANC <= 0.5 x10^9/L at least once in them. Project default (no "
        "source defines G-CSF dependence numerically).",
    )
    therapeutic_start_day: int = Field(
        7,
        ge=0,
        le=21,
        description="Consider G-CSF when ANC <= 0.5 x10^9/L on or after this day. Source: JAIN "
        "(not recovered by day 7-10; setting 7-10 per docs/decisions.md).",
    )
    defer_during_active_crs: bool = Field(
        True,
        description="Defer G-CSF while CRS or ICANS (grade >= defer_min_grade, or grade not "
        "recorded) is active unless there is a severe infection. Source: JAIN (ongoing CRS; "
        "concern that early G-CSF may worsen CRS and ICANS).",
    )
    defer_min_grade: int = Field(
        2,
        ge=1,
        le=4,
        description="Lowest ASTCT grade of an active CRS or ICANS that defers G-CSF; an ungraded "
        "episode defers too (conservative). Project default (docs/decisions.md, G-CSF; JAIN "
        "names no grade).",
    )
    biphasic_advice_days: int = Field(
        14,
        ge=1,
        le=42,
        description="The biphasic-drop advice (daily G-CSF until ANC > 1.5 x10^9/L) lasts while "
        "the drop is at most this many days old and no G-CSF has started since. Project default "
        "(docs/decisions.md, G-CSF).",
    )
    prophylactic_for_high_hematotox: bool = Field(
        False,
        description="Prophylactic G-CSF from prophylactic_start_day for CAR-HEMATOTOX-high "
        "patients. Source: ICAHT Table 3 (profile icaht-2023); not part of the seed approach.",
    )
    prophylactic_start_day: int = Field(
        2, ge=0, le=14, description="First day of prophylactic G-CSF. Source: ICAHT Table 3."
    )
    no_response_days: int = Field(
        7,
        ge=3,
        le=28,
        description="G-CSF counts as 'no response at all' after this many days on G-CSF without "
        "any ANC > 0.5 x10^9/L (marrow biopsy trigger, JAIN). Project default: the source "
        "gives no duration.",
    )


class TransfusionTriggerSettings(BaseModel):
    """Transfusion thresholds and blood-product requirements."""

    model_config = SECTION_CONFIG
    hb_trigger_g_dl: float = Field(
        7.0,
        ge=5.0,
        le=10.0,
        description="Consider RBC transfusion below this Hb (g/dL). Source: institutional; JAIN "
        "case 1 used Hb > 7 g/dL as the goal.",
    )
    platelet_trigger_10e9_l: float = Field(
        10.0,
        ge=5.0,
        le=50.0,
        description="Consider platelet transfusion below this count (x10^9/L). Source: "
        "institutional; JAIN case 1 used platelets > 10 x10^3/uL as the goal.",
    )
    irradiated_until_day: int = Field(
        90,
        ge=30,
        le=365,
        description="Irradiated blood products until at least this day after infusion (from 7 "
        "days before leukapheresis). Source: ICAHT Table 3 (fludarabine).",
    )


class ProphylaxisSettings(BaseModel):
    """Anti-infective prophylaxis (JAIN, modelled on BMT practice; ICAHT Table 3)."""

    model_config = SECTION_CONFIG
    antibacterial_start: Literal["day0", "neutropenia"] = Field(
        "neutropenia",
        description="Antibacterial/antifungal prophylaxis from day 0, or from the first ANC <= "
        "0.5 x10^9/L. Source: JAIN ('day 0 or at first neutropenia').",
    )
    antibacterial_high_risk_only: bool = Field(
        False,
        description="Antibacterial prophylaxis only for CAR-HEMATOTOX-high patients once ANC < "
        "0.5. Source: ICAHT Table 3 (profile icaht-2023); seed-2023 follows JAIN (all "
        "patients).",
    )
    recovery_consecutive_values: int = Field(
        3,
        ge=1,
        le=7,
        description="ANC recovery = ANC > 0.5 x10^9/L on this many consecutive values on "
        "different days. Source: docs/decisions.md (CIBMTR engraftment, LIANG-ICAHT).",
    )
    antiviral_months: int = Field(
        12,
        ge=6,
        le=24,
        description="Antiviral prophylaxis from infusion for this many months and until CD4 > "
        "0.2 x10^9/L. Source: JAIN 6-12 months; ICAHT 1 year.",
    )
    pjp_start_day: int = Field(
        30,
        ge=0,
        le=60,
        description="PJP prophylaxis from this day. Source: JAIN text day 30 (Fig. 1: ~28).",
    )
    cd4_stop_10e9_l: float = Field(
        0.2,
        ge=0.05,
        le=1.0,
        description="Antiviral and PJP prophylaxis continue until CD4 exceeds this count "
        "(x10^9/L; 200/uL). Source: JAIN Fig. 1.",
    )
    pjp_persistent_cytopenia_days: int = Field(
        14,
        ge=1,
        le=60,
        description="Persistent cytopenia that argues for pentamidine or atovaquone instead of "
        "TMP-SMX = a severe lineage (severity terms) held for at least this many days. Project "
        "default (docs/decisions.md, Prophylaxis; JAIN names 'persistent cytopenias' "
        "without a number).",
    )
