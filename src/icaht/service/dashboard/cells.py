"""Grade cells and the small formatting helpers of the dashboard templates (presentation only:
every grade comes from the assessment)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from icaht.core.icaht import IcahtResult
from icaht.core.lineage import LineageStatus
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import ANALYTES, Analyte

GRADE_WORDS = {0: "none", 1: "mild", 2: "moderate", 3: "severe", 4: "life-threatening"}


@cache
@dataclass(frozen=True, slots=True)
class GradeCell:
    """A grade as text plus a CSS class (colour is never the only carrier: the text says it)."""

    text: str
    css: str
    title: str
    value: int | None  # for sorting and filtering; None = not graded


def ctcae_cell(grade: int | None, note: str | None, has_value: bool) -> GradeCell:
    """A CTCAE grade cell: "G3 severe", "G0-1" (no LLN), "no value"."""
    if grade is None:
        if has_value:
            return GradeCell(
                "G0-1", "grade-0", note or "grade 0 or 1 (no lower limit of normal)", 0
            )
        return GradeCell("no value", "grade-na", "no value", None)
    word = GRADE_WORDS.get(grade, "")
    return GradeCell(f"G{grade}", f"grade-{min(grade, 4)}", f"CTCAE grade {grade} {word}", grade)


def icaht_cell(result: IcahtResult) -> GradeCell:
    """An ICAHT/T-ICAHT grade: "3", ">= 2", with "(prov.)" when it can still change."""
    label = f"{result.scale} {result.window}"
    if result.grade is None:
        return GradeCell("n/a", "grade-na", f"{label}: {result.reason or 'not evaluable'}", None)
    text = f"≥{result.grade}" if result.lower_bound else str(result.grade)
    title = f"{label} grade {text}"
    if result.provisional:
        text += " prov."
        title += " (provisional: the window is not complete or rests on one value)"
    return GradeCell(text, f"grade-{min(result.grade, 4)}", title, result.grade)


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for display: 3 significant digits, thousands as integers, '-' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


_UNIT_SUFFIXES = {"_mg_dl": " (mg/dL)", "_c": " (°C)"}
_RAW_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def field_label(name: str) -> str:
    """A score input or record field for people: "crp_mg_dl" -> "CRP (mg/dL)", "anc" -> the
    analyte's display name, "temperature_c" -> "temperature (°C)" (print and PDF show no raw
    field names, issue 16)."""
    for suffix, unit in _UNIT_SUFFIXES.items():
        if name.endswith(suffix):
            return field_label(name.removesuffix(suffix)) + unit
    if name in Analyte.__members__.values():
        return ANALYTES[Analyte(name)].display
    return name.replace("_", " ")


def readable(text: str) -> str:
    """A core message with its raw field names (``crp_mg_dl``) as labels."""
    return _RAW_NAME.sub(lambda m: field_label(m.group(0)), text)


def day_label(day: float | None) -> str:
    if day is None:
        return "-"
    return f"day {calendar_day(day)}"


def worst_cell(status: LineageStatus) -> GradeCell:
    """The worst CTCAE grade of a lineage over every phase so far ("worst-ever")."""
    grades = [g for g in status.worst_ctcae_by_phase.values() if g is not None]
    if not grades:
        return GradeCell("no value", "grade-na", "no value", None)
    worst = max(grades)
    return ctcae_cell(None if worst < 0 else worst, None, True)
