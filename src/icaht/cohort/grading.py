"""``icaht grade``: one CSV row per patient, streamed partition by partition.

The input is cut into partitions as for a cohort run (:func:`icaht.cohort.partitions.plan`: a
tabular set, a long table (:mod:`icaht.io.long_table`), a folder of records or of FHIR NDJSON;
a FHIR Bundle file is read whole), graded in worker processes
(:func:`icaht.cohort.local.in_order`), and the rows are written as each partition comes back,
so memory is about (workers + in-flight partitions) x one partition whatever the cohort size.
The rows are :func:`icaht.report.rows.assessment_row` (grades, CTCAE, scores and the rules
fired) or, with ``grades_only``, :func:`icaht.report.rows.grades_row` (the rules are not run).

Unlike a cohort run, grading refuses an input with problems: every problem of every partition
is collected, the CSV (written as ``.partial``) is not renamed, and
:class:`icaht.errors.InputError` lists them all.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from icaht.atomic import atomic_text
from icaht.cohort.batch import Rejection
from icaht.cohort.local import in_order, profile_reference
from icaht.cohort.long_grades import fast_long_table, grade_long_table
from icaht.cohort.long_input import located, long_table_set
from icaht.cohort.partition_units import Partition
from icaht.cohort.partitions import TARGET_PARTITION_ROWS, plan
from icaht.core.assessment import assess
from icaht.core.course import Course
from icaht.core.record import Moment
from icaht.core.rule_context import RuleContext
from icaht.errors import InputError, Problem
from icaht.io.detect import is_bundle_file
from icaht.io.long_stream import NotPlain, PatientsApart
from icaht.io.long_table import LongTable, Rewritten
from icaht.knowledge.profile import Profile, load_profile
from icaht.report.rows import ResultRow, assessment_row, grades_row


def full_row(course: Course, as_of: Moment | None, profile: Profile) -> ResultRow:
    """The row of a full assessment (rules run; no episodes: a row needs none)."""
    return assessment_row(assess(course, as_of, profile, episodes=False))


def grade_only_row(course: Course, as_of: Moment | None, profile: Profile) -> ResultRow:
    """The grade columns only: the graders run, the rules do not."""
    context = RuleContext.as_of(course, as_of, profile)
    label = f"{profile.name}@{profile.version}"
    return grades_row(
        course.facts.patient_id, context.as_of_day, context.follow_up_end, label, context
    )


@dataclass(slots=True)
class Graded:
    """One partition graded: its rows, the problems that kept patients out, patients seen."""

    rows: list[ResultRow]
    problems: list[Problem] = field(default_factory=list)
    patients: int = 0


def _problem(rejection: Rejection) -> Problem:
    return Problem(
        rejection.source, rejection.message, rejection.row, rejection.field, rejection.value
    )


def _graded(
    partition: Partition,
    as_of: Moment | None,
    profile: Profile,
    row: Callable[[Course, Moment | None, Profile], ResultRow],
) -> Graded:
    courses, rejections, patients = partition.load()
    rows = [row(course, as_of, profile) for course in courses]
    return Graded(rows, [_problem(r) for r in rejections], patients)


def grade_full(partition: Partition, as_of: Moment | None, profile: Profile) -> Graded:
    """A worker's job: load a partition and give its full rows."""
    return _graded(partition, as_of, profile, full_row)


def grade_only(partition: Partition, as_of: Moment | None, profile: Profile) -> Graded:
    """A worker's job: load a partition and give its grade-only rows."""
    return _graded(partition, as_of, profile, grade_only_row)


@dataclass(frozen=True, slots=True)
class CoursesPartition:
    """Courses already read (a FHIR Bundle file, read whole)."""

    courses: tuple[Course, ...]

    def load(self) -> tuple[list[Course], list[Rejection], int]:
        return list(self.courses), [], len(self.courses)


@dataclass(frozen=True, slots=True)
class GradeSummary:
    """What a grading run wrote."""

    out: Path
    patients: int
    strategy: str
    #: A warning about the input (a long table's unit), shown before the summary.
    warning: str | None = None


@dataclass(slots=True)
class _Input:
    partitions: Iterator[Partition]
    patients: int | None
    strategy: str
    close: Callable[[], None]
    count: int | None
    rewritten: Rewritten | None = None


