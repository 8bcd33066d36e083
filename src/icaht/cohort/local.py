"""The local cohort engine: partitions assessed in parallel worker processes on one machine.

The main process plans the partitions (:mod:`icaht.cohort.partitions`), hands them to a pool of
``workers`` child processes (:func:`in_order`; each loads its partition, validates it, assesses
every valid patient with :func:`icaht.cohort.results.cohort_row` and returns the rows and
rejections), and writes results in partition order as they come back. At most ``2 x workers``
partitions are in flight, so memory is bounded by the partition size, not the cohort size.
``results.parquet`` and ``errors.csv`` are written as ``.partial`` files and renamed only when
the run completes.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from icaht.atomic import atomic_text
from icaht.cohort.batch import (
    ERROR_COLUMNS,
    PartitionResult,
    Rejection,
    assess_partition,
    rejected_patients,
)
from icaht.cohort.long_input import located, long_table_set
from icaht.cohort.partition_units import Partition, Plan
from icaht.cohort.partitions import TARGET_PARTITION_ROWS, plan
from icaht.cohort.results import ResultsWriter
from icaht.io.long_table import LongTable
from icaht.knowledge.profile import DEFAULT_PROFILE, Profile, load_profile

ERRORS_FILE = "errors.csv"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a cohort run did."""

    out: Path
    errors_path: Path
    engine: str
    strategy: str
    patients: int
    assessed: int
    rejected: int
    orphan_rows: int
    problems: int
    seconds: float
    #: A warning about the input (a long table's unit), shown before the summary.
    warning: str | None = None
    #: (process id, parent process id) of each process that assessed partitions, in the order
    #: first seen: this process alone, or worker processes started (and waited for) by it
    workers: tuple[tuple[int, int], ...] = ()

    @property
    def complete(self) -> bool:
        """Every patient assessed and no row left out."""
        return self.problems == 0


def errors_path_for(out: Path) -> Path:
    """``errors.csv`` next to the results file."""
    return out.with_name(ERRORS_FILE)


