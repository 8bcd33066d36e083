"""One partition of a cohort: validate its patients, reject the bad ones, assess the others.

Every engine hands a partition here (the local process pool a few hundred patients at a time,
Spark one patient group at a time), so validation, rejection and the results row are the same
code whichever engine runs. The tabular checks are the table-level functions of
:mod:`icaht.io.tabular` (the ones the whole-input reader runs) applied to the partition's rows;
the difference is what happens to a problem: a whole-input load refuses everything, a cohort run
rejects only the patient the problem belongs to, lists it (:class:`Rejection`, written to
``errors.csv``) and assesses the others.

A problem belongs to the patient whose ``patient_id`` is on the problem's row (patients,
observations or events table). Rows whose ``patient_id`` is missing or not in the patients table
belong to no patient: they are listed too and are not assessed. A patient listed twice in the
patients table is rejected (its rows cannot be told apart). Row numbers are 1-based data rows of
the original file, whatever the partitioning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from icaht.cohort.results import cohort_row, rows_table
from icaht.core.course import Course, course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.records import read_record
from icaht.io.tabular import (
    tabular_courses,
    validate_events,
    validate_observations,
    validate_patients,
)
from icaht.knowledge.profile import Profile

#: Columns of ``errors.csv``.
ERROR_COLUMNS = ("patient_id", "source", "row", "field", "value", "message")


@dataclass(frozen=True, slots=True)
class Rejection:
    """One reason a patient (or a row that belongs to no patient) was not assessed."""

    patient_id: str | None
    source: str
    row: int | None
    field: str | None
    value: object
    message: str
    #: The row names a patient_id that is not in the patients table (or none): no patient to
    #: reject, the row itself is left out.
    orphan: bool = False

    @classmethod
    def of(cls, patient_id: str | None, problem: Problem) -> Rejection:
        return cls(
            patient_id, problem.source, problem.row, problem.field, problem.value, problem.message
        )

    def as_csv(self) -> dict[str, str]:
        """The ``errors.csv`` cells (empty = none)."""
        value = "" if self.value is None else str(self.value)
        return {
            "patient_id": self.patient_id or "",
            "source": self.source,
            "row": "" if self.row is None else str(self.row),
            "field": self.field or "",
            "value": value,
            "message": self.message,
        }


@dataclass(slots=True)
class PartitionResult:
    """What a partition gives back: its results rows, its rejections and how many patients it
    held (assessed or rejected)."""

    table: pa.Table
    rejections: list[Rejection] = field(default_factory=list)
    patients: int = 0
    #: (process id, parent process id) of the process that assessed it (0, 0 when not set)
    worker: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True)
class TableRows:
    """One table of a partition: its rows, the file named in problems, and the 1-based data row
    of the original file for each row."""

    table: pa.Table
    source: str
    rows: NDArray[np.int64]

    @classmethod
    def whole(cls, table: pa.Table, source: str) -> TableRows:
        return cls(table, source, np.arange(1, table.num_rows + 1, dtype=np.int64))

    def ids(self) -> list[str | None]:
        """Each row's ``patient_id`` as the tabular reader matches it (text, stripped)."""
        if "patient_id" not in self.table.column_names:
            return [None] * self.table.num_rows
        return [None if v is None else str(v).strip() for v in self.table["patient_id"].to_pylist()]

    def keep(self, mask: NDArray[np.bool_]) -> TableRows:
        return TableRows(self.table.filter(pa.array(mask)), self.source, self.rows[mask])


# -- tabular partitions ---------------------------------------------------------------------------
@dataclass(slots=True)
class _Checked:
    courses: list[Course]
    problems: dict[str, list[Problem]]  # table name -> problems (rows relative to the partition)
    valid_ids: set[str]  # patients whose patients-table row is valid


def _check(patients: TableRows, observations: TableRows, events: TableRows | None) -> _Checked:
    """The checks of :func:`icaht.io.tabular.load_tabular` on one partition's tables, problems kept
    per table; courses only when there is no problem."""
    found: dict[str, list[Problem]] = {"patients": [], "observations": [], "events": []}
    facts = validate_patients(patients.table, patients.source, found["patients"], patients.rows)
    observed = validate_observations(
        observations.table, observations.source, facts, found["observations"]
    )
    per_patient_events = (
        validate_events(events.table, events.source, facts, found["events"])
        if events
        else [[] for _ in facts]
    )
    valid_ids = {f.patient_id for f in facts}
    if any(found.values()):
        return _Checked([], found, valid_ids)
    return _Checked(tabular_courses(facts, per_patient_events, observed), found, valid_ids)


