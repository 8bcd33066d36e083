"""CTCAE v5.0 laboratory grading of cytopenias (and related lab terms).

The bands are data in :mod:`icaht.knowledge.ctcae_criteria` (citation ``CTCAE``). The policy for
boundaries and the LLN (``docs/decisions.md``, Grading):

* Each boundary value belongs to the milder grade: ANC 1.0 x10^9/L is grade 2, 0.5 is grade 3;
  platelets 75 is grade 1, 50 grade 2, 25 grade 3.
* Grade 1 needs ``value < LLN``. Without an LLN a value at or above the grade-1 floor is
  "grade 0-1" (:data:`NOT_ASSESSABLE_0_1`), never silently grade 0.
* Grades 2-4 are absolute and ignore the LLN. A lab LLN below the grade-1 floor does not stop a
  value under the floor from being grade 2 (ANC LLN 1.4, value 1.45 -> grade 2), as the PharmaForest
  ``ctcae5_grader`` macro does; the result carries a note saying so.
* Anemia: lab-only grades stop at 3 (Hb < 8.0 g/dL); grade 4 is clinical only.

* CTCAE in the reported unit (docs/decisions.md, Grading): CTCAE writes the anemia bands in
  g/dL, g/L and mmol/L, and a value reported in mmol/L is graded on the mmol/L bands (< 6.2,
  < 4.9), not converted first (4.9 mmol/L is grade 2, although 4.9 / 0.6206 = 7.9 g/dL is below
  8.0). Values stay canonical; the caller says which unit each was reported in (``unit`` /
  ``unit_code``, the index of the unit in ``ANALYTES[analyte].units``, as kept per value by
  :class:`icaht.core.course.Series`). The unit's own floors are converted with the very factor the
  value was converted with, so a value on a boundary in its unit stays exactly on it.
* Anemia grade 3 also reads "transfusion indicated": an RBC transfusion within
  ``ANEMIA_TRANSFUSION_WITHIN_DAYS`` (2) days of a value lifts its lab grade 2 to 3, and the note
  says so (docs/decisions.md, Grading). The caller finds the transfusion (``transfused_day``
  / ``transfused``).

Two entry points with the same rules: :func:`grade_value` for one value (a result model with a
label and an explanatory note) and :func:`grade_array` for whole series (vectorised, int8 codes).
Values must be in the canonical unit of the term (counts 10^9/L, Hb g/dL, fibrinogen and
triglycerides mg/dL); the caller normalises units before calling.
"""

from __future__ import annotations

import functools
import math
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel

from icaht.core.frozen import FROZEN_CLOSED
from icaht.core.units import normalise_unit_spelling
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.ctcae_criteria import (
    ANEMIA_TRANSFUSION_WITHIN_DAYS,
    CTCAE_CRITERIA,
    CtcaeCriterion,
    Direction,
)

NOT_ASSESSABLE_0_1: Final = -1
"""Array code: grade 0 or 1, not assessable because no LLN was given."""


UNGRADED: Final = -2
"""Array code: no grade at all (the value is missing, or the term needs an LLN that is missing)."""

_UNGRADED_NOTE_NO_VALUE = "no value"


class CtcaeTerm(StrEnum):
    """The CTCAE v5.0 lab terms icaht grades (values are keys of ``CTCAE_CRITERIA``)."""

    NEUTROPHILS = "neutrophils"
    PLATELETS = "platelets"
    WBC = "wbc"
    LYMPHOCYTES = "lymphocytes"
    CD4 = "cd4"
    ANEMIA = "anemia"
    FIBRINOGEN = "fibrinogen"
    TRIGLYCERIDES = "triglycerides"


class CtcaeGrade(BaseModel):
    """The CTCAE grade of one lab value.

    ``grade`` is 0-4 when certain and ``None`` otherwise (``code`` then says why:
    -1 = grade 0 or 1 without an LLN, -2 = not graded). ``note`` explains anything a reader needs
    to trust the grade (missing LLN, LLN below the CTCAE floor, anemia grade 4 being clinical only).
    """

    model_config = FROZEN_CLOSED

    term: CtcaeTerm
    ctcae_name: str
    value: float | None
    unit: str
    lln: float | None
    grade: int | None
    code: int
    label: str
    note: str | None = None
    citation: str = "CTCAE"


