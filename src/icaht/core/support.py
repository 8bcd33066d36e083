"""Transfusion dependence per lineage and G-CSF dependence, as of a day.

Definitions are project defaults named as profile settings (docs/decisions.md, Grading and
Severity terms, revised 2026-12): platelet-transfusion dependent = >= 2 platelet transfusions in
the trailing 14 days; RBC-dependent = >= 2 RBC transfusions in the trailing 28 days; one is
"transfused", not dependent. G-CSF dependent = G-CSF on >= 7 of the trailing 14 days with
ANC <= 0.5 x10^9/L at least once in them. Absence is not a negative: unless the record declares
the stream complete (``PatientFacts.complete_streams``), no event reads "none recorded".
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from icaht.core.course import Course, day_of
from icaht.core.patient_facts import Stream
from icaht.core.record import Medication, Transfusion
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.drugs import GCSF
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L
from icaht.knowledge.profile.management import SeveritySettings
from icaht.knowledge.profile.supportive_care import GcsfSettings, TransfusionSettings

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
    stream_complete: bool = False
    """The record declares this stream complete: no event means none given."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> str:
        """In words: dependent, given but not dependent, not dependent (complete stream), or
        none recorded (a stream not declared complete says nothing by its silence)."""
        window = f"{self.count_in_window} in the trailing {self.window_days} days"
        if self.dependent:
            return f"dependent ({window})"
        if self.count_in_window:
            return f"not dependent ({window})"
        if self.stream_complete:
            return f"not dependent (none in the trailing {self.window_days} days)"
        return "none recorded"


def stream_complete(course: Course, stream: Stream) -> bool:
    """Whether the record declares a data stream complete (medications covers G-CSF)."""
    declared = course.facts.complete_streams
    return stream in declared or (stream == "gcsf" and "medications" in declared)


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
        dependent=len(recent) >= settings.dependence_min_transfusions,
        window_days=window,
        count_in_window=len(recent),
        last_day=max(days) if days else None,
        first_day=min(days) if days else None,
        setting="transfusion." + ("platelet" if platelets else "rbc") + "_dependence_window_days",
        stream_complete=stream_complete(course, "transfusions"),
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


def gcsf_dependence(
    course: Course, as_of_day: int, settings: GcsfSettings, severity: SeveritySettings
) -> SupportStatus:
    """G-CSF on ``severity.gcsf_dependent_days`` of the trailing window with ANC <= 0.5 at least
    once in it."""
    days = gcsf_days(course, as_of_day)
    window = settings.dependence_window_days
    recent = [d for d in days if as_of_day - window < d <= as_of_day]
    anc = course.series(Analyte.ANC).between(float(as_of_day - window + 1), float(as_of_day + 1))
    low = bool(len(anc)) and float(anc.value.min()) <= ANC_SEVERE_10E9_PER_L
    return SupportStatus(
        support="G-CSF",
        dependent=len(recent) >= severity.gcsf_dependent_days and low,
        window_days=window,
        count_in_window=len(recent),
        last_day=max(days) if days else None,
        first_day=min(days) if days else None,
        setting="gcsf.dependence_window_days",
        stream_complete=stream_complete(course, "gcsf"),
    )
