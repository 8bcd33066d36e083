"""Today's blood counts of a patient (value, grade, trend, support) and the transfusions per
week, as the patient page, the list and the PDF show them."""

from __future__ import annotations

from dataclasses import dataclass

from icaht.core.assessment import Assessment
from icaht.core.course import Course, day_of
from icaht.core.record import Transfusion
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import Analyte
from icaht.service.dashboard.cells import GradeCell, ctcae_cell, fmt

#: Lineages shown as "current grade" columns: label, lineage name in the assessment.
LIST_LINEAGES: tuple[tuple[str, str], ...] = (
    ("ANC", "neutrophils"),
    ("PLT", "platelets"),
    ("Hb", "hemoglobin"),
)


@dataclass(frozen=True, slots=True)
class CountCell:
    """Today's count of one lineage: value, unit, CTCAE grade, trend against the value before,
    days since it was measured, and the support state that qualifies it."""

    label: str
    value: float | None
    unit: str
    grade: GradeCell
    arrow: str
    trend: str
    day: int | None
    days_since: int | None
    support: str

    @property
    def text(self) -> str:
        """E.g. "ANC 0.2 ↓ G4" or "PLT 16 transfusion-dependent"."""
        if self.value is None:
            return f"{self.label} no value"
        shown = f"{self.label} {fmt(self.value)}"
        if self.arrow:
            shown += f" {self.arrow}"
        return f"{shown} {self.support or self.grade.text}"


_TRENDS = {1: ("↑", "up"), -1: ("↓", "down"), 0: ("→", "unchanged")}


def _trend(course: Course, analyte: Analyte, as_of_day: int) -> tuple[str, str]:
    series = course.series(analyte).before(float(as_of_day + 1))
    if len(series) < 2:
        return "", "no earlier value"
    last, before = float(series.value[-1]), float(series.value[-2])
    arrow, word = _TRENDS[(last > before) - (last < before)]
    return arrow, f"{word} from {fmt(before)} (day {calendar_day(float(series.day[-2]))})"


def count_cells(course: Course, a: Assessment) -> tuple[CountCell, ...]:
    """Today's counts (ANC, platelets, Hb) of an assessment, with grade and trend."""
    by_lineage = {s.lineage: s for s in a.lineages}
    support = {
        "platelets": a.platelet_transfusion,
        "hemoglobin": a.rbc_transfusion,
        "neutrophils": a.gcsf,
    }
    out = []
    for label, lineage in LIST_LINEAGES:
        status = by_lineage[lineage]
        latest = status.latest
        arrow, trend = _trend(course, status.analyte, a.as_of_day) if latest else ("", "")
        kind = "G-CSF" if lineage == "neutrophils" else "transfusion"
        out.append(
            CountCell(
                label=label,
                value=None if latest is None else latest.value,
                unit=status.unit,
                grade=ctcae_cell(status.latest_ctcae, status.latest_ctcae_note, latest is not None),
                arrow=arrow,
                trend=trend,
                day=None if latest is None else calendar_day(latest.day),
                days_since=status.days_since_latest,
                support=f"{kind}-dependent" if support[lineage].dependent else "",
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TransfusionWeek:
    week: int
    first_day: int
    last_day: int
    rbc_units: int
    platelet_units: int
    other_units: int


def transfusions_per_week(course: Course) -> list[TransfusionWeek]:
    """Units transfused per week after infusion (week 1 = days 0-6), weeks with any only."""
    weeks: dict[int, list[int]] = {}
    for t in course.of_kind(Transfusion):
        week = calendar_day(day_of(t.start)) // 7
        counts = weeks.setdefault(week, [0, 0, 0])
        slot = 0 if t.product == "rbc" else 1 if t.product == "platelets" else 2
        counts[slot] += t.units
    return [
        TransfusionWeek(w + 1 if w >= 0 else w, w * 7, w * 7 + 6, *weeks[w]) for w in sorted(weeks)
    ]
