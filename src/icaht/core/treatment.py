"""Treatment tracking: courses of G-CSF, TPO-RAs and erythropoietin with their dose history, and
the response to a TPO-RA per Beyar-Katz (Ann Hematol 2022).

Placeholder API fixed for the rule engine; the implementation follows in this module.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from icaht.core.course import Course
from icaht.knowledge.profile import Profile

_FROZEN = ConfigDict(frozen=True)

DrugClass = Literal["G-CSF", "TPO-RA", "ESA"]


class DoseStep(BaseModel):
    """One dose segment of a course (a dose change starts a new step)."""

    model_config = _FROZEN
    start_day: int
    end_day: int | None = Field(description="Last day of the step; None = ongoing as of the day")
    dose: float | None
    dose_unit: str | None
    frequency: str | None
    product: str | None
    normalised_dose: float | None = Field(
        description="Romiplostim in ug/kg, eltrombopag in mg/day; None when it cannot be derived"
    )
    normalised_unit: str | None
    note: str | None = None


class DrugCourse(BaseModel):
    """All segments of one drug, in time order."""

    model_config = _FROZEN
    drug: str
    drug_class: DrugClass
    first_day: int
    last_day: int | None = Field(description="Last day given; None = ongoing as of the day")
    active: bool
    days_on: int
    steps: list[DoseStep]


class LineageResponse(BaseModel):
    """Whether one lineage met its Beyar-Katz criterion, and when."""

    model_config = _FROZEN
    lineage: Literal["neutrophils", "platelets", "hemoglobin"]
    criterion: str
    met_day: int | None
    days_from_first_dose: int | None


class TpoRaResponse(BaseModel):
    """Response to a TPO-RA per Beyar-Katz 2022, as of the assessment day."""

    model_config = _FROZEN
    drugs: list[str]
    first_dose_day: int
    days_on: int
    transfusion_independent: bool
    transfusion_independent_day: int | None
    response: bool
    response_day: int | None
    lineages_met: list[str]
    lineages: list[LineageResponse]
    complete_resolution: bool
    complete_resolution_day: int | None
    caveats: list[str] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=list)


class Treatments(BaseModel):
    """The tracked treatment courses and the TPO-RA response, as of the assessment day."""

    model_config = _FROZEN
    courses: list[DrugCourse] = Field(default_factory=list)
    tpo_ra_response: TpoRaResponse | None = None


def track_treatments(course: Course, as_of_day: int, profile: Profile) -> Treatments:
    """Courses and TPO-RA response from the medication events known by ``as_of_day``."""
    del course, as_of_day, profile
    return Treatments()
