"""The canonical, columnar form of one patient's record: what the graders read.

Every time is a float day relative to infusion (calendar day = floor). Laboratory values are per
analyte numpy arrays in canonical units, sorted by time, so grading never touches per-observation
Python objects. ``Course.until(cut)`` gives the record as known before ``cut`` (no look-ahead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from icaht.core.patient_facts import PatientFacts
from icaht.core.patient_record import PatientRecord
from icaht.core.record import Event, Moment
from icaht.core.units import (
    ANALYTE_ORDER,
    NormalisedObservations,
    RowProblem,
    normalise_observations,
)
from icaht.errors import InputError, Problem
from icaht.knowledge.analytes import Analyte

_EMPTY = np.zeros(0, dtype=np.float64)
E = TypeVar("E")


def to_day(moment: Moment, infusion: date | None) -> float:
    """Day relative to infusion for a moment; dates need the infusion date (raises ValueError)."""
    if not isinstance(moment, date):
        return float(moment)
    if infusion is None:
        raise ValueError("a date is given but the patient has no infusion_date to count days from")
    if isinstance(moment, datetime):
        seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
        return float((moment.date() - infusion).days) + seconds / 86400.0
    return float((moment - infusion).days)


def day_of(moment: Moment | None) -> float:
    """The day of a canonical (already converted) moment."""
    if not isinstance(moment, float):
        raise TypeError(f"expected a canonical day, got {moment!r}")
    return moment


@dataclass(frozen=True, slots=True)
class Series:
    """One analyte's values in canonical units, sorted by day; NaN limits where unknown.

    ``unit_code`` is the unit each value was reported in (its index in
    ``ANALYTES[analyte].units``, -1 unknown; None = not kept): an int8 column beside the values,
    so graders that band by the reported unit (CTCAE anemia in mmol/L) stay columnar.
    """

    day: NDArray[np.float64]
    value: NDArray[np.float64]
    lln: NDArray[np.float64]
    uln: NDArray[np.float64]
    unit_code: NDArray[np.int8] | None = None

    @classmethod
    def empty(cls) -> Series:
        return cls(_EMPTY, _EMPTY, _EMPTY, _EMPTY)

    def __len__(self) -> int:
        return int(self.day.shape[0])

    def _slice(self, start: int, stop: int) -> Series:
        unit_code = None if self.unit_code is None else self.unit_code[start:stop]
        return Series(
            self.day[start:stop],
            self.value[start:stop],
            self.lln[start:stop],
            self.uln[start:stop],
            unit_code,
        )

    def before(self, cut: float) -> Series:
        """Values strictly before ``cut`` (the series itself when nothing is cut)."""
        stop = int(self.day.searchsorted(cut, side="left"))
        return self if stop == self.day.shape[0] else self._slice(0, stop)

    def between(self, start: float, stop: float) -> Series:
        """Values with start <= day < stop."""
        lo = int(self.day.searchsorted(start, side="left"))
        hi = int(self.day.searchsorted(stop, side="left"))
        return self._slice(lo, hi)


@dataclass(frozen=True, slots=True)
class Course:
    """A patient's facts, labs (columnar) and events with canonical days, sorted by time."""

    facts: PatientFacts
    labs: Mapping[Analyte, Series]
    events: tuple[Event, ...]
    ld_start_day: float | None = None
    cut: float = field(default=float("inf"))
    _by_kind: dict[type, list[object]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def series(self, analyte: Analyte) -> Series:
        """The analyte's series (empty if never measured)."""
        return self.labs.get(analyte) or Series.empty()

    def of_kind(self, kind: type[E]) -> list[E]:
        """Events of one model class, in time order (indexed by class on first use)."""
        found = self._by_kind.get(kind)
        if found is None:
            found = self._by_kind[kind] = [e for e in self.events if isinstance(e, kind)]
        return list(cast("list[E]", found))

    def last_data_day(self) -> float | None:
        """Day of the latest observation or event start, or None for an empty course."""
        days = [float(s.day[-1]) for s in self.labs.values() if len(s)]
        days += [day_of(e.start) for e in self.events]
        return max(days) if days else None

    def until(self, cut: float) -> Course:
        """The course as known before ``cut``: later values dropped, spans still open end None."""
        if cut >= self.cut:
            return self  # already known only before an earlier (or the same) cut
        labs = {a: s.before(cut) for a, s in self.labs.items()}
        events: list[Event] = []
        for event in self.events:
            if day_of(event.start) >= cut:
                continue
            end = _end_of(event)
            still_open = end is not None and day_of(end) >= cut
            events.append(event.model_copy(update={"end": None}) if still_open else event)
        return Course(self.facts, labs, tuple(events), self.ld_start_day, min(cut, self.cut))


def _end_of(event: Event) -> Moment | None:
    """The end of a span event; None when open or for point events. A field lookup: ``getattr``
    with a default is slow on models without the field (pydantic's ``__getattr__`` raises)."""
    end: Moment | None = event.__dict__.get("end")
    return end


def event_in_days(event: Event, infusion: date | None) -> Event:
    """The event with its times as days; ValueError for a date without an infusion date, or an
    end before the start."""
    start = to_day(event.start, infusion)
    update: dict[str, float] = {"start": start}
    end = _end_of(event)
    if end is not None:
        update["end"] = to_day(end, infusion)
        if update["end"] < start:
            raise ValueError("ends before it starts")
    if type(event.start) is float and (end is None or type(end) is float):
        return event  # already in days: the copy would be equal (same values, same fields set)
    return event.model_copy(update=update)


def canonical_events(
    events: Sequence[Event], infusion: date | None, source: str
) -> tuple[tuple[Event, ...], list[Problem]]:
    """Events with every time converted to a day, sorted; problems for unconvertible times."""
    out: list[Event] = []
    problems: list[Problem] = []
    for i, event in enumerate(events):
        try:
            out.append(event_in_days(event, infusion))
        except ValueError as exc:
            problems.append(Problem(source, str(exc), field=f"events[{i}]"))
    out.sort(key=lambda e: day_of(e.start))
    return tuple(out), problems


def build_labs(
    codes: NDArray[np.int8],
    day: NDArray[np.float64],
    value: NDArray[np.float64],
    lln: NDArray[np.float64],
    uln: NDArray[np.float64],
    unit_code: NDArray[np.int8] | None = None,
) -> dict[Analyte, Series]:
    """Group normalised observation columns into per-analyte series sorted by day."""
    order = np.lexsort((day, codes))
    units = None if unit_code is None else unit_code[order]
    return split_sorted_labs(codes[order], day[order], value[order], lln[order], uln[order], units)


def split_sorted_labs(
    codes: NDArray[np.int8],
    day: NDArray[np.float64],
    value: NDArray[np.float64],
    lln: NDArray[np.float64],
    uln: NDArray[np.float64],
    unit_code: NDArray[np.int8] | None = None,
) -> dict[Analyte, Series]:
    """Per-analyte series from columns already sorted by (analyte code, day); slices are views."""
    n = codes.shape[0]
    if n == 0:
        return {}
    edges = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist(), n]
    return {
        ANALYTE_ORDER[code]: Series(
            day[a:b], value[a:b], lln[a:b], uln[a:b], None if unit_code is None else unit_code[a:b]
        )
        for code, a, b in zip(codes[edges[:-1]].tolist(), edges[:-1], edges[1:], strict=True)
    }


