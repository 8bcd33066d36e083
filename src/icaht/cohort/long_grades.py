"""``icaht grade --grades-only`` of a long table at the speed of the kernel (issue 20).

The long table is read in bounded chunks of whole patients (:func:`icaht.io.long_stream.
long_chunks`), each chunk is graded as one :class:`~icaht.core.kernel.Batch` in a worker
process (:func:`icaht.cohort.local.in_order`: children waited for, at most 2 x workers chunks in
flight) and its rows are written as CSV text as they come back, so memory is flat in the
cohort size. The rows are those of :func:`icaht.report.rows.grades_row` for a course of one
analyte (the per-patient path): follow-up ends at the earliest of
progression, next therapy, last follow-up and the as-of day (:func:`icaht.core.timeline.
follow_up_end`), early and late ICAHT come from the kernel, the recovery phenotype from
:func:`icaht.core.recovery_batch.phenotype_codes`, and T-ICAHT and the platelet recovery day
are empty (an ANC table has no platelets).

As of a day or a date, each patient's values and events from the next day on are dropped
first (:meth:`icaht.core.course.Course.until`). A table that is not plain
(:class:`~icaht.io.long_stream.NotPlain`), another analyte than ANC, or an as-of moment within a
day are graded by the per-patient path instead (:mod:`icaht.cohort.grading`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

import numpy as np

from icaht.cohort.local import in_order
from icaht.core.daily import FloatArray, IntArray
from icaht.core.grading_scheme import icaht_scheme
from icaht.core.kernel import Batch, WindowGrades, grade_windows
from icaht.core.recovery_batch import PHENOTYPES, phenotype_codes
from icaht.io.long_stream import LongChunk, long_chunks
from icaht.io.long_table import LongTable, largest_value_warning
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.profile import Profile

#: Follow-up end candidates in the order :func:`icaht.core.timeline.follow_up_end` breaks ties
#: (events before the as-of day), with the long-table column of each event.
_ENDS = (
    ("progression_date", "progression"),
    ("subsequent_therapy_date", "next therapy"),
    ("last_fu_date", "last follow-up"),
)
_AS_OF = "as-of"
_WINDOWS = ("early_icaht", "late_icaht", "early_ticaht", "late_ticaht")


def columns() -> list[str]:
    """The header of :func:`icaht.report.rows.grades_row`."""
    head = ["patient_id", "as_of_day", "follow_up_end_day", "follow_up_end_reason", "profile"]
    for name in _WINDOWS:
        head += [name, f"{name}_provisional", f"{name}_lower_bound"]
    return [*head, "phenotype", "platelet_recovery_day"]


def as_of_cuts(chunk: LongChunk, as_of: float | date | None) -> FloatArray | None:
    """Per patient, the exclusive bound of what is known as of ``as_of``
    (:func:`icaht.core.timeline.as_of_cut`: the end of that calendar day); None = latest data."""
    if as_of is None:
        return None
    if isinstance(as_of, date):
        return np.datetime64(as_of, "D").astype(np.int64) - chunk.cart + 1.0
    return np.full(len(chunk.ids), float(math.floor(as_of) + 1))


def known_before(chunk: LongChunk, cut: FloatArray) -> LongChunk:
    """The chunk as known before each patient's ``cut`` (:meth:`icaht.core.course.Course.until`:
    later values and events dropped)."""
    n = len(chunk.ids)
    pid = np.repeat(np.arange(n), np.diff(chunk.offsets))
    keep = chunk.days < cut[pid]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pid[keep], minlength=n), out=offsets[1:])
    events = {name: np.where(day < cut, day, np.nan) for name, day in chunk.events.items()}
    return replace(
        chunk, days=chunk.days[keep], values=chunk.values[keep], offsets=offsets, events=events
    )


def follow_up_ends(
    chunk: LongChunk, cut: FloatArray | None
) -> tuple[IntArray, FloatArray, IntArray]:
    """Per patient: the as-of day (the day before ``cut``, else the latest day with data), the
    end of follow-up and the index of its reason in ``_ENDS`` + as-of
    (:func:`icaht.core.timeline.follow_up_end`: candidates on or after day 0 when there are any,
    the earliest, ties to the event)."""
    n = len(chunk.ids)
    events = [chunk.events.get(column, np.full(n, np.nan)) for column, _ in _ENDS]
    if cut is None:
        last = np.fmax.reduce([np.maximum.reduceat(chunk.days, chunk.offsets[:-1]), *events])
    else:
        last = cut - 1e-9
    as_of_day = np.floor(last)
    candidates = np.stack([*events, as_of_day], axis=1)
    positive = candidates >= 0
    usable = np.where(positive.any(axis=1, keepdims=True), positive, ~np.isnan(candidates))
    reason = np.argmin(np.where(usable, candidates, np.inf), axis=1)
    end = candidates[np.arange(n), reason]
    return as_of_day.astype(np.int64), end, reason


def _grade(window: WindowGrades) -> list[Any]:
    return [None if g < 0 else g for g in window.grade.tolist()]


def grade_chunk(chunk: LongChunk, as_of: float | date | None, profile: Profile) -> tuple[str, int]:
    """A worker's job: one chunk graded as of ``as_of`` (a day, a date, None = latest data), as
    CSV rows (no header), and its number of patients."""
    n = len(chunk.ids)
    cut = as_of_cuts(chunk, as_of)
    if cut is not None:
        chunk = known_before(chunk, cut)
    as_of_day, end, reason = follow_up_ends(chunk, cut)
    batch = Batch(chunk.days, chunk.values, chunk.offsets, end, reason == len(_ENDS))
    early, late = grade_windows(icaht_scheme(profile.icaht), batch)
    phenotype = phenotype_codes(
        early.daily, end, profile.recovery, profile.icaht.interpolation_max_gap_days
    )
    reasons = np.array([r for _, r in _ENDS] + [_AS_OF], dtype=object)
    empty: list[Any] = [None] * n
    false = [False] * n
    cols: list[list[Any]] = [
        chunk.ids,
        as_of_day.tolist(),
        end.astype(np.int64).tolist(),
        reasons[reason].tolist(),
        [f"{profile.name}@{profile.version}"] * n,
    ]
    for window in (early, late):
        cols += [_grade(window), window.provisional.tolist(), window.lower_bound.tolist()]
    cols += [empty, false, false] * 2  # T-ICAHT: no platelets
    cols += [np.array(PHENOTYPES, dtype=object)[phenotype].tolist(), empty]
    text = io.StringIO()
    csv.writer(text).writerows(zip(*cols, strict=True))
    return text.getvalue(), n


def fast_long_table(spec: LongTable, as_of: object) -> bool:
    """Whether a long table is graded here (ANC, as of the latest data, a day or a date) rather
    than per patient (another analyte, or a moment within a day)."""
    return spec.analyte == Analyte.ANC.value and (
        as_of is None
        or (isinstance(as_of, date) and not isinstance(as_of, datetime))
        or (isinstance(as_of, int | float) and not isinstance(as_of, bool) and math.isfinite(as_of))
    )


@dataclass(slots=True)
class _Largest:
    """The largest value seen in the chunks read so far (for the unit warning)."""

    value: float | None = None

    def watch(self, chunks: Iterator[LongChunk]) -> Iterator[LongChunk]:
        for chunk in chunks:
            self.value = chunk.largest if self.value is None else max(self.value, chunk.largest)
            yield chunk


def grade_long_table(
    path: Path,
    spec: LongTable,
    handle: IO[str],
    *,
    workers: int,
    profile: str,
    as_of: float | date | None = None,
    grouped_in: Path | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> tuple[int, str | None]:
    """Write the grade rows of the plain long table at ``path`` as of ``as_of`` to ``handle``
    (header first); (patients, unit warning). ``grouped_in``: see
    :func:`~icaht.io.long_stream.long_chunks`.
    Raises :class:`~icaht.io.long_stream.NotPlain` (the caller then discards what was written)
    or :class:`~icaht.errors.InputError` for the columns."""
    largest = _Largest()
    chunks = largest.watch(long_chunks(path, spec, grouped_in=grouped_in))
    first = list(islice(chunks, 2))
    count = len(first) if len(first) < 2 else None  # one chunk: graded in this process
    done = 0
    for text, patients in in_order(
        grade_chunk, chain(first, chunks), workers, profile, as_of, count
    ):
        if not done:
            handle.write(",".join(columns()) + "\r\n")
        handle.write(text)
        done += patients
        if progress is not None:
            progress(done, None)
    if not done:
        handle.write("patient_id\r\n")  # as the per-patient path writes an empty result
    return done, largest_value_warning(largest.value, spec)
