"""Unit normalisation and plausibility checks, vectorised for whole observation tables.

One code path serves JSON records and tabular/Parquet inputs: analytes and units arrive
dictionary-encoded (distinct names + an index per row), so the per-row work is numpy only.
Conversion factors and accepted units: :mod:`icaht.knowledge.analytes` (docs/evidence.md 8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from icaht.knowledge.analytes import (
    ANALYTE_ALIASES,
    ANALYTES,
    LOINC_TO_ANALYTE,
    NOT_THE_ANC,
    Analyte,
)

#: Analyte order used for the int8 analyte codes of normalised tables.
ANALYTE_ORDER: tuple[Analyte, ...] = tuple(Analyte)
_CODE: dict[Analyte, int] = {a: i for i, a in enumerate(ANALYTE_ORDER)}


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A problem in one row of an observation table (row = 0-based position in the input)."""

    row: int
    field: str
    value: object
    message: str


def normalise_unit_spelling(unit: str) -> str:
    """Fold the common clinical spellings of a unit to the keys of the unit tables."""
    text = unit.strip().lower().replace(" ", "").replace("µ", "u").replace("μ", "u")
    text = text.replace("10⁹", "10^9").replace("10³", "10^3").replace("10⁶", "10^6")
    text = text.replace("×", "x").replace("³", "3").replace("**", "^")
    text = text.replace("mcl", "ul").replace("mcg", "ug")
    if text.startswith("x10"):
        text = text[1:]
    return text


def resolve_analyte(name: str | None, loinc: str | None) -> Analyte | None:
    """The analyte named by ``name`` (value or alias) or ``loinc``; None if neither is known."""
    if name:
        key = name.strip().lower()
        try:
            return Analyte(key)
        except ValueError:
            found = ANALYTE_ALIASES.get(key)
            if found is not None:
                return found
    if loinc:
        return LOINC_TO_ANALYTE.get(loinc.strip())
    return None


def accepted_units(analyte: Analyte) -> list[str]:
    """Accepted unit spellings for an analyte (normalised forms), for error messages."""
    return sorted(ANALYTES[analyte].units)


def unit_factor(analyte: Analyte, unit: str) -> float | None:
    """Factor converting ``unit`` to the analyte's canonical unit, or None if not accepted."""
    return ANALYTES[analyte].units.get(normalise_unit_spelling(unit))


@dataclass(frozen=True, slots=True)
class NormalisedObservations:
    """Observation columns in canonical units, rows aligned with the input."""

    analyte_code: NDArray[np.int8]  # index into ANALYTE_ORDER, -1 where unresolved
    value: NDArray[np.float64]
    lln: NDArray[np.float64]
    uln: NDArray[np.float64]
    problems: list[RowProblem]
    #: The unit each value was reported in: its index in ``ANALYTES[analyte].units`` (-1 where
    #: unresolved). Values are canonical; graders that band by the reported unit (CTCAE anemia in
    #: mmol/L, docs/decisions.md "CTCAE in the reported unit") read this int8 column.
    unit_code: NDArray[np.int8]


def _plausible_elsewhere(analyte: Analyte, raw: float, unit_used: str) -> list[str]:
    info = ANALYTES[analyte]
    return [
        spelling
        for spelling, factor in info.units.items()
        if spelling != unit_used and 0 <= raw * factor <= info.plausible_max
    ]


def _unknown_analyte(name: str | None, loinc: str | None) -> str:
    """Why a row's analyte is refused: a part of the differential is named as such."""
    part = None if name or not loinc else NOT_THE_ANC.get(loinc.strip())
    if part is not None:
        return (
            f"LOINC {loinc} is {part}, not the ANC (the ANC is segmented + band neutrophils of "
            "one specimen): give the ANC, or import the differential through FHIR, which adds "
            "the parts of one specimen"
        )
    return "unknown analyte or LOINC code; accepted names: " + ", ".join(
        a.value for a in ANALYTE_ORDER
    )


