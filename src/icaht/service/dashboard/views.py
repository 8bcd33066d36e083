"""View models of the dashboard: the patient-list rows (computed with the core ``assess`` from
the stored course, cached per patient data version), and the small formatting helpers the
templates use. Presentation only: every clinical number comes from the assessment."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from icaht.core.assessment import Assessment, assess
from icaht.core.course import Course, day_of
from icaht.core.icaht import IcahtResult
from icaht.core.record import Transfusion
from icaht.core.timeline import calendar_day, jain_phase
from icaht.knowledge.profile import Profile
from icaht.service.dashboard.decisions import Decision
from icaht.service.versioned_cache import VersionedCache
from icaht.store.patients import load_course
from icaht.store.versions import data_versions

#: Lineages shown as "current grade" columns: label, lineage name in the assessment.
LIST_LINEAGES: tuple[tuple[str, str], ...] = (
    ("ANC", "neutrophils"),
    ("PLT", "platelets"),
    ("Hb", "hemoglobin"),
)
#: The "grade >= 3" filter threshold: CTCAE v5 grade 3 is "severe" (CTCAE v5.0), and ICAHT /
#: T-ICAHT grade 3 is "severe" (Rejeski, Blood 2023; T-ICAHT Table 1).
SEVERE_GRADE = 3
#: Largest number of patients whose list row is kept in memory (project default).
ROW_CACHE_SIZE = 20_000

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


def day_label(day: float | None) -> str:
    if day is None:
        return "-"
    return f"day {calendar_day(day)}"


@dataclass(frozen=True, slots=True)
class PatientRow:
    """One line of the patient list, computed from the assessment as of the latest data."""

    key: str
    product: str
    diagnosis: str
    day: int | None
    phase: str
    window: str
    ctcae: tuple[GradeCell, ...]
    early_icaht: GradeCell
    late_icaht: GradeCell
    early_ticaht: GradeCell
    late_ticaht: GradeCell
    phenotype: str
    fired: tuple[str, ...]
    last_lab_day: float | None
    lab_stale: bool
    stale_note: str
    on_tpo_ra: bool
    infusion_date: date | None
    worst: int = field(default=-1)

    def open_recommendations(self, decided: dict[str, Decision]) -> int:
        """Fired recommendations without an accept/dismiss decision."""
        return sum(1 for rule_id in self.fired if rule_id not in decided)


def patient_row(course: Course, a: Assessment) -> PatientRow:
    """The list row of one assessed course."""
    by_lineage = {s.lineage: s for s in a.lineages}
    cells = []
    for _, lineage in LIST_LINEAGES:
        status = by_lineage[lineage]
        cells.append(
            ctcae_cell(status.latest_ctcae, status.latest_ctcae_note, status.latest is not None)
        )
    grades = [
        c.value
        for c in (
            *cells,
            icaht_cell(a.early_icaht),
            icaht_cell(a.late_icaht),
            icaht_cell(a.early_ticaht),
            icaht_cell(a.late_ticaht),
        )
        if c.value is not None
    ]
    lab_days = [float(s.day[-1]) for s in course.labs.values() if len(s)]
    stale = [f.message for f in a.data_quality if f.code in ("stale", "no-values")]
    last = course.last_data_day()
    return PatientRow(
        key=course.facts.patient_id,
        product=course.facts.product or "",
        diagnosis=course.facts.diagnosis or "",
        day=None if last is None else calendar_day(last),
        phase=a.jain_phase,
        window=a.icaht_window,
        ctcae=tuple(cells),
        early_icaht=icaht_cell(a.early_icaht),
        late_icaht=icaht_cell(a.late_icaht),
        early_ticaht=icaht_cell(a.early_ticaht),
        late_ticaht=icaht_cell(a.late_ticaht),
        phenotype=a.phenotype.phenotype,
        fired=tuple(r.rule_id for r in a.recommendations),
        last_lab_day=max(lab_days) if lab_days else None,
        lab_stale=bool(stale),
        stale_note="; ".join(stale),
        on_tpo_ra=bool(a.treatments.active_tpo_ra()),
        infusion_date=course.facts.infusion_date,
        worst=max(grades, default=-1),
    )


#: The patient-list rows kept per server process, keyed by patient and data version.
RowCache = VersionedCache[PatientRow]


def new_row_cache() -> RowCache:
    """An empty cache of list rows (at most ``ROW_CACHE_SIZE``)."""
    return VersionedCache(ROW_CACHE_SIZE)


def list_rows(db: Session, cache: RowCache, profile: Profile) -> list[PatientRow]:
    """Rows of every current patient (cached rows where the data did not change)."""
    rows = []
    for key, version in data_versions(db).items():
        entry = (key, version, profile.name, profile.version)
        row = cache.get(entry)
        if row is None:
            course = load_course(db, key)
            if course is None:  # deleted meanwhile
                continue
            row = patient_row(course, assess(course, None, profile))
            cache.put(entry, row)
        rows.append(row)
    return rows


def real_day(row: PatientRow, today: date | None = None) -> int | None:
    """Today's day after infusion when the infusion date is known."""
    if row.infusion_date is None:
        return None
    return ((today or datetime.now(UTC).date()) - row.infusion_date).days


# -- sorting and filtering ----------------------------------------------------------------------
SORT_KEYS = (
    "patient",
    "product",
    "day",
    "phase",
    "anc",
    "plt",
    "hb",
    "icaht",
    "ticaht",
    "phenotype",
    "open",
    "lab",
)
_PHASE_ORDER = {"pre-infusion": 0, "early": 1, "prolonged": 2, "late": 3}


def _grade_value(cell: GradeCell) -> int:
    return -2 if cell.value is None else cell.value


def sort_rows(
    rows: Sequence[PatientRow],
    sort: str,
    descending: bool,
    decided: dict[str, dict[str, Decision]],
) -> list[PatientRow]:
    def key(row: PatientRow) -> Any:
        if sort == "product":
            return (row.product.lower(), row.key)
        if sort == "day":
            return (-(10**6) if row.day is None else row.day, row.key)
        if sort == "phase":
            return (_PHASE_ORDER.get(row.phase, 9), row.key)
        if sort in ("anc", "plt", "hb"):
            return (_grade_value(row.ctcae[("anc", "plt", "hb").index(sort)]), row.key)
        if sort == "icaht":
            return (max(_grade_value(row.early_icaht), _grade_value(row.late_icaht)), row.key)
        if sort == "ticaht":
            return (max(_grade_value(row.early_ticaht), _grade_value(row.late_ticaht)), row.key)
        if sort == "phenotype":
            return (row.phenotype, row.key)
        if sort == "open":
            return (row.open_recommendations(decided.get(row.key, {})), row.key)
        if sort == "lab":
            return (-1e9 if row.last_lab_day is None else row.last_lab_day, row.key)
        return row.key.lower()

    return sorted(rows, key=key, reverse=descending)


def filter_rows(
    rows: Iterable[PatientRow],
    *,
    phase: str | None,
    severe: bool,
    tpo_ra: bool,
    query: str | None,
) -> list[PatientRow]:
    out = []
    needle = (query or "").strip().lower()
    for row in rows:
        if phase and row.phase != phase:
            continue
        if severe and row.worst < SEVERE_GRADE:
            continue
        if tpo_ra and not row.on_tpo_ra:
            continue
        if needle and not any(
            needle in text.lower() for text in (row.key, row.product, row.diagnosis)
        ):
            continue
        out.append(row)
    return out


# -- patient page helpers -------------------------------------------------------------------------
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


def phase_of(day: int) -> str:
    return jain_phase(day)