def normalise_rows(
    keys: Sequence[tuple[str | None, str | None]],
    units: Sequence[str],
    value: NDArray[np.float64],
    lln: NDArray[np.float64],
    uln: NDArray[np.float64],
) -> NormalisedObservations:
    """Observation rows normalised column-wise: each row's (analyte name, LOINC) pair and unit
    are dictionary-encoded, so each distinct pair and unit is resolved once."""
    pairs: dict[tuple[str | None, str | None], int] = {}
    codes: dict[str, int] = {}
    a_idx = np.fromiter((pairs.setdefault(k, len(pairs)) for k in keys), np.int64, len(keys))
    u_idx = np.fromiter((codes.setdefault(u, len(codes)) for u in units), np.int64, len(units))
    return normalise_observations(
        [name for name, _ in pairs],
        [code for _, code in pairs],
        a_idx,
        list(codes),
        u_idx,
        value,
        lln,
        uln,
    )


def normalised_labs(
    normalised: NormalisedObservations, day: NDArray[np.float64]
) -> dict[Analyte, Series]:
    """The per-analyte series of normalised observation rows taken on ``day``."""
    return build_labs(
        normalised.analyte_code,
        day,
        normalised.value,
        normalised.lln,
        normalised.uln,
        normalised.unit_code,
    )


def _row_problems(source: str, problems: list[RowProblem], path: str) -> list[Problem]:
    return [
        Problem(source, p.message, field=f"{path}[{p.row}].{p.field}", value=p.value)
        for p in problems
    ]


def course_from_record(record: PatientRecord, source: str = "record") -> Course:
    """Validate units and times of a record and return its canonical course.

    Raises :class:`InputError` listing every problem (unknown analyte or unit, implausible value,
    a date without an infusion date) with the JSON path of each.
    """
    facts = record.patient
    infusion = facts.infusion_date
    problems: list[Problem] = []
    obs = record.observations
    nan = float("nan")
    normalised = normalise_rows(
        [(o.analyte, o.loinc) for o in obs],
        [o.unit for o in obs],
        np.fromiter((o.value for o in obs), np.float64, len(obs)),
        np.fromiter((nan if o.lln is None else o.lln for o in obs), np.float64, len(obs)),
        np.fromiter((nan if o.uln is None else o.uln for o in obs), np.float64, len(obs)),
    )
    problems += _row_problems(source, normalised.problems, "observations")
    days = np.zeros(len(obs))
    for i, o in enumerate(obs):
        try:
            days[i] = to_day(o.time, infusion)
        except ValueError as exc:
            problems.append(Problem(source, str(exc), field=f"observations[{i}].time"))
    events, event_problems = canonical_events(record.events, infusion, source)
    problems += event_problems
    ld_start: float | None = None
    if facts.ld_start is not None:
        try:
            ld_start = to_day(facts.ld_start, infusion)
        except ValueError as exc:
            problems.append(Problem(source, str(exc), field="patient.ld_start"))
    if problems:
        raise InputError(problems)
    return Course(facts, normalised_labs(normalised, days), events, ld_start)
