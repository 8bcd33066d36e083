"""The patient facts of the record contract: who the patient is and the CAR-T treatment, and
which data streams the record declares complete."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal, get_args

from pydantic import Field, field_validator

from icaht.core.record import STRICT_CONFIG, ContractModel, Moment


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Costimulation(StrEnum):
    CD28 = "CD28"
    FOUR_1BB = "4-1BB"
    OTHER = "other"


class StoredCells(StrEnum):
    """Cryopreserved stem cells available for a boost (Jain 2023: autologous or donor)."""

    AUTOLOGOUS = "autologous"
    DONOR = "donor"
    NONE = "none"


Stream = Literal["transfusions", "medications", "gcsf"]
"""A data stream a record can declare complete (docs/decisions.md, "Absence is not a negative");
``medications`` covers every drug, G-CSF included; ``gcsf`` covers G-CSF alone."""
STREAMS: tuple[Stream, ...] = get_args(Stream)


#: Facts that identify a person: shown on the dashboard, its print view and PDF, never sent
#: to researchers, never written to logs or the audit trail (issue 16).
IDENTIFIER_FACTS: tuple[str, ...] = ("name", "mrn", "birth_date")


class PatientFacts(ContractModel):
    """Facts about the patient and the CAR-T treatment."""

    model_config = STRICT_CONFIG
    patient_id: str = Field(min_length=1, max_length=128)
    name: str | None = Field(
        None, max_length=200, description="Identifier (optional): shown to clinicians only."
    )
    mrn: str | None = Field(
        None, max_length=64, description="Identifier (optional): medical record number."
    )
    birth_date: date | None = Field(None, description="Identifier (optional).")
    age_years: float | None = Field(None, ge=0, le=120)
    sex: Sex = Sex.UNKNOWN
    weight_kg: float | None = Field(None, gt=0, le=400)
    east_southeast_asian_ancestry: bool | None = Field(
        None, description="Eltrombopag label: reduced starting dose (docs/evidence.md 7)."
    )
    hepatic_impairment: bool | None = None
    diagnosis: str | None = Field(
        None, description="e.g. LBCL, DLBCL, FL, MCL, B-ALL, MM, CLL.", max_length=64
    )
    product: str | None = Field(
        None,
        description="e.g. axi-cel, tisa-cel, liso-cel, brexu-cel, ide-cel, cilta-cel.",
        max_length=64,
    )
    target: str | None = Field(None, description="e.g. CD19, BCMA, CD22.", max_length=32)
    costimulatory_domain: Costimulation | None = None
    ld_regimen: str | None = Field(None, description="e.g. Flu/Cy, bendamustine.", max_length=200)
    ld_start: Moment | None = Field(None, description="First day of lymphodepletion.")
    infusion_date: date | None = Field(
        None, description="Day 0. Required when any time is given as a date."
    )
    prior_auto_hct: bool | None = None
    prior_allo_hct: bool | None = None
    stored_cells: StoredCells | None = None
    chip: bool | None = Field(None, description="Clonal hematopoiesis known before CAR-T.")
    marrow_disease_pct: float | None = Field(
        None, ge=0, le=100, description="Marrow involvement at baseline, % of cells."
    )
    prior_marrow_dysplasia_or_fibrosis: bool | None = None
    kmt2a_rearranged: bool | None = None
    known_immunosuppression: bool | None = Field(
        None, description="HIV or long-term immunosuppressive therapy (HScore item)."
    )
    complete_streams: tuple[Stream, ...] = Field(
        (),
        description="Data streams this record holds completely (transfusions, medications, "
        "gcsf). Absence in a stream not named here is 'none recorded', never a negative "
        "finding. In a table cell: names separated by ';'.",
    )

    @field_validator("complete_streams", mode="before")
    @classmethod
    def _split_streams(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(
                part.strip() for part in value.replace(",", ";").split(";") if part.strip()
            )
        return value