def criterion(term: CtcaeTerm | str) -> CtcaeCriterion:
    """The CTCAE bands of ``term``; an unknown term is a ``ValueError``."""
    return CTCAE_CRITERIA[CtcaeTerm(term)]


def code_label(code: int) -> str:
    """Human label of an array code: ``"grade 3"``, ``"grade 0-1"`` or ``"not graded"``."""
    if code == NOT_ASSESSABLE_0_1:
        return "grade 0-1"
    if code == UNGRADED:
        return "not graded"
    if 0 <= code <= 4:
        return f"grade {code}"
    raise ValueError(f"not a CTCAE code: {code!r}")


def _fmt(x: float) -> str:
    return f"{x:g}"


def _check_scalar(name: str, x: float) -> None:
    if math.isinf(x) or x < 0:
        raise ValueError(
            f"{name} must be a finite non-negative number in the canonical unit: {x!r}"
        )


@functools.cache
def _unit_floor_table(term: CtcaeTerm) -> NDArray[np.float64] | None:
    """Floors (canonical unit) of a value reported in each accepted unit of the term's analyte.

    Row k serves the k-th unit of ``ANALYTES[analyte].units`` (the per-value unit code); the last
    row, the canonical floors, serves an unknown unit (code -1). A unit with CTCAE bands of its
    own gets them times the unit's conversion factor, the same multiplication that converted the
    value, so boundaries compare exactly. None when CTCAE writes the term in one unit only.
    """
    c = CTCAE_CRITERIA[term]
    if not c.unit_floors or c.analyte is None:
        return None
    own = _own_floors(c)
    units = ANALYTES[Analyte(c.analyte)].units
    rows = [
        tuple(f * factor for f in own[spelling][1]) if spelling in own else c.floors
        for spelling, factor in units.items()
    ]
    return np.array([*rows, c.floors], dtype=np.float64)


def reported_unit(term: CtcaeTerm | str, unit_code: int) -> str | None:
    """The normalised spelling of unit code ``unit_code`` of the term's analyte (None if the
    term has one unit only or the code is unknown)."""
    c = CTCAE_CRITERIA[CtcaeTerm(term)]
    if c.analyte is None or unit_code < 0:
        return None
    units = tuple(ANALYTES[Analyte(c.analyte)].units)
    return units[unit_code] if unit_code < len(units) else None


def _unit_floors(
    c: CtcaeCriterion, value: float, unit: str | None
) -> tuple[tuple[float, ...] | None, str | None]:
    """Floors (canonical unit) for ``value`` reported in ``unit`` and a note naming them, when
    CTCAE writes bands of its own in that unit; else (None, None): the canonical floors."""
    if unit is None or c.analyte is None:
        return None, None
    spelling = normalise_unit_spelling(unit)
    own = _own_floors(c).get(spelling)
    factor = ANALYTES[Analyte(c.analyte)].units.get(spelling)
    if own is None or factor is None:
        return None, None
    shown, floors = own
    bands = ", ".join(f"grade {g} < {_fmt(f)}" for g, f in enumerate(floors, start=2))
    return tuple(f * factor for f in floors), (
        f"graded in the reported unit: {_fmt(round(value / factor, 6))} {shown} on CTCAE's "
        f"{shown} bands ({bands} {shown}), not converted first"
    )


def _own_floors(c: CtcaeCriterion) -> dict[str, tuple[str, tuple[float, ...]]]:
    """CTCAE's own bands of the term by normalised unit spelling: (unit as written, floors)."""
    return {normalise_unit_spelling(unit): (unit, floors) for unit, floors in c.unit_floors}


