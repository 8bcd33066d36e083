"""The PatientRecord contract: patient facts, laboratory observations and clinical events, the
interchange form of one patient (``docs/architecture.md``, Data contract)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from icaht.core.observation import Observation
from icaht.core.patient_facts import PatientFacts
from icaht.core.record import Event

SCHEMA_VERSION: Literal["1"] = "1"


class PatientRecord(BaseModel):
    """One patient's record: facts, observations and events."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal["1"] = SCHEMA_VERSION
    patient: PatientFacts
    observations: list[Observation] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
