"""Transfusion dependence per lineage and G-CSF dependence, as of a day.

Definitions are project defaults named as profile settings (clinical-decisions.md, Grading):
platelet-transfusion dependent = >= 1 platelet transfusion in the trailing 14 days; RBC-dependent =
>= 1 RBC transfusion in the trailing 28 days; independence = none in those windows. G-CSF
dependence = G-CSF given within the trailing window (project default, no source defines it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from icaht.core.course import Course, day_of
from icaht.core.record import Medication, Transfusion
from icaht.core.timeline import calendar_day
from icaht.knowledge.drugs import GCSF
from icaht.knowledge.profile import GcsfSettings, TransfusionSettings

_FROZEN = ConfigDict(frozen=True)


class SupportStatus(BaseModel):
    """Dependence on one kind of support within a trailing window ending on the as-of day."""

    model_config = _FROZEN
    support: Literal["platelet transfusion", "RBC transfusion", "G-CSF"]
    dependent: bool
    window_days: int
    count_in_window: int
    last_day: int | None
    first_day: int | None
    setting: str


def transfusion_dependence(
    course: Course,
    as_of_day: int,
    product: Literal["platelets", "rbc"],
    settings: TransfusionSettings,
) -> SupportStatus:
    """Transfusion dependence for platelets or RBC in the trailing window (inclusive of as-of)."""
    platelets = product == "platelets"
    window = (
        settings.platelet_dependence_window_days
        if platelets
        else settings.rbc_dependence_window_days
    )
    days = [
        calendar_day(day_of(t.start)) for t in course.of_kind(Transfusion) if t.product == product
    ]
    recent = [d for d in days if as_of_day - window < d <= as_of_day]
    return SupportStatus(
        support="platelet transfusion" if platelets else "RBC transfusion",
        dependent=bool(recent),
        window_days=window,
        count_in_window=len(recent),
        last_day=max(days) if days else None,
        first_day=min(days) if days else None,
        setting="transfusion." + ("platelet" if platelets else "rbc") + "_dependence_window_days",
    )


def gcsf_days(course: Course, up_to_day: int) -> list[int]:
    """Calendar days with G-CSF exposure (course segments expanded; open segments to as-of)."""
    exposed: set[int] = set()
    for med in course.of_kind(Medication):
        if med.drug not in GCSF:
            continue
        start = calendar_day(day_of(med.start))
        end = up_to_day if med.end is None else calendar_day(day_of(med.end))
        exposed.update(range(start, min(end, up_to_day) + 1))
    return sorted(exposed)


def gcsf_dependence(course: Course, as_of_day: int, settings: GcsfSettings) -> SupportStatus:
    """G-CSF given within the trailing window."""
    days = gcsf_days(course, as_of_day)
    window = settings.dependence_window_days
    recent = [d for d in days if as_of_day - window < d <= as_of_day]
    return SupportStatus(
        support="G-CSF",
        dependent=bool(recent),
        window_days=window,
        count_in_window=len(recent),
        last_day=max(days) if days else None,
        first_day=min(days) if days else None,
        setting="gcsf.dependence_window_days",
    )