class ErrorsWriter:
    """``errors.csv`` (header always, one line per rejection), written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: AbstractContextManager[IO[str]] | None = None
        self._writer: csv.DictWriter[str] | None = None

    def __enter__(self) -> ErrorsWriter:
        self._file = atomic_text(self.path, newline="")
        self._writer = csv.DictWriter(self._file.__enter__(), fieldnames=list(ERROR_COLUMNS))
        self._writer.writeheader()
        return self

    def write(self, rejections: list[Rejection]) -> None:
        if self._writer is None:
            raise RuntimeError("ErrorsWriter used outside its context")
        self._writer.writerows(r.as_csv() for r in rejections)
        self.count += len(rejections)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        file, self._file, self._writer = self._file, None, None
        if file is not None:
            file.__exit__(kind, exc, tb)


def profile_reference(profile: str) -> str:
    """A profile name, or a profile file as an absolute path (workers may run elsewhere)."""
    path = Path(profile)
    return str(path.resolve()) if path.is_file() else profile


# -- workers --------------------------------------------------------------------------------------
T = TypeVar("T")
#: A unit of work (a :class:`Partition`, or a chunk of a long table for grades only).
W = TypeVar("W")
#: What a worker does with one partition: (partition, as-of as the job takes it, profile) -> its
#: result. A module-level function, so that it reaches worker processes by name.
Job = Callable[[W, Any, Profile], T]

_WORKER_PROFILE: Profile | None = None
_WORKER_AS_OF: object = None


def _init_worker(profile: str, as_of: object) -> None:
    global _WORKER_PROFILE, _WORKER_AS_OF  # noqa: PLW0603 - per-process worker state
    _WORKER_PROFILE = load_profile(profile)
    _WORKER_AS_OF = as_of


def run_partition(partition: Partition, as_of_day: int | None, profile: Profile) -> PartitionResult:
    """Load, validate and assess one partition (the cohort's results rows)."""
    courses, rejections, patients = partition.load()
    result = assess_partition(courses, rejections, as_of_day, profile)
    result.patients = patients
    result.worker = (os.getpid(), os.getppid())
    return result


def _work(job: Job[W, T], partition: W) -> T:
    if _WORKER_PROFILE is None:
        raise RuntimeError("worker not initialised")
    return job(partition, _WORKER_AS_OF, _WORKER_PROFILE)


def in_order(
    job: Job[W, T],
    partitions: Iterator[W],
    workers: int,
    profile: str,
    as_of: object,
    count: int | None = None,
) -> Iterator[T]:
    """``job`` over every partition, results in partition order, at most ``2 x workers``
    partitions in flight (memory bounded by the partition size, not the cohort size).

    Workers are processes started here with ``spawn`` (no fork of this possibly threaded
    process) and waited for when the work ends, so their CPU time and memory are this command's
    (``time`` sees them). One worker, or one partition (``count``), runs in this process.
    """
    workers = min(workers, count) if count is not None else workers
    if workers <= 1:
        chosen = load_profile(profile)
        for partition in partitions:
            yield job(partition, as_of, chosen)
        return
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, initializer=_init_worker, initargs=(profile, as_of))
    try:
        pending: deque[AsyncResult[T]] = deque()
        for partition in partitions:
            pending.append(pool.apply_async(_work, (job, partition)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def _deduplicate(
    result: PartitionResult, seen: set[str], source: str
) -> tuple[pa.Table, list[Rejection]]:
    """Record inputs: a patient_id already written in an earlier partition is rejected."""
    duplicate: list[bool] = []
    extra: list[Rejection] = []
    for pid in result.table["patient_id"].to_pylist():
        duplicate.append(pid in seen)
        if pid in seen:
            message = "duplicate patient_id (kept the first)"
            extra.append(Rejection(pid, source, None, "patient_id", pid, message))
        seen.add(pid)
    if not extra:
        return result.table, []
    return result.table.filter(pc.invert(pa.array(duplicate))), extra


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=True,
        disable=console is None,
        refresh_per_second=4,
    )


def run_local(
    input_path: Path,
    out: Path,
    *,
    as_of_day: int | None = None,
    profile: str = DEFAULT_PROFILE,
    workers: int | None = None,
    target_rows: int = TARGET_PARTITION_ROWS,
    console: Console | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    long_table: LongTable | None = None,
) -> RunSummary:
    """Assess every patient of ``input_path`` into ``out`` (Parquet) and ``errors.csv``.

    ``workers`` defaults to the machine's CPU count; 1 runs in this process. ``console`` shows
    progress bars (stderr) when given. ``long_table``: ``input_path`` is a long table read so
    (:mod:`icaht.cohort.long_input`; its problems name its own rows and columns). Raises
    :class:`icaht.errors.InputError` for problems of the input as a whole (nothing is written
    then); problems of single patients are rejections.
    """
    started = time.perf_counter()
    workers = workers if workers is not None else os.cpu_count() or 1
    profile = profile_reference(profile)
    load_profile(profile)  # a bad profile fails before any work
    out.parent.mkdir(parents=True, exist_ok=True)
    errors_path = errors_path_for(out)
    rejected: set[str | None] = set()
    orphans = patients = 0
    seen_workers: dict[tuple[int, int], None] = {}
    with _progress(console) as bar, ExitStack() as stack:
        scatter_task = bar.add_task("partitioning (rows)", total=None, visible=False)

        def scattered(rows: int) -> None:
            bar.update(scatter_task, advance=rows, visible=True)

        source, rewritten = input_path, None
        if long_table is not None:
            rewritten = stack.enter_context(long_table_set(input_path, long_table, out.parent))
            source = Path(rewritten.folder)
        cohort = plan(
            source,
            target_rows=target_rows,
            workroot=out.parent,
            progress=scattered,
            workers=workers,
        )
        stack.callback(cohort.close)
        bar.update(scatter_task, visible=False)
        if on_plan is not None:
            on_plan(cohort)
        seen: set[str] = set()
        task = bar.add_task("assessing (patients)", total=cohort.patients)
        with ResultsWriter(out) as results, ErrorsWriter(errors_path) as errors:
            results_in_order = in_order(
                run_partition, cohort.partitions, workers, profile, as_of_day, cohort.count
            )
            for result in results_in_order:
                table, duplicates = result.table, list[Rejection]()
                if cohort.kind == "records":
                    table, duplicates = _deduplicate(result, seen, str(input_path))
                results.write(table)
                errors.write([located(r, rewritten) for r in [*result.rejections, *duplicates]])
                rejected |= rejected_patients([*result.rejections, *duplicates])
                orphans += sum(1 for r in result.rejections if r.orphan)
                patients += result.patients
                seen_workers.setdefault(result.worker)
                bar.update(task, advance=result.patients)
            assessed, problems = results.rows, errors.count
    strategy = cohort.strategy if rewritten is None else f"long table; {cohort.strategy}"
    return RunSummary(
        out=out,
        errors_path=errors_path,
        engine=_engine(tuple(seen_workers)),
        strategy=strategy,
        patients=patients,
        assessed=assessed,
        rejected=len(rejected),
        orphan_rows=orphans,
        problems=problems,
        seconds=time.perf_counter() - started,
        warning=None if rewritten is None else rewritten.warning,
        workers=tuple(seen_workers),
    )


def _engine(workers: tuple[tuple[int, int], ...]) -> str:
    """How the run was done: in this process, or by how many worker processes."""
    if all(pid == os.getpid() for pid, _ in workers):
        return "local (in this process)"
    return f"local ({len(workers)} worker process{'es' if len(workers) != 1 else ''})"
