"""The bodies of CDS Hooks 2.0 calls (``patient-view`` and its feedback) as validated models;
other fields a client sends are kept (CDS Hooks allows extensions)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from icaht.service.prefetch import fhir_base_problem


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")
    access_token: str
    token_type: str = "Bearer"
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None


class PatientViewContext(BaseModel):
    model_config = ConfigDict(extra="allow")
    userId: str  # noqa: N815 (CDS Hooks field name)
    patientId: str = Field(min_length=1, max_length=128, pattern="^[^\\x00]+$")  # noqa: N815
    encounterId: str | None = None  # noqa: N815


class HookRequest(BaseModel):
    """A CDS Hooks 2.0 call of the ``patient-view`` hook."""

    model_config = ConfigDict(extra="allow")
    hook: Literal["patient-view"]
    hookInstance: str  # noqa: N815
    fhirServer: str | None = None  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: PatientViewContext
    prefetch: dict[str, Any] | None = None

    @field_validator("fhirServer")
    @classmethod
    def _fhir_base(cls, value: str | None) -> str | None:
        problem = None if value is None else fhir_base_problem(value)
        if problem is not None:
            raise ValueError(f"not a FHIR base URL: {problem}")
        return value


class OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")
    reason: dict[str, Any] | None = None
    userComment: str | None = None  # noqa: N815


class Feedback(BaseModel):
    model_config = ConfigDict(extra="allow")
    card: str
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[dict[str, Any]] = []  # noqa: N815
    overrideReason: OverrideReason | None = None  # noqa: N815
    outcomeTimestamp: str  # noqa: N815


class FeedbackRequest(BaseModel):
    feedback: list[Feedback] = Field(min_length=1)