def _grade_scalar(
    c: CtcaeCriterion, value: float, lln: float | None, floors: tuple[float, ...] | None = None
) -> tuple[int, str | None]:
    """Code and note for one value (the reference implementation of the rules); ``floors``
    replaces the term's canonical floors (a value reported in another unit)."""
    if c.direction is Direction.INCREASED:
        start, *ceilings = c.floors
        code = int(value >= start) + sum(1 for ceiling in ceilings if value > ceiling)
        return code, None

    floors = c.floors if floors is None else floors
    if c.floors_x_lln:
        if c.absolute_worst_below is not None and value < c.absolute_worst_below:
            return c.max_lab_grade, None
        if lln is None:
            return UNGRADED, (
                f"{c.ctcae_name} bands are multiples of the LLN and no LLN was given; without it "
                f"only grade {c.max_lab_grade} (< {_fmt(c.absolute_worst_below or 0.0)} "
                f"{c.unit}) is assessable"
            )
        floors = tuple(f * lln for f in floors)

    below = sum(1 for f in floors if value < f)
    if below > 0:
        code = below + 1
        notes: list[str] = []
        g1_floor = floors[0]
        if lln is not None and not c.floors_x_lln and lln <= value < g1_floor:
            notes.append(
                f"the value is at or above the lab's LLN ({_fmt(lln)} {c.unit}) but below the "
                f"CTCAE grade-1 floor ({_fmt(g1_floor)} {c.unit}): grades 2-4 are absolute and "
                "ignore the LLN, so it is graded on the numeric band (as the PharmaForest "
                "ctcae5_grader macro does)"
            )
        if code == c.max_lab_grade and c.max_lab_grade < 4:
            notes.append(
                f"{c.ctcae_name.lower()} grade 4 is clinical only; a lab value never sets it "
                f"(grade {c.max_lab_grade} is the highest lab-only grade)"
            )
        return code, "; ".join(notes) or None
    if lln is None:
        return NOT_ASSESSABLE_0_1, (
            "grade 0-1: no LLN given, grade 1 not assessable (the value is at or above the "
            f"grade-1 floor of {_fmt(floors[0])} {c.unit}; grade 1 needs value < LLN)"
        )
    return (1 if value < lln else 0), None


def _lift_note(lift: tuple[int, int], transfused_day: int) -> str:
    """The note of a grade lifted by a transfusion ("transfusion indicated")."""
    low, high = lift
    return (
        f"grade {high}: transfusion indicated (RBC transfusion on day {transfused_day}, within "
        f"{ANEMIA_TRANSFUSION_WITHIN_DAYS} days of the value); the lab value alone is grade {low}"
    )


