"""Transfusion dependence per lineage and G-CSF dependence, as of a day.

Definitions are project defaults named as profile settings (docs/decisions.md, Grading and
Severity terms, revised 2026-12): platelet-transfusion dependent = >= 2 platelet transfusions in
the trailing 14 days; RBC-dependent = >= 2 RBC transfusions in the trailing 28 days; one is
"transfused", not dependent. G-CSF dependent = G-CSF on >= 7 of the trailing 14 days with
ANC <= 0.5 x10^9/L at least once in them. Absence is not a negative: unless the record declares
the stream complete (``PatientFacts.complete_streams``), no event reads "none recorded".

Dependence has a memory (docs/decisions.md): it begins on the day the window first holds the
minimum number of transfusions and lasts while the window holds any; independence is a window
with none. Regular transfusions further apart than half the window therefore do not switch the
patient in and out of dependence.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, computed_field

from icaht.core.course import Course, day_of
from icaht.core.frozen import FROZEN
from icaht.core.patient_facts import Stream
from icaht.core.record import Medication, Transfusion
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.drugs import GCSF
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L
from icaht.knowledge.profile.management import SeveritySettings
from icaht.knowledge.profile.supportive_care import GcsfSettings, TransfusionSettings


class SupportStatus(BaseModel):
    """Dependence on one kind of support within a trailing window ending on the as-of day."""

    model_config = FROZEN
    support: Literal["platelet transfusion", "RBC transfusion", "G-CSF"]
    dependent: bool
    window_days: int
    count_in_window: int
    last_day: int | None
    first_day: int | None
    setting: str
    since_day: int | None = None
    """The first day of the current dependence (None when not dependent; G-CSF: not traced)."""
    stream_complete: bool = False
    """The record declares this stream complete: no event means none given."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> str:
        """In words: dependent, given but not dependent, not dependent (complete stream), or
        none recorded (a stream not declared complete says nothing by its silence)."""
        window = f"{self.count_in_window} in the trailing {self.window_days} days"
        if self.dependent:
            since = "" if self.since_day is None else f" since day {self.since_day}"
            return f"dependent{since} ({window})"
        if self.count_in_window:
            return f"not dependent ({window})"
        if self.stream_complete:
            return f"not dependent (none in the trailing {self.window_days} days)"
        return "none recorded"


def stream_complete(course: Course, stream: Stream) -> bool:
    """Whether the record declares a data stream complete (medications covers G-CSF)."""
    declared = course.facts.complete_streams
    return stream in declared or (stream == "gcsf" and "medications" in declared)


def window_counts(days: NDArray[np.int64], lo: int, hi: int, window: int) -> NDArray[np.int64]:
    """For each calendar day ``lo..hi``: how many of ``days`` (calendar days, repeats counted)
    fall in its trailing window ``(day - window, day]``."""
    base = lo - window
    index = days - base
    index = index[(index >= 0) & (index <= hi - base)]
    cumulative = np.concatenate(([0], np.cumsum(np.bincount(index, minlength=hi - base + 1))))
    grid = np.arange(lo, hi + 1) - base
    return cumulative[grid + 1] - cumulative[grid + 1 - window]


def run_start(flags: NDArray[np.bool_], lo: int) -> int:
    """First day of the unbroken run of true days ending on the last day (``flags`` covers the
    days ``lo..`` and its last value is true)."""
    falses = np.flatnonzero(~flags[:-1])
    return lo + (int(falses[-1]) + 1 if len(falses) else 0)


def dependent_days(
    given: NDArray[np.int64], lo: int, hi: int, window: int, minimum: int
) -> NDArray[np.bool_]:
    """For each calendar day ``lo..hi``: dependent on the support given on the days ``given``.
    Dependence begins when the trailing window holds ``minimum`` and lasts while it holds any
    (independence = a window with none, docs/decisions.md "Transfusion dependence"); ``lo``
    must be on or before the first day given, so that a dependence is seen from its start."""
    counts = window_counts(given, lo, hi, window)
    index = np.arange(counts.shape[0])
    last_empty = np.maximum.accumulate(np.where(counts == 0, index, -1))
    last_onset = np.maximum.accumulate(np.where(counts >= minimum, index, -1))
    flags: NDArray[np.bool_] = (counts > 0) & (last_onset > last_empty)
    return flags


def transfusion_days(course: Course, product: str) -> list[int]:
    """The calendar days of the transfusions of a product, in order (repeats kept)."""
    return sorted(
        calendar_day(day_of(t.start)) for t in course.of_kind(Transfusion) if t.product == product
    )


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
    days = transfusion_days(course, product)
    recent = [d for d in days if as_of_day - window < d <= as_of_day]
    given = np.asarray(days, dtype=np.int64)
    lo = min(0, as_of_day, *days[:1])
    flags = dependent_days(given, lo, as_of_day, window, settings.dependence_min_transfusions)
    return SupportStatus(
        support="platelet transfusion" if platelets else "RBC transfusion",
        dependent=bool(flags[-1]),
        since_day=max(min(0, as_of_day), run_start(flags, lo)) if flags[-1] else None,
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
