"""Profile settings of the inputs: how FHIR data is read, when a value is too old, which values
feed the HScore."""

from __future__ import annotations

from pydantic import BaseModel, Field

from icaht.knowledge.profile.section import SECTION_CONFIG


class FhirImportSettings(BaseModel):
    """How FHIR data from an EHR is read into a record (docs/fhir.md)."""

    model_config = SECTION_CONFIG
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

    model_config = SECTION_CONFIG
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

    model_config = SECTION_CONFIG
    lookback_days: int = Field(
        7,
        ge=1,
        le=30,
        description="Laboratory values and fever within this many trailing days feed the HScore "
        "(latest value; highest temperature). Project default.",
    )
