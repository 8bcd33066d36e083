"""Laboratory values as a flowsheet (issue 16): analytes as rows, days as columns (newest
first), each analyte in its one canonical unit, flagged against the lab's own reference range
(L below the LLN, H above the ULN) and, where CTCAE v5.0 grades the analyte, with the grade of
the value; a grade 4 ("life-threatening", CTCAE v5.0) is flagged critical. A value that replaced
a corrected one is marked. Presentation only: values come from the stored course, grades from
:func:`icaht.core.ctcae.grade_value`; the one-value-per-row list stays the correction view."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from icaht.core.course import Course, Series
from icaht.core.ctcae import CtcaeTerm, grade_value
from icaht.core.lineage import LINEAGES
from icaht.core.timeline import calendar_day
from icaht.core.units import resolve_analyte
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.service.dashboard.cells import GradeCell, ctcae_cell, fmt
from icaht.store.reading import StoredObservation

#: The CTCAE v5.0 term of each analyte CTCAE grades (the lineages, fibrinogen, triglycerides).
CTCAE_TERMS: dict[Analyte, CtcaeTerm] = {
    **{analyte: term for _, analyte, term, _ in LINEAGES},
    Analyte.CD4: CtcaeTerm.CD4,
    Analyte.FIBRINOGEN: CtcaeTerm.FIBRINOGEN,
    Analyte.TRIGLYCERIDES: CtcaeTerm.TRIGLYCERIDES,
}
#: CTCAE v5.0 grade 4 = "life-threatening": flagged critical.
CRITICAL_GRADE = 4
#: Days shown by default (presentation only; project default): the newest two weeks with values.
DEFAULT_DAYS = 14


@dataclass(frozen=True, slots=True)
class FlowCell:
    """The last value of one analyte on one day (canonical unit)."""

    text: str
    flag: str  # "", "L", "H" or "critical"
    title: str
    grade: GradeCell | None  # None: CTCAE does not grade this analyte
    corrected: bool
    values: int  # values that day (the last one is shown)


@dataclass(frozen=True, slots=True)
class FlowRow:
    analyte: Analyte
    label: str
    unit: str
    cells: tuple[FlowCell | None, ...]


@dataclass(frozen=True, slots=True)
class Flowsheet:
    days: tuple[int, ...]  # newest first
    rows: tuple[FlowRow, ...]
    more_days: int  # days with values not shown


def _unit(series: Series, analyte: Analyte, i: int) -> str | None:
    """The unit value i was reported in (CTCAE anemia bands by it), when kept."""
    if series.unit_code is None or int(series.unit_code[i]) < 0:
        return None
    return list(ANALYTES[analyte].units)[int(series.unit_code[i])]


def _flag(value: float, lln: float, uln: float, grade: int | None) -> tuple[str, str]:
    if grade is not None and grade >= CRITICAL_GRADE:
        return "critical", f"critical: CTCAE grade {grade}"
    if not math.isnan(lln) and value < lln:
        return "L", f"low: under the lab's lower limit {fmt(lln)}"
    if not math.isnan(uln) and value > uln:
        return "H", f"high: over the lab's upper limit {fmt(uln)}"
    return "", "within the lab's range" if not (math.isnan(lln) and math.isnan(uln)) else ""


def _cell(series: Series, analyte: Analyte, idx: list[int], corrected: bool) -> FlowCell:
    i = idx[-1]
    value, lln, uln = float(series.value[i]), float(series.lln[i]), float(series.uln[i])
    term = CTCAE_TERMS.get(analyte)
    grade = None
    if term is not None:
        g = grade_value(
            term, value, None if math.isnan(lln) else lln, unit=_unit(series, analyte, i)
        )
        grade = ctcae_cell(g.grade, g.note, True)
    flag, title = _flag(value, lln, uln, None if grade is None else grade.value)
    if len(idx) > 1:
        title = f"{title}; last of {len(idx)} values that day".lstrip("; ")
    return FlowCell(fmt(value), flag, title, grade, corrected, len(idx))


def corrected_cells(stored: Iterable[StoredObservation]) -> set[tuple[Analyte, int]]:
    """(analyte, calendar day) of every current value that replaced a corrected one."""
    rows = list(stored)
    replacing = {r.superseded_by for r in rows if r.superseded_by is not None}
    out = set()
    for r in rows:
        analyte = resolve_analyte(r.observation.analyte, r.observation.loinc)
        if r.id in replacing and r.superseded_by is None and analyte is not None:
            out.add((analyte, calendar_day(r.day)))
    return out


def flowsheet(
    course: Course, corrected: set[tuple[Analyte, int]], days: int = DEFAULT_DAYS
) -> Flowsheet:
    """The newest ``days`` days with any value, analytes in catalogue order."""
    by_day: dict[Analyte, dict[int, list[int]]] = {}
    for analyte in ANALYTES:
        series = course.labs.get(analyte)
        if series is None or not len(series):
            continue
        per_day: dict[int, list[int]] = {}
        for i, d in enumerate(series.day.tolist()):
            per_day.setdefault(calendar_day(d), []).append(i)
        by_day[analyte] = per_day
    all_days = sorted({d for per_day in by_day.values() for d in per_day}, reverse=True)
    shown = tuple(all_days[:days])
    rows = []
    for analyte, per_day in by_day.items():
        if not any(d in per_day for d in shown):
            continue
        series = course.labs[analyte]
        cells = tuple(
            _cell(series, analyte, per_day[d], (analyte, d) in corrected) if d in per_day else None
            for d in shown
        )
        info = ANALYTES[analyte]
        rows.append(FlowRow(analyte, info.display, info.canonical_unit, cells))
    return Flowsheet(shown, tuple(rows), len(all_days) - len(shown))
