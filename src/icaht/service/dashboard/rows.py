"""The patient-list rows: one per patient, computed with the core ``assess`` from the stored
course and cached per patient data version. Every clinical number comes from the assessment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from icaht.core.assessment import Assessment, assess
from icaht.core.changes import against
from icaht.core.course import Course
from icaht.core.episodes import Shown
from icaht.core.guidance import Recommendation
from icaht.core.timeline import calendar_day
from icaht.knowledge.profile import Profile
from icaht.service.dashboard.cells import GradeCell, ctcae_cell, icaht_cell, worst_cell
from icaht.service.dashboard.counts import LIST_LINEAGES, CountCell, count_cells
from icaht.service.dashboard.decisions import Decision, covering
from icaht.service.versioned_cache import VersionedCache
from icaht.store.reading import load_course
from icaht.store.versions import data_versions

#: Largest number of patients whose list row is kept in memory (project default).
ROW_CACHE_SIZE = 20_000


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
    #: Identifiers (optional patient facts): shown and searched on the clinicians' list only.
    name: str = ""
    mrn: str = ""

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
        name=course.facts.name or "",
        mrn=course.facts.mrn or "",
    )


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
