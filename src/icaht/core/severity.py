"""The severity terms the management rules share (docs/decisions.md, Severity terms; Jain et
al., Blood 2023 for the ideas, project defaults for the numbers, all profile settings):

- *persistent severe neutropenia*: every ANC in the trailing ``severity.persistent_window_days``
  <= 0.5 x10^9/L, with at least ``severity.persistent_min_values`` values;
- *G-CSF-refractory*: ANC <= 0.5 on every value after at least ``severity.refractory_gcsf_days``
  days of daily G-CSF (JAIN: "complete lack of responsiveness"), unless the ANC is rising (last
  value >= ``severity.refractory_rising_fold`` x the lowest of the trailing
  ``severity.persistent_window_days``: a trend is recent; against the lowest since infusion, any
  plateau above a nadir of 0.02 would count as rising and JAIN case 2, "never > 500 despite
  G-CSF", would never be refractory);
- *G-CSF-dependent*, platelet- and RBC-transfusion dependence: :mod:`icaht.core.dependence`;
- *severe lineage*: persistent severe neutropenia or G-CSF dependence (neutrophils), platelet
  dependence (platelets), RBC dependence (red cells), with the day it began.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from icaht.core.course import Course, Series
from icaht.core.dependence import (
    dependent_days,
    gcsf_days,
    run_start,
    transfusion_days,
    window_counts,
)
from icaht.core.outcome import Fact
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L
from icaht.knowledge.profile import Profile

SevereLineageName = Literal["neutrophils", "platelets", "red cells"]


@dataclass(frozen=True, slots=True)
class SevereLineage:
    """A lineage that meets a severity term as of a day, and since when it has without a break."""

    lineage: SevereLineageName
    term: str
    since_day: int

    def fact(self) -> Fact:
        return Fact(
            label=f"Severe lineage: {self.lineage}",
            value=f"{self.term} since day {self.since_day}",
            day=self.since_day,
        )


@dataclass(frozen=True, slots=True)
class Refractory:
    """G-CSF given daily from ``gcsf_start_day`` for ``days_on`` days with every ANC since
    <= 0.5 x10^9/L (``highest`` the highest of them)."""

    gcsf_start_day: int
    days_on: int
    highest: float


def _persistent(anc: Series, day: int, profile: Profile) -> bool:
    """Every ANC in the trailing window <= 0.5 with enough values, and the window observed: the
    unbroken run of low values began on or before the window's first day (values before infusion
    count; with the first value inside the window, the 14 days were not seen)."""
    s = profile.severity
    first = day - s.persistent_window_days + 1
    known = anc.before(float(day + 1))
    window = known.between(float(first), float(day + 1))
    if len(window) < s.persistent_min_values or not bool(
        np.all(window.value <= ANC_SEVERE_10E9_PER_L)
    ):
        return False
    above = np.flatnonzero(known.value > ANC_SEVERE_10E9_PER_L)
    run_start = float(known.day[above[-1] + 1] if len(above) else known.day[0])
    return run_start < first + 1


def persistent_severe_neutropenia(course: Course, as_of_day: int, profile: Profile) -> bool:
    """Every ANC in the trailing window <= 0.5 x10^9/L, with enough values."""
    return _persistent(course.series(Analyte.ANC), as_of_day, profile)


def _current_run(days: list[int], as_of_day: int) -> int | None:
    """First day of the unbroken run of exposure days that reaches the as-of day."""
    exposed = set(days)
    if as_of_day not in exposed:
        return None
    start = as_of_day
    while start - 1 in exposed:
        start -= 1
    return start


def _rising(anc: Series, day: int, profile: Profile) -> bool:
    """The last ANC known on ``day`` is at least ``refractory_rising_fold`` x the lowest of the
    trailing window: a recent upward trend."""
    s = profile.severity
    trailing = anc.between(float(day - s.persistent_window_days + 1), float(day + 1))
    if not len(trailing):
        return False
    lowest = float(trailing.value.min())
    return lowest > 0 and float(trailing.value[-1]) >= s.refractory_rising_fold * lowest


def gcsf_refractory(course: Course, as_of_day: int, profile: Profile) -> Refractory | None:
    """The current daily G-CSF run if it is refractory, else None: every ANC since the run began
    <= 0.5 and, on some day from its ``refractory_gcsf_days``-th on, no rising trend. Once met it
    holds for the rest of the run while every value stays <= 0.5 (an oscillation within the
    severe range is no response)."""
    s = profile.severity
    start = _current_run(gcsf_days(course, as_of_day), as_of_day)
    if start is None or as_of_day - start + 1 < s.refractory_gcsf_days:
        return None
    anc = course.series(Analyte.ANC)
    on = anc.between(float(start), float(as_of_day + 1))
    first = start + s.refractory_gcsf_days - 1
    after = anc.between(float(first), float(as_of_day + 1))
    if not len(after) or bool(np.any(on.value > ANC_SEVERE_10E9_PER_L)):
        return None
    known = anc.before(float(as_of_day + 1))
    if all(_rising(known, day, profile) for day in range(first, as_of_day + 1)):
        return None
    return Refractory(start, as_of_day - start + 1, float(on.value.max()))


def _persistent_days(anc: Series, lo: int, hi: int, profile: Profile) -> NDArray[np.bool_]:
    """:func:`_persistent` for every calendar day ``lo..hi`` at once."""
    s = profile.severity
    window = s.persistent_window_days
    days = np.floor(anc.day).astype(np.int64)
    high = anc.value > ANC_SEVERE_10E9_PER_L
    enough = window_counts(days, lo, hi, window) >= s.persistent_min_values
    none_high = window_counts(days[high], lo, hi, window) == 0
    grid = np.arange(lo, hi + 1)
    if not len(anc):
        return np.zeros(grid.shape, dtype=np.bool_)
    known = anc.day.searchsorted(grid + 1.0, side="left")  # values before the end of each day
    high_index = np.flatnonzero(high)
    run_start = np.zeros(grid.shape, dtype=np.int64)
    if len(high_index):
        last_high = high_index.searchsorted(known, side="left") - 1
        run_start = np.where(last_high >= 0, high_index[np.maximum(last_high, 0)] + 1, 0)
    run_day = anc.day[np.minimum(run_start, len(anc) - 1)]
    observed: NDArray[np.bool_] = run_day < grid - window + 2
    flags: NDArray[np.bool_] = enough & none_high & observed
    return flags


def severe_lineages(course: Course, as_of_day: int, profile: Profile) -> tuple[SevereLineage, ...]:
    """The lineages that are severe as of the day, in the order neutrophils, platelets, red
    cells, each with the day the term began to hold (at the earliest day 0). Each term is
    computed for every day up to the as-of day at once (numpy), then read backwards."""
    s, t, g = profile.severity, profile.transfusion, profile.gcsf
    lo = min(0, as_of_day)
    anc = course.series(Analyte.ANC).before(float(as_of_day + 1))
    out: list[SevereLineage] = []
    persistent = _persistent_days(anc, lo, as_of_day, profile)
    exposed = np.asarray(gcsf_days(course, as_of_day), dtype=np.int64)
    low = np.floor(anc.day[anc.value <= ANC_SEVERE_10E9_PER_L]).astype(np.int64)
    window = g.dependence_window_days
    gcsf_dependent = (window_counts(exposed, lo, as_of_day, window) >= s.gcsf_dependent_days) & (
        window_counts(low, lo, as_of_day, window) > 0
    )
    if persistent[-1]:
        out.append(
            SevereLineage("neutrophils", "persistent severe neutropenia", run_start(persistent, lo))
        )
    elif gcsf_dependent[-1]:
        out.append(SevereLineage("neutrophils", "G-CSF-dependent", run_start(gcsf_dependent, lo)))
    products: tuple[tuple[str, SevereLineageName, int, str], ...] = (
        (
            "platelets",
            "platelets",
            t.platelet_dependence_window_days,
            "platelet-transfusion dependent",
        ),
        ("rbc", "red cells", t.rbc_dependence_window_days, "RBC-transfusion dependent"),
    )
    for product, lineage, days, term in products:
        given = np.asarray(transfusion_days(course, product), dtype=np.int64)
        first = min(lo, int(given[0])) if len(given) else lo
        dependent = dependent_days(given, first, as_of_day, days, t.dependence_min_transfusions)
        if dependent[-1]:
            out.append(SevereLineage(lineage, term, max(lo, run_start(dependent, first))))
    return tuple(out)
