"""Drug courses: G-CSF, TPO-RAs and erythropoietin with their dose history.

Courses (one per drug, from the medication segments known by the as-of day; one step per segment):
a step's ``end_day`` is None while the segment is open; a course is active when a segment is open
or ends on or after the as-of day; ``days_on`` counts the calendar days covered by its segments up
to the as-of day. Doses are normalised where the record allows it (docs/evidence.md 7):
romiplostim in ug/kg per dose (a dose in ug is divided by ``patient.weight_kg``, with a note;
without a weight it stays None, with a note), eltrombopag in mg/day (the mg of the product as
recorded: an eltrombopag *choline* product keeps its mg and is flagged, 36 mg choline ~ 50 mg
olamine), G-CSF in ug/kg/day when dose, unit, frequency and weight allow it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field

from icaht.core.course import day_of
from icaht.core.frozen import FROZEN
from icaht.core.record import Medication
from icaht.core.timeline import calendar_day
from icaht.knowledge.drugs import ESA, GCSF, TPO_RA
from icaht.knowledge.tpo_ra_criteria import (
    ELTROMBOPAG_CHOLINE_MG,
    ELTROMBOPAG_OLAMINE_MG,
)

DrugClass = Literal["G-CSF", "TPO-RA", "ESA"]


ROMIPLOSTIM = "romiplostim"
ELTROMBOPAG = "eltrombopag"
UG_KG = "ug/kg"
MG_DAY = "mg/day"
UG_KG_DAY = "ug/kg/day"
#: Doses per day for the frequencies a daily dose can be derived from.
_PER_DAY: dict[str, int] = {"daily": 1, "once daily": 1, "twice daily": 2}


class DoseStep(BaseModel):
    """One dose segment of a course (a dose change starts a new step)."""

    model_config = FROZEN
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

    model_config = FROZEN
    drug: str
    drug_class: DrugClass
    first_day: int
    last_day: int | None = Field(description="Last day given; None = ongoing as of the day")
    active: bool
    days_on: int
    steps: list[DoseStep]


def drug_class(drug: str) -> DrugClass | None:
    """The tracked class of an ingredient (knowledge.drugs), or None when it is not tracked."""
    if drug in GCSF:
        return "G-CSF"
    if drug in TPO_RA:
        return "TPO-RA"
    return "ESA" if drug in ESA else None


def is_eltrombopag_choline(step: DoseStep) -> bool:
    """An eltrombopag *choline* product (36 mg ~ 50 mg olamine; docs/evidence.md 7)."""
    return step.product is not None and "choline" in step.product.lower()


def current_step(course: DrugCourse, as_of_day: int) -> DoseStep | None:
    """The latest-started step running on the as-of day (open or ending on/after it)."""
    running = [s for s in course.steps if s.end_day is None or s.end_day >= as_of_day]
    return running[-1] if running else None


# -- courses --------------------------------------------------------------------------------------
def drug_course(
    drug: str, meds: list[Medication], as_of_day: int, weight_kg: float | None
) -> DrugCourse:
    klass = drug_class(drug)
    assert klass is not None
    steps = [_step(med, klass, weight_kg) for med in meds]
    ends = [s.end_day for s in steps]
    return DrugCourse(
        drug=drug,
        drug_class=klass,
        first_day=steps[0].start_day,
        last_day=None if None in ends else max(e for e in ends if e is not None),
        active=any(e is None or e >= as_of_day for e in ends),
        days_on=len(exposure_days(steps, as_of_day)),
        steps=steps,
    )


def exposure_days(steps: Iterable[DoseStep], as_of_day: int) -> set[int]:
    """Calendar days covered by the steps up to the as-of day (open steps run to it)."""
    days: set[int] = set()
    for step in steps:
        end = as_of_day if step.end_day is None else min(step.end_day, as_of_day)
        days.update(range(step.start_day, end + 1))
    return days


def _step(med: Medication, klass: DrugClass, weight_kg: float | None) -> DoseStep:
    dose, unit, note = _normalise(med, klass, weight_kg)
    return DoseStep(
        start_day=calendar_day(day_of(med.start)),
        end_day=None if med.end is None else calendar_day(day_of(med.end)),
        dose=med.dose,
        dose_unit=med.dose_unit,
        frequency=med.frequency,
        product=med.product,
        normalised_dose=dose,
        normalised_unit=unit,
        note=note,
    )


# -- dose normalisation ---------------------------------------------------------------------------
Normalised = tuple[float | None, str | None, str | None]


def dose_unit_spelling(unit: str | None) -> str | None:
    """A dose unit in one spelling: lower case, micro as "u" (ug, mcg, µg, μg -> ug)."""
    if unit is None:
        return None
    return unit.strip().lower().replace("µ", "u").replace("μ", "u").replace("mcg", "ug")


def _normalise(med: Medication, klass: DrugClass, weight_kg: float | None) -> Normalised:
    if klass == "ESA":
        return None, None, None
    if klass == "G-CSF":
        return _gcsf_ug_kg_day(med, weight_kg)
    if med.drug == ROMIPLOSTIM:
        return _romiplostim_ug_kg(med, weight_kg)
    return _oral_mg_day(med)


def _romiplostim_ug_kg(med: Medication, weight_kg: float | None) -> Normalised:
    """Romiplostim per dose in ug/kg (label: actual body weight; docs/evidence.md 7)."""
    unit = dose_unit_spelling(med.dose_unit)
    if med.dose is None:
        return None, UG_KG, "dose not recorded"
    if unit == UG_KG:
        return med.dose, UG_KG, None
    if unit != "ug":
        return None, UG_KG, f"dose unit {med.dose_unit!r} cannot be expressed in ug/kg"
    if weight_kg is None:
        return None, UG_KG, "dose in ug and no patient weight: cannot express it in ug/kg"
    return (
        med.dose / weight_kg,
        UG_KG,
        f"converted from {med.dose:g} ug with the patient weight {weight_kg:g} kg",
    )


def _oral_mg_day(med: Medication) -> Normalised:
    """An oral TPO-RA in mg/day; the mg of the product as recorded (a choline salt is flagged)."""
    notes = []
    if med.drug == ELTROMBOPAG and med.product and "choline" in med.product.lower():
        notes.append(
            f"eltrombopag choline: {ELTROMBOPAG_CHOLINE_MG:g} mg choline ~ "
            f"{ELTROMBOPAG_OLAMINE_MG:g} mg olamine; the dose is kept as recorded (choline mg)"
        )
    per_day = 1 if med.frequency is None else _PER_DAY.get(med.frequency.strip().lower())
    if med.frequency is None:
        notes.append("frequency not recorded: taken as once daily (label dosing)")
    note = "; ".join(notes) or None
    if med.dose is None or dose_unit_spelling(med.dose_unit) != "mg" or per_day is None:
        missing = "dose" if med.dose is None else f"dose {med.dose:g} {med.dose_unit or ''}"
        reason = f"{missing.strip()} {med.frequency or ''}: cannot express it in mg/day".strip()
        return None, MG_DAY, "; ".join([*notes, reason])
    return med.dose * per_day, MG_DAY, note


def _gcsf_ug_kg_day(med: Medication, weight_kg: float | None) -> Normalised:
    """G-CSF in ug/kg/day when the dose is daily and in ug/kg, or in ug with a weight."""
    unit = dose_unit_spelling(med.dose_unit)
    per_day = None if med.frequency is None else _PER_DAY.get(med.frequency.strip().lower())
    if med.dose is None or per_day is None or unit not in (UG_KG, "ug"):
        return None, None, None
    if unit == UG_KG:
        return med.dose * per_day, UG_KG_DAY, None
    if weight_kg is None:
        return None, UG_KG_DAY, "dose in ug and no patient weight: cannot express it in ug/kg"
    return (
        med.dose * per_day / weight_kg,
        UG_KG_DAY,
        f"converted from {med.dose:g} ug with the patient weight {weight_kg:g} kg",
    )