def courses_from_tables(
    patients: TableRows, observations: TableRows, events: TableRows | None
) -> tuple[list[Course], list[Rejection]]:
    """The valid patients' courses (patients-table order) and the rejections.

    Raises :class:`InputError` only for problems of the input as a whole (a missing column).
    """
    rejections: list[Rejection] = []
    known = set(patients.ids())
    for _attempt in range(3):
        checked = _check(patients, observations, events)
        if not any(checked.problems.values()):
            return checked.courses, rejections
        parts = {"patients": patients, "observations": observations, "events": events}
        bad: set[str | None] = set()
        for name, problems in checked.problems.items():
            part = parts[name]
            if part is None:
                continue
            ids = part.ids()
            for problem in problems:
                if problem.row is None:
                    raise InputError([problem])
                position = problem.row - 1
                pid = ids[position]
                if name != "patients" and pid in known and pid not in checked.valid_ids:
                    continue  # a row of a patient whose patients row is invalid: that says why
                original = int(part.rows[position])
                rejections.append(
                    Rejection(
                        pid,
                        problem.source,
                        original,
                        problem.field,
                        problem.value,
                        problem.message,
                        orphan=pid not in known,
                    )
                )
                bad.add(pid)
        patient_ids = patients.ids()
        keep_patient = np.array([pid is not None and pid not in bad for pid in patient_ids], bool)
        good = {pid for pid, kept in zip(patient_ids, keep_patient, strict=True) if kept}
        patients = patients.keep(keep_patient)
        observations = observations.keep(np.array([p in good for p in observations.ids()], bool))
        if events is not None:
            events = events.keep(np.array([p in good for p in events.ids()], bool))
    raise AssertionError("problems remain after rejecting the patients they belong to")


# -- record partitions ----------------------------------------------------------------------------
def _raw_patient_id(path: Path) -> str | None:
    """The ``patient.patient_id`` of a record file that failed validation, when readable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pid = data["patient"]["patient_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if isinstance(pid, str) else None


def courses_from_files(files: Sequence[Path]) -> tuple[list[Course], list[Rejection]]:
    """Courses of record files; a file with problems is rejected with each of them."""
    courses: list[Course] = []
    rejections: list[Rejection] = []
    for path in files:
        try:
            courses.append(course_from_record(read_record(path), source=str(path)))
        except InputError as exc:
            pid = _raw_patient_id(path)
            rejections += [Rejection.of(pid, p) for p in exc.problems]
    return courses, rejections


def courses_from_records(
    records: Iterable[tuple[PatientRecord, str]],
) -> tuple[list[Course], list[Rejection]]:
    """Courses of (record, source) pairs; a record with problems is rejected."""
    courses: list[Course] = []
    rejections: list[Rejection] = []
    for record, source in records:
        try:
            courses.append(course_from_record(record, source=source))
        except InputError as exc:
            rejections += [Rejection.of(record.patient.patient_id, p) for p in exc.problems]
    return courses, rejections


# -- assessment -----------------------------------------------------------------------------------
def assess_courses(
    courses: Sequence[Course], as_of_day: int | None, profile: Profile
) -> tuple[list[dict[str, Any]], list[Rejection]]:
    """Results rows of the courses; a patient whose assessment fails is rejected (with the error)
    instead of stopping the run."""
    rows: list[dict[str, Any]] = []
    rejections: list[Rejection] = []
    for course in courses:
        try:
            rows.append(cohort_row(course, as_of_day, profile))
        except Exception as exc:
            pid = course.facts.patient_id
            message = f"assessment failed: {type(exc).__name__}: {exc}"
            rejections.append(Rejection(pid, "assessment", None, None, None, message))
    return rows, rejections


def rejected_patients(rejections: Iterable[Rejection]) -> set[str | None]:
    """The distinct patients named by rejections (rows of no patient not counted)."""
    return {r.patient_id for r in rejections if not r.orphan}


def assess_partition(
    courses: list[Course], rejections: list[Rejection], as_of_day: int | None, profile: Profile
) -> PartitionResult:
    """Assess valid courses: their rows and every rejection of the partition."""
    rows, failed = assess_courses(courses, as_of_day, profile)
    patients = len(courses) + len(rejected_patients(rejections))
    return PartitionResult(rows_table(rows), [*rejections, *failed], patients)