def _long_table_input(
    path: Path, spec: LongTable, workers: int, workroot: Path, target_rows: int
) -> _Input:
    """A long table rewritten as a tabular set in a temporary folder, then planned as one."""
    stack = ExitStack()
    try:
        rewritten = stack.enter_context(long_table_set(path, spec, workroot))
        cohort = plan(
            Path(rewritten.folder), target_rows=target_rows, workroot=workroot, workers=workers
        )
        stack.callback(cohort.close)
    except BaseException:
        stack.close()
        raise
    how = f"long table; {cohort.strategy}"
    return _Input(cohort.partitions, cohort.patients, how, stack.close, cohort.count, rewritten)


def _partitions(
    path: Path, workers: int, workroot: Path, target_rows: int, long_table: LongTable | None
) -> _Input:
    if long_table is not None:
        return _long_table_input(path, long_table, workers, workroot, target_rows)
    if path.is_file() and path.suffix.lower() == ".json" and is_bundle_file(path):
        from icaht.io.inputs import load_courses  # noqa: PLC0415 (fhir.resources: slow import)

        courses = tuple(load_courses(path))
        return _Input(iter([CoursesPartition(courses)]), len(courses), "one FHIR Bundle", _none, 1)
    cohort = plan(path, target_rows=target_rows, workroot=workroot, workers=workers)
    return _Input(cohort.partitions, cohort.patients, cohort.strategy, cohort.close, cohort.count)


def _none() -> None:
    return None


def grade(
    path: Path,
    out: Path,
    *,
    as_of: Moment | None = None,
    profile: str,
    workers: int = 1,
    grades_only: bool = False,
    target_rows: int = TARGET_PARTITION_ROWS,
    long_table: LongTable | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> GradeSummary:
    """Grade every patient of ``path`` into the CSV ``out`` (see the module doc); ``progress``
    is called with (patients done, patients expected or None) after each partition."""
    reference = profile_reference(profile)
    load_profile(reference)  # a bad profile fails before any work
    job = grade_only if grades_only else grade_full
    out.parent.mkdir(parents=True, exist_ok=True)
    if grades_only and long_table is not None and fast_long_table(long_table, as_of):
        try:
            return _long_grades(path, out, long_table, (workers, reference, as_of), progress)
        except NotPlain:
            pass  # the per-patient path reads it through the tabular reader, which judges it
    source = _partitions(path, workers, out.parent, target_rows, long_table)
    problems: list[Problem] = []
    done = 0
    try:
        with atomic_text(out, newline="") as handle:
            writer: csv.DictWriter[str] | None = None
            graded_parts = in_order(job, source.partitions, workers, reference, as_of, source.count)
            for graded in graded_parts:
                problems += [located(p, source.rewritten) for p in graded.problems]
                for row in graded.rows:
                    writer = writer or _header(handle, row)
                    writer.writerow(row)
                done += graded.patients
                if progress is not None:
                    progress(done, source.patients)
            if problems:
                raise InputError(problems)
            if writer is None:
                _header(handle, {"patient_id": None})
    finally:
        source.close()
    warning = None if source.rewritten is None else source.rewritten.warning
    return GradeSummary(out, done, source.strategy, warning)


def _long_grades(
    path: Path,
    out: Path,
    spec: LongTable,
    run: tuple[int, str, Any],
    progress: Callable[[int, int | None], None] | None,
) -> GradeSummary:
    """Grades only of a plain long table, chunk by chunk (:mod:`icaht.cohort.long_grades`), with
    ``run`` = (workers, profile reference, as-of); read again grouped by patient when a
    patient's rows are apart."""
    try:
        return _long_pass(path, out, spec, run, None, progress)
    except PatientsApart:
        with tempfile.TemporaryDirectory(prefix="icaht-long-", dir=out.parent) as folder:
            return _long_pass(path, out, spec, run, Path(folder), progress)


def _long_pass(
    path: Path,
    out: Path,
    spec: LongTable,
    run: tuple[int, str, Any],
    grouped_in: Path | None,
    progress: Callable[[int, int | None], None] | None,
) -> GradeSummary:
    workers, reference, as_of = run
    with atomic_text(out, newline="") as handle:
        done, warning = grade_long_table(
            path,
            spec,
            handle,
            workers=workers,
            profile=reference,
            as_of=as_of,
            grouped_in=grouped_in,
            progress=progress,
        )
    how = "grouped by patient, " if grouped_in is not None else ""
    return GradeSummary(out, done, f"long table; {how}chunks of whole patients, kernel", warning)


def _header(handle: Any, row: ResultRow) -> csv.DictWriter[str]:
    writer = csv.DictWriter(handle, fieldnames=list(row))
    writer.writeheader()
    return writer
