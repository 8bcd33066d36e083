"""View models of the dashboard: the patient-list rows (computed with the core ``assess`` from
the stored course, cached per patient data version), and the small formatting helpers the
templates use. Presentation only: every clinical number comes from the assessment."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.core.assessment import Assessment, assess
from icaht.core.changes import against
from icaht.core.course import Course, day_of
from icaht.core.episodes import Shown
from icaht.core.guidance import Recommendation
from icaht.core.icaht import IcahtResult
from icaht.core.lineage import LineageStatus
from icaht.core.record import Transfusion
from icaht.core.rule import CATEGORIES
from icaht.core.timeline import calendar_day, jain_phase
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.profile import Profile
from icaht.service.dashboard.decisions import Decision, covering
from icaht.service.versioned_cache import VersionedCache
from icaht.store.reading import load_course
from icaht.store.tables import AuditEntry
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
    as_of_day: int = 0
    recommendations: tuple[Recommendation, ...] = ()
    counts: tuple[CountCell, ...] = ()
    worst_ctcae: tuple[GradeCell, ...] = ()
    summary_tail: str = ""
    current: int = field(default=-1)

    def open_recommendations(self, decided: dict[str, Decision]) -> int:
        """Act-now and review recommendations not covered by a decision on their episode."""
        return len(self._open(decided, ("act now", "review")))

    def open_act_now(self, decided: dict[str, Decision]) -> int:
        """Act-now recommendations not covered by a decision on their episode."""
        return len(self._open(decided, ("act now",)))

    def _open(self, decided: dict[str, Decision], tiers: tuple[str, ...]) -> list[Recommendation]:
        covered = covering(decided, self.recommendations, self.as_of_day)
        return [r for r in self.recommendations if r.tier in tiers and r.rule_id not in covered]

    def new_since(self, last_view: list[Shown] | None) -> int:
        """Recommendations new or changed since the user's last look (all, if never seen)."""
        if last_view is None:
            return len(self.recommendations)
        return sum(1 for r in against(last_view, self.recommendations) if r.novelty != "unchanged")

    def summary(self, last_view: list[Shown] | None) -> str:
        """The one-line summary: "D+45 · ANC 0.2 ↓ G4 · PLT 16 transfusion-dependent · early
        ICAHT 4 · 2 new"."""
        new = self.new_since(last_view)
        parts = [f"D+{self.as_of_day}" if self.as_of_day >= 0 else f"D{self.as_of_day}"]
        parts += [c.text for c in self.counts if c.value is not None]
        if self.summary_tail:
            parts.append(self.summary_tail)
        if new:
            parts.append(f"{new} new")
        return " · ".join(parts)


def patient_row(course: Course, a: Assessment) -> PatientRow:
    """The list row of one assessed course."""
    by_lineage = {s.lineage: s for s in a.lineages}
    cells = []
    for _, lineage in LIST_LINEAGES:
        status = by_lineage[lineage]
        cells.append(
            ctcae_cell(status.latest_ctcae, status.latest_ctcae_note, status.latest is not None)
        )
    grades = [c.value for c in cells if c.value is not None]
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
        as_of_day=a.as_of_day,
        recommendations=tuple(a.recommendations),
        counts=count_cells(course, a),
        worst_ctcae=tuple(worst_cell(by_lineage[lineage]) for _, lineage in LIST_LINEAGES),
        summary_tail=_summary_tail(a),
        current=max(grades, default=-1),
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


def worst_cell(status: LineageStatus) -> GradeCell:
    """The worst CTCAE grade of a lineage over every phase so far ("worst-ever")."""
    grades = [g for g in status.worst_ctcae_by_phase.values() if g is not None]
    if not grades:
        return GradeCell("no value", "grade-na", "no value", None)
    worst = max(grades)
    return ctcae_cell(None if worst < 0 else worst, None, True)


def _summary_tail(a: Assessment) -> str:
    """The ICAHT grade of the current window, e.g. "early ICAHT 4"."""
    result = a.late_icaht if a.icaht_window == "late" else a.early_icaht
    if result.grade is None:
        return ""
    return f"{result.window} ICAHT {icaht_cell(result).text}"


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
    "worklist",
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


def worklist_key(row: PatientRow, decided: dict[str, Decision]) -> tuple[int, int, int, str]:
    """Today's worklist order: most unacknowledged act-now items first, then stale counts, then
    phase (early before prolonged before late), then the patient key."""
    return (
        -row.open_act_now(decided),
        0 if row.lab_stale else 1,
        _WORKLIST_PHASE.get(row.phase, 9),
        row.key.lower(),
    )


_WORKLIST_PHASE = {"early": 0, "prolonged": 1, "late": 2, "pre-infusion": 3}


def sort_rows(
    rows: Sequence[PatientRow],
    sort: str,
    descending: bool,
    decided: dict[str, dict[str, Decision]],
) -> list[PatientRow]:
    def key(row: PatientRow) -> Any:
        if sort == "worklist":
            return worklist_key(row, decided.get(row.key, {}))
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
        if severe and row.current < SEVERE_GRADE:
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


# -- what a user last looked at -----------------------------------------------------------------
#: The audit action of a patient page view; its detail keeps the recommendations shown.
LOOK_ACTION = "dashboard-patient"


def shown_detail(recommendations: Iterable[Recommendation]) -> list[dict[str, Any]]:
    """The compact form of a view stored with its audit entry (:class:`Shown` per card)."""
    return [r.shown().model_dump(mode="json") for r in recommendations]


def last_views(db: Session, actor: str, patient_key: str | None = None) -> dict[str, list[Shown]]:
    """The recommendations each patient's page last showed this user (patient key -> view)."""
    query = select(AuditEntry).where(AuditEntry.action == LOOK_ACTION, AuditEntry.actor == actor)
    if patient_key is not None:
        query = query.where(AuditEntry.patient_key == patient_key)
    out: dict[str, list[Shown]] = {}
    for entry in db.scalars(query.order_by(AuditEntry.id)):
        shown = (entry.detail or {}).get("shown")
        if entry.patient_key is not None and isinstance(shown, list):
            out[entry.patient_key] = [Shown.model_validate(item) for item in shown]
    return out


def by_tier(
    recommendations: Sequence[Recommendation], covered: dict[str, Decision]
) -> list[tuple[str, list[Recommendation]]]:
    """Cards ordered by tier, then category (catalogue order within one): act now, review,
    folded (with every card a decision still covers); standing cards go to the checklist."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    tiers: dict[str, list[Recommendation]] = {"act now": [], "review": [], "folded": []}
    for rec in sorted(recommendations, key=lambda r: order[r.category]):
        if rec.tier == "standing":
            continue
        tiers["folded" if rec.rule_id in covered else rec.tier].append(rec)
    return [(tier, recs) for tier, recs in tiers.items() if recs]
