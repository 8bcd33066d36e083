"""Profile settings of the management rules: IEC-HS suspicion, significant cytopenia, patient
groups, laboratory work-up, the shared severity terms, marrow and stem cell boost."""

from __future__ import annotations

from pydantic import BaseModel, Field

from icaht.knowledge.profile.section import SECTION_CONFIG


class IecHsSettings(BaseModel):
    """IEC-HS suspicion (JAIN pattern; Hines 2023)."""

    model_config = SECTION_CONFIG
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

    model_config = SECTION_CONFIG
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

    model_config = SECTION_CONFIG
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

    model_config = SECTION_CONFIG
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


class SeveritySettings(BaseModel):
    """The severity terms the management rules share (docs/decisions.md, Severity terms)."""

    model_config = SECTION_CONFIG
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

    model_config = SECTION_CONFIG
    valid_days: int = Field(
        42,
        ge=7,
        le=120,
        description="A marrow within this many trailing days answers every marrow trigger; an "
        "older one while the picture improves. Project default.",
    )


class BoostSettings(BaseModel):
    """When a stem cell boost is considered (docs/decisions.md, Stem cell boost candidate)."""

    model_config = SECTION_CONFIG
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
