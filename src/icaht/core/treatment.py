"""Treatment tracking: courses of G-CSF, TPO-RAs and erythropoietin with their dose history
(:mod:`icaht.core.drug_courses`), and the response to a TPO-RA per Beyar-Katz (Ann Hematol 2022;
:mod:`icaht.core.tpo_ra_response`), as of the assessment day.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from icaht.core.course import Course
from icaht.core.drug_courses import DrugCourse, drug_class, drug_course
from icaht.core.frozen import FROZEN
from icaht.core.record import Medication
from icaht.core.tpo_ra_response import TpoRaResponse, tpo_ra_response
from icaht.knowledge.profile import Profile


class Treatments(BaseModel):
    """The tracked treatment courses and the TPO-RA response, as of the assessment day."""

    model_config = FROZEN
    courses: list[DrugCourse] = Field(default_factory=list)
    tpo_ra_response: TpoRaResponse | None = None

    def active_course(self, drug: str) -> DrugCourse | None:
        """The course of ``drug`` if it is active on the as-of day."""
        return next((c for c in self.courses if c.drug == drug and c.active), None)

    def active_tpo_ra(self) -> list[DrugCourse]:
        """The TPO-RA courses active on the as-of day."""
        return [c for c in self.courses if c.drug_class == "TPO-RA" and c.active]


def track_treatments(known: Course, as_of_day: int, profile: Profile) -> Treatments:
    """Courses and TPO-RA response from the medication events of ``known``, the course as known
    on ``as_of_day`` (``RuleContext.course``)."""
    weight = known.facts.weight_kg
    by_drug: dict[str, list[Medication]] = {}
    for med in known.of_kind(Medication):
        if drug_class(med.drug) is not None:
            by_drug.setdefault(med.drug, []).append(med)
    courses = [drug_course(drug, meds, as_of_day, weight) for drug, meds in by_drug.items()]
    tpo = [c for c in courses if c.drug_class == "TPO-RA"]
    return Treatments(
        courses=courses,
        tpo_ra_response=tpo_ra_response(known, tpo, as_of_day, profile) if tpo else None,
    )
