"""Institution profiles: every setting that centres legitimately vary, with its source.

A profile is TOML. Shipped profiles live in ``icaht/knowledge/profiles``; ``seed-2023`` is the
default (the approach of Jain et al., Blood 2023, seed 001) and ``icaht-2023`` follows the EHA/EBMT
consensus where it differs. Settings whose value no source fixes say "project default" in their
description (``docs/decisions.md``). Unknown settings and out-of-range values are
rejected with the setting's dotted name.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from icaht.errors import ProfileError

_FROZEN = ConfigDict(extra="forbid", frozen=True)

DEFAULT_PROFILE = "seed-2023"

#: Late (T-)ICAHT non-transient rule (docs/decisions.md, Grading): one setting for both scales.
LateRule = Literal["lowest_confirmed", "second_lowest"]


class BaselineSettings(BaseModel):
    """Pre-infusion baseline selection (docs/decisions.md, Timeline)."""

    model_config = _FROZEN
    lookback_days: int = Field(
        10,
        ge=1,
        le=60,
        description="Baseline = last value in [day -lookback, day 0) and before lymphodepletion "
        "starts when its date is known. Source: docs/decisions.md (Timeline).",
    )


class IcahtSettings(BaseModel):
    """Early and late neutrophil ICAHT (EHA/EBMT 2023) counting rules."""

    model_config = _FROZEN
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

    model_config = _FROZEN
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

    model_config = _FROZEN
    window_end_day: int = Field(
        60,
        ge=30,
        le=365,
        description="The phenotype is read from ANC values up to this day; 'quick' needs "
        "follow-up to this day. Project default (the published definitions give no window).",
    )


class TransfusionSettings(BaseModel):
    """Transfusion dependence windows (project defaults, docs/decisions.md)."""

    model_config = _FROZEN
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

    model_config = _FROZEN
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

    model_config = _FROZEN
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

    model_config = _FROZEN
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


class TpoRaSettings(BaseModel):
    """Thrombopoietin-receptor agonists (docs/decisions.md, TPO-RA candidate)."""

    model_config = _FROZEN
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


class IecHsSettings(BaseModel):
    """IEC-HS suspicion (JAIN pattern; Hines 2023)."""

    model_config = _FROZEN
    ferritin_ng_ml: float = Field(
        10_000.0,
        ge=500.0,
        le=100_000.0,
        description="Ferritin at or above this level supports IEC-HS suspicion. Source: JAIN "
        "('often > 10,000 ng/mL'); a myeloma consortium found 7,470 the best cut-off.",
    )
    rise_fold: float = Field(
        2.0,
        ge=1.2,
        le=10.0,
        description="A 'rapid rise' of ferritin = the latest value at least this many times the "
        "lowest value of the rise window. Project default (JAIN gives no number).",
    )
    rise_window_days: int = Field(
        7,
        ge=2,
        le=21,
        description="Window over which a rapid ferritin rise is judged. Project default.",
    )
    lookback_days: int = Field(
        7,
        ge=2,
        le=21,
        description="New fever and new cytopenia count when within this many trailing days. "
        "Project default.",
    )
    rise_min_fraction: float = Field(
        0.5,
        ge=0.1,
        le=1.0,
        description="A rapid ferritin rise counts only when the latest value reaches at least "
        "this fraction of iechs.ferritin_ng_ml (so 400 -> 900 ng/mL never does). Project "
        "default (docs/decisions.md, IEC-HS).",
    )


class CytopeniaSettings(BaseModel):
    """What counts as clinically significant cytopenia for workup, boost and HCT rules."""

    model_config = _FROZEN
    anc_10e9_l: float = Field(
        1.0,
        ge=0.1,
        le=1.5,
        description="Neutropenia at or below this ANC counts. Project default, set to the late "
        "ICAHT grade-2 band (ANC <= 1.0).",
    )
    platelets_10e9_l: float = Field(
        50.0,
        ge=10.0,
        le=100.0,
        description="Thrombocytopenia below this count counts. Project default, set to the late "
        "T-ICAHT grade-2 band (< 50).",
    )
    hb_g_dl: float = Field(
        8.0,
        ge=6.0,
        le=10.0,
        description="Anemia below this Hb counts. Project default, set to CTCAE v5 grade 3 "
        "(< 8.0 g/dL).",
    )


class PatientGroupSettings(BaseModel):
    """Patient groups the seed treats differently."""

    model_config = _FROZEN
    child_max_age_years: float = Field(
        18.0,
        ge=12.0,
        le=26.0,
        description="Patients younger than this are children for the pediatric rules (JAIN). "
        "Project default (the seed does not give an age).",
    )
    infant_max_age_years: float = Field(
        1.0,
        ge=0.5,
        le=2.0,
        description="Infants (lineage-switch risk, JAIN). Project default.",
    )
    high_marrow_burden_pct: float = Field(
        50.0,
        ge=5.0,
        le=100.0,
        description="Marrow involvement at or above this percentage is 'high marrow disease "
        "burden' (JAIN risk factor). Project default (JAIN gives no number).",
    )


class WorkupSettings(BaseModel):
    """Laboratory work-up interpretation."""

    model_config = _FROZEN
    ipf_uln_percent: float = Field(
        3.7,
        ge=1.0,
        le=20.0,
        description="IPF upper reference limit used when the laboratory gave none. Source: BAUR "
        "(Sysmex XE-2100 reference 1.2-3.7%).",
    )
    fever_lookback_days: int = Field(
        2,
        ge=1,
        le=7,
        description="A fever within this many trailing days with ANC <= 0.5 prompts an "
        "infection work-up. Project default.",
    )
    follow_up_years: int = Field(
        2, ge=1, le=15, description="Follow-up at the CAR-T centre for at least. Source: JAIN."
    )


class FhirImportSettings(BaseModel):
    """How FHIR data from an EHR is read into a record (docs/fhir.md)."""

    model_config = _FROZEN
    hs_crp_as_crp: bool = Field(
        False,
        description="Read high-sensitivity CRP (LOINC 30522-7) as CRP. Off: hs-CRP is dropped "
        "with its own reason (the scores use standard CRP, docs/evidence.md 8.1). Project "
        "default.",
    )
    ld_window_days: int = Field(
        14,
        ge=1,
        le=30,
        description="Fludarabine/cyclophosphamide given within this many days before the "
        "infusion set the lymphodepletion start (the first dose). Project default.",
    )


class DataQualitySettings(BaseModel):
    """When the latest value of a lineage is too old to describe the patient today."""

    model_config = _FROZEN
    stale_days_early: int = Field(
        3, ge=1, le=30, description="Jain early phase (< day 30). Project default."
    )
    stale_days_prolonged: int = Field(
        14, ge=1, le=60, description="Jain prolonged phase (day 30-90). Project default."
    )
    stale_days_late: int = Field(
        35, ge=1, le=180, description="Jain late phase (> day 90). Project default."
    )
    open_episode_active_days: int = Field(
        14,
        ge=1,
        le=60,
        description="A CRS or ICANS episode with no end date counts as active for at most this "
        "many days after its start, flagged 'end date missing'. Project default "
        "(docs/decisions.md, G-CSF).",
    )


class HscoreSettings(BaseModel):
    """Which values feed the HScore shown as of a day."""

    model_config = _FROZEN
    lookback_days: int = Field(
        7,
        ge=1,
        le=30,
        description="Laboratory values and fever within this many trailing days feed the HScore "
        "(latest value; highest temperature). Project default.",
    )


class SeveritySettings(BaseModel):
    """The severity terms the management rules share (docs/decisions.md, Severity terms)."""

    model_config = _FROZEN
    persistent_window_days: int = Field(
        14,
        ge=7,
        le=42,
        description="Persistent severe neutropenia = every ANC in this many trailing days "
        "<= 0.5 x10^9/L. Project default (docs/decisions.md, Severity terms).",
    )
    persistent_min_values: int = Field(
        3,
        ge=1,
        le=14,
        description="... with at least this many values in the window. Project default.",
    )
    refractory_gcsf_days: int = Field(
        7,
        ge=3,
        le=28,
        description="G-CSF-refractory = ANC <= 0.5 x10^9/L on every value after at least this "
        "many days of daily G-CSF. Project default (the idea is JAIN's 'complete lack of "
        "responsiveness'; the number is not).",
    )
    refractory_rising_fold: float = Field(
        2.0,
        ge=1.1,
        le=10.0,
        description="A rising trend (last ANC >= this many times the lowest of the trailing "
        "persistent_window_days) is not refractory. Project default.",
    )
    gcsf_dependent_days: int = Field(
        7,
        ge=1,
        le=28,
        description="G-CSF-dependent = G-CSF on at least this many of the gcsf.dependence_window"
        "_days trailing days and ANC <= 0.5 x10^9/L at least once in them. Project default.",
    )
    persisting_days: int = Field(
        14,
        ge=1,
        le=60,
        description="A severe lineage counts toward a stem cell boost when it has persisted at "
        "least this many days. Project default (docs/decisions.md, Stem cell boost).",
    )


class MarrowSettings(BaseModel):
    """When a marrow on file answers a marrow trigger (docs/decisions.md, Marrow)."""

    model_config = _FROZEN
    valid_days: int = Field(
        42,
        ge=7,
        le=120,
        description="A marrow within this many trailing days answers every marrow trigger; an "
        "older one while the picture improves. Project default.",
    )


class BoostSettings(BaseModel):
    """When a stem cell boost is considered (docs/decisions.md, Stem cell boost candidate)."""

    model_config = _FROZEN
    earliest_day: int = Field(
        30,
        ge=0,
        le=365,
        description="A stem cell boost is considered from this day after infusion. Project "
        "default: the start of the Jain prolonged phase; published series boosted from day 35, "
        "median day 43-69 (docs/decisions.md, Stem cell boost candidate).",
    )
    min_lineages: int = Field(
        2,
        ge=1,
        le=3,
        description="At least this many severe lineages (severity terms), each persisting "
        "severity.persisting_days. Source: JAIN ('transfusion-dependent cytopenias in >1 "
        "lineage'); 1 allows the neutropenia-only practice of Gagelmann 2023.",
    )


class Profile(BaseModel):
    """An institution profile: named, versioned, and recorded on every assessment."""

    model_config = _FROZEN
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    baseline: BaselineSettings = BaselineSettings()
    icaht: IcahtSettings = IcahtSettings()
    ticaht: TicahtSettings = TicahtSettings()
    recovery: RecoveryPhenotypeSettings = RecoveryPhenotypeSettings()
    transfusion: TransfusionSettings = TransfusionSettings()
    gcsf: GcsfSettings = GcsfSettings()
    transfusion_triggers: TransfusionTriggerSettings = TransfusionTriggerSettings()
    prophylaxis: ProphylaxisSettings = ProphylaxisSettings()
    tpo_ra: TpoRaSettings = TpoRaSettings()
    iechs: IecHsSettings = IecHsSettings()
    cytopenia: CytopeniaSettings = CytopeniaSettings()
    patient_groups: PatientGroupSettings = PatientGroupSettings()
    workup: WorkupSettings = WorkupSettings()
    data_quality: DataQualitySettings = DataQualitySettings()
    hscore: HscoreSettings = HscoreSettings()
    severity: SeveritySettings = SeveritySettings()
    marrow: MarrowSettings = MarrowSettings()
    boost: BoostSettings = BoostSettings()
    fhir: FhirImportSettings = FhirImportSettings()


def _explain(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        dotted = ".".join(str(part) for part in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(f"{dotted}: unknown setting")
        else:  # the setting, the reason and a number read; never text (it may not be a profile)
            value = err.get("input")
            shown = f" (got {value!r})" if isinstance(value, int | float) else ""
            problems.append(f"{dotted}: {err['msg']}{shown}")
    return problems


def parse_profile(text: str, source: str) -> Profile:
    """Parse a profile from TOML text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(source, [f"not valid TOML: {exc}"]) from None
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(source, _explain(exc)) from None