def normalise_observations(
    analyte_names: list[str | None],
    loinc_codes: list[str | None],
    analyte_index: NDArray[np.int64],
    unit_names: list[str | None],
    unit_index: NDArray[np.int64],
    value: NDArray[np.float64],
    lln: NDArray[np.float64],
    uln: NDArray[np.float64],
) -> NormalisedObservations:
    """Resolve analytes, convert values and limits to canonical units, and check plausibility.

    ``analyte_names[i]``/``loinc_codes[i]`` describe the i-th distinct (name, code) pair and
    ``analyte_index[row]`` points at it; ``unit_names``/``unit_index`` likewise. Missing limits are
    NaN. Every problem is returned (never raised here) so callers can report all of them at once.
    """
    problems: list[RowProblem] = []
    n = value.shape[0]
    pair_codes = np.array(
        [
            _CODE[a] if (a := resolve_analyte(name, code)) is not None else -1
            for name, code in zip(analyte_names, loinc_codes, strict=True)
        ],
        dtype=np.int8,
    )
    codes = pair_codes[analyte_index] if n else np.zeros(0, dtype=np.int8)
    for row in np.flatnonzero(codes < 0):
        i = int(analyte_index[row])
        if analyte_names[i] is None and loinc_codes[i] is None:
            problems.append(RowProblem(int(row), "analyte", None, "missing analyte (or loinc)"))
            continue
        problems.append(
            RowProblem(
                int(row),
                "analyte" if analyte_names[i] else "loinc",
                analyte_names[i] or loinc_codes[i],
                _unknown_analyte(analyte_names[i], loinc_codes[i]),
            )
        )

    spelled = [normalise_unit_spelling(u) if u else "" for u in unit_names]
    # factor table: (analyte code, unit index) -> factor, NaN where the unit is not accepted;
    # unit-code table: (analyte code, unit index) -> position of the unit among the analyte's
    table = np.full((len(ANALYTE_ORDER), max(len(unit_names), 1)), np.nan)
    position = np.full(table.shape, -1, dtype=np.int8)
    for a_code, analyte in enumerate(ANALYTE_ORDER):
        units = ANALYTES[analyte].units
        order = {spelling: i for i, spelling in enumerate(units)}
        for u_idx, spelling in enumerate(spelled):
            known_factor = units.get(spelling)
            if known_factor is not None:
                table[a_code, u_idx] = known_factor
                position[a_code, u_idx] = order[spelling]
    known = codes >= 0
    factor = np.full(n, np.nan)
    factor[known] = table[codes[known], unit_index[known]]
    unit_code = np.full(n, -1, dtype=np.int8)
    unit_code[known] = position[codes[known], unit_index[known]]
    for row in np.flatnonzero(known & np.isnan(factor)):
        analyte = ANALYTE_ORDER[codes[row]]
        given = unit_names[int(unit_index[row])]
        what = "missing unit" if not given else f"unit not accepted for {analyte.value}"
        problems.append(
            RowProblem(
                int(row), "unit", given, f"{what}; accepted: " + ", ".join(accepted_units(analyte))
            )
        )

    canonical = value * factor
    bad_number = ~np.isfinite(value)
    for row in np.flatnonzero(bad_number):
        problems.append(RowProblem(int(row), "value", float(value[row]), "not a finite number"))
    for row in np.flatnonzero(value < 0):
        problems.append(RowProblem(int(row), "value", float(value[row]), "negative value"))
    max_by_code = np.array([ANALYTES[a].plausible_max for a in ANALYTE_ORDER])
    limit = np.full(n, np.inf)
    limit[known] = max_by_code[codes[known]]
    for row in np.flatnonzero(np.isfinite(canonical) & (canonical > limit)):
        analyte = ANALYTE_ORDER[codes[row]]
        used = spelled[int(unit_index[row])]
        raw = float(value[row])
        hint = _plausible_elsewhere(analyte, raw, used)
        message = (
            f"implausible {analyte.value} value in {unit_names[int(unit_index[row])]} "
            f"(above {ANALYTES[analyte].plausible_max:g} {ANALYTES[analyte].canonical_unit})"
        )
        if hint:
            message += f"; it would be plausible in {', '.join(hint)}: check the unit"
        problems.append(RowProblem(int(row), "value", raw, message))
    for name, limits in (("lln", lln), ("uln", uln)):
        for row in np.flatnonzero(np.isfinite(limits) & (limits < 0)):
            problems.append(RowProblem(int(row), name, float(limits[row]), "negative limit"))
    problems.sort(key=lambda p: p.row)
    return NormalisedObservations(codes, canonical, lln * factor, uln * factor, problems, unit_code)