def _join_notes(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def grade_value(
    term: CtcaeTerm | str,
    value: float,
    lln: float | None = None,
    *,
    unit: str | None = None,
    transfused_day: int | None = None,
) -> CtcaeGrade:
    """Grade one lab value (canonical unit) with the lab's LLN if known.

    ``unit``: the unit the value was reported in; where CTCAE writes the term's bands in that
    unit (anemia in g/L or mmol/L) the value is graded on them. ``transfused_day``: the day of a
    transfusion within ``ANEMIA_TRANSFUSION_WITHIN_DAYS`` of the value; for anemia it lifts a lab
    grade 2 to 3 ("transfusion indicated"), named in the note. A NaN value gives a "not graded"
    result; a negative or infinite value or LLN is a ``ValueError`` (units and plausibility are
    checked at the input boundary).
    """
    t = CtcaeTerm(term)
    c = CTCAE_CRITERIA[t]
    if lln is not None and math.isnan(lln):
        lln = None
    if lln is not None:
        _check_scalar("LLN", lln)
    note: str | None
    shown: float | None
    if math.isnan(value):
        code, note, shown = UNGRADED, _UNGRADED_NOTE_NO_VALUE, None
    else:
        _check_scalar("value", value)
        floors, unit_note = _unit_floors(c, value, unit)
        code, note = _grade_scalar(c, value, lln, floors)
        note = _join_notes(unit_note, note)
        lift = c.transfusion_lift
        if transfused_day is not None and lift is not None and code == lift[0]:
            code = lift[1]
            note = _join_notes(_lift_note(lift, transfused_day), note)
        shown = float(value)
    return CtcaeGrade(
        term=t,
        ctcae_name=c.ctcae_name,
        value=shown,
        unit=c.unit,
        lln=lln,
        grade=code if code >= 0 else None,
        code=code,
        label=code_label(code),
        note=note,
        citation=c.citation,
    )


def _check_array(name: str, x: NDArray[np.float64]) -> None:
    if (x < 0).any() or np.isinf(x).any():
        raise ValueError(f"{name} must be finite non-negative numbers in the canonical unit")


def grade_array(
    term: CtcaeTerm | str,
    values: ArrayLike,
    lln: ArrayLike | None = None,
    *,
    unit_code: ArrayLike | None = None,
    transfused: ArrayLike | None = None,
) -> NDArray[np.int8]:
    """Grade many values at once; the same rules as :func:`grade_value`.

    ``values`` and ``lln`` are broadcast together (``lln`` may be a scalar, an array or ``None``;
    NaN in ``lln`` means "unknown"). ``unit_code`` (per value, the index of its reported unit in
    ``ANALYTES[analyte].units``; -1 unknown) grades each value on CTCAE's bands in its unit;
    ``transfused`` (per value, bool) marks a transfusion within
    ``ANEMIA_TRANSFUSION_WITHIN_DAYS`` (anemia grade 2 -> 3). Returns int8 codes: 0-4 = grade,
    :data:`NOT_ASSESSABLE_0_1` (-1) = grade 0 or 1 without an LLN, :data:`UNGRADED` (-2) = NaN
    value (or fibrinogen with no LLN and a value above the absolute grade-4 bound). No Python
    loop over values.
    """
    t = CtcaeTerm(term)
    codes = _grade_codes(t, values, lln, unit_code)
    lift = CTCAE_CRITERIA[t].transfusion_lift
    if transfused is not None and lift is not None:
        mask = np.asarray(transfused, dtype=np.bool_) & (codes == lift[0])
        codes[mask] = lift[1]
    return codes


def _grade_codes(
    t: CtcaeTerm, values: ArrayLike, lln: ArrayLike | None, unit_code: ArrayLike | None
) -> NDArray[np.int8]:
    """The lab codes of :func:`grade_array` (before a transfusion lift)."""
    c = CTCAE_CRITERIA[t]
    v = np.asarray(values, dtype=np.float64)
    n = np.full_like(v, np.nan) if lln is None else np.asarray(lln, dtype=np.float64)
    if v.shape != n.shape:
        v, n = np.broadcast_arrays(v, n)
    _check_array("values", v)
    _check_array("LLN", n)
    missing_value = np.isnan(v)

    if c.direction is Direction.INCREASED:
        start, *ceilings = c.floors
        # count of inclusive ceilings strictly below the value (150 and 300 are grade 1, ...)
        above = np.searchsorted(np.asarray(ceilings), v, side="left")
        codes = (v >= start).astype(np.int64) + above
        return np.where(missing_value, UNGRADED, codes).astype(np.int8)

    if c.floors_x_lln:
        # per-element floors: one vectorised comparison per band (3 bands), not per value
        below = sum(((v < f * n).astype(np.int64) for f in c.floors), np.zeros(v.shape, np.int64))
        worst = (
            v < c.absolute_worst_below
            if c.absolute_worst_below is not None
            else np.zeros(v.shape, dtype=bool)
        )
        below = np.where(worst, len(c.floors), below)
        ungraded = missing_value | (np.isnan(n) & ~worst)  # the LLN is required
    elif (table := _unit_floor_table(t)) is not None and unit_code is not None:
        # each value's floors by its reported unit (a few rows): one comparison per band
        per_value = table[np.broadcast_to(np.asarray(unit_code, dtype=np.int64), v.shape)]
        below = np.count_nonzero(v[..., np.newaxis] < per_value, axis=-1)
        ungraded = missing_value
    else:
        ascending = np.asarray(c.floors[::-1], dtype=np.float64)
        # number of floors strictly above the value: a value equal to a floor stays milder
        below = len(ascending) - np.searchsorted(ascending, v, side="right")
        ungraded = missing_value

    # below a floor: grade below + 1; else 1 when under the LLN, 0 when not, 0-1 without an LLN
    within = np.where(np.isnan(n), NOT_ASSESSABLE_0_1, (v < n).astype(np.int64))
    codes = np.where(below > 0, below + 1, within)
    codes[ungraded] = UNGRADED
    return codes.astype(np.int8)