@functools.cache
def _shipped_names() -> tuple[str, ...]:
    folder = resources.files("icaht.knowledge") / "profiles"
    return tuple(
        sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    )


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped with icaht."""
    return list(_shipped_names())


@functools.cache
def _shipped_profile(name: str) -> Profile:
    """A shipped profile, parsed once per process (package data does not change; profiles are
    frozen, so sharing one is safe)."""
    resource = resources.files("icaht.knowledge") / "profiles" / f"{name}.toml"
    return parse_profile(resource.read_text(encoding="utf-8"), f"profile {name}")


def load_shipped_profile(name: str) -> Profile:
    """A shipped profile by name only: never reads a file outside the package (the service's
    ``?profile=``); :class:`ProfileError` for an unknown name."""
    if name not in _shipped_names():
        raise ProfileError(name, [f"no such profile; shipped: {', '.join(_shipped_names())}"])
    return _shipped_profile(name)


def load_profile(name_or_path: str | Path | None = None) -> Profile:
    """Load a shipped profile by name, or a profile TOML file by path (default: seed-2023)."""
    if name_or_path is None:
        name_or_path = DEFAULT_PROFILE
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(str(path), [f"cannot read: {exc.strerror}"]) from None
        return parse_profile(text, str(path))
    return load_shipped_profile(str(name_or_path))
