"""The long table analysts already have: one row per lab value, the patient's dates repeated.

Layout (docs/tabular.md, "The long table"): ``patient_id, cart_date, date, <analyte>,
last_fu_date, progression_date, subsequent_therapy_date`` (the analyte column is named after it,
``anc`` by default; the unit is given once, for the whole column). ``columns`` maps these names
to the table's own (``{"date": "lab_date"}``). It is rewritten as a tabular set (patients with
``infusion_date`` = ``cart_date``; observations; events ``last_follow_up``, ``disease_status``
``pd`` and ``next_therapy``) that the tabular reader then validates as usual.

A column the reader does not use is an error naming it (a ``last_fu_date`` under another name
would otherwise be ignored and grading would run uncensored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from icaht.errors import InputError, Problem
from icaht.io.tabular import read_table
from icaht.knowledge.analytes import Analyte

#: Event columns of the long table -> (event kind, extra cells of that event).
EVENT_COLUMNS: dict[str, tuple[str, dict[str, str]]] = {
    "last_fu_date": ("last_follow_up", {}),
    "progression_date": ("disease_status", {"status": "pd"}),
    "subsequent_therapy_date": ("next_therapy", {}),
}
REQUIRED = ("patient_id", "cart_date", "date")
#: ANC in cells/uL below this everywhere looks like 10^9/L mislabelled (project default: a
#: count of 50 cells/uL is 0.05 x 10^9/L; no cohort has every value that low).
ANC_CELLS_LOOK_LIKE_10E9 = 50.0
#: A cell that reads as a decimal number (other cells are the tabular reader's to report).
_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_CELLS_UNITS = frozenset({"cells/uL", "/uL", "cells/µL", "/µL", "/mm3", "cells/mm3"})


@dataclass(frozen=True, slots=True)
class LongTable:
    """How to read a long table: the analyte of the value column, its unit, and the table's own
    names for the layout's columns (layout name -> table name)."""

    unit: str
    analyte: str = Analyte.ANC.value
    columns: dict[str, str] = field(default_factory=dict)


def parse_columns(text: str | None) -> dict[str, str]:
    """``--columns date=lab_date,anc=ANC`` -> {"date": "lab_date", "anc": "ANC"}."""
    mapping: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        ours, sep, theirs = item.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise InputError([Problem("--columns", f"{item!r} is not LAYOUT_NAME=TABLE_NAME")])
        mapping[ours.strip()] = theirs.strip()
    return mapping


def layout_names(table: pa.Table, source: str, spec: LongTable) -> pa.Table:
    """The table with the layout's names; unknown or missing columns are one problem each
    (raised as one :class:`InputError`)."""
    layout = (*REQUIRED, spec.analyte, *EVENT_COLUMNS)
    theirs = {spec.columns.get(name, name): name for name in layout}
    problems = [
        Problem(source, "column not used by the long-table reader (map it with --columns)", field=c)
        for c in table.column_names
        if c not in theirs
    ]
    table = table.rename_columns([theirs.get(c, c) for c in table.column_names])
    problems += [
        Problem(source, "missing column", field=spec.columns.get(name, name))
        for name in (*REQUIRED, spec.analyte)
        if name not in table.column_names
    ]
    if problems:
        raise InputError(problems)
    return table


def unit_warning(values: pa.ChunkedArray, spec: LongTable) -> str | None:
    """A warning when ANC values labelled cells/uL are all below
    :data:`ANC_CELLS_LOOK_LIKE_10E9` (they look like 10^9/L). Cells that are not numbers are
    left to the tabular reader, which reports them."""
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    numbers = pc.cast(pc.filter(text, pc.match_substring_regex(text, _NUMBER)), pa.float64())
    return largest_value_warning(pc.max(numbers).as_py(), spec)


def largest_value_warning(largest: float | None, spec: LongTable) -> str | None:
    """:func:`unit_warning` from the largest number of the value column (None: no number)."""
    if spec.analyte != Analyte.ANC.value or spec.unit not in _CELLS_UNITS:
        return None
    if largest is None or largest >= ANC_CELLS_LOOK_LIKE_10E9:
        return None
    return (
        f"every {spec.analyte} value is below {ANC_CELLS_LOOK_LIKE_10E9:g} but the unit is "
        f"{spec.unit}: if the values are in 10^9/L, give that unit"
    )


def _first_rows(table: pa.Table) -> list[int]:
    """The 0-based row of each patient's first row (their dates are read from it)."""
    seen: set[object] = set()
    first: list[int] = []
    for row, pid in enumerate(table["patient_id"].to_pylist()):
        if pid not in seen:
            seen.add(pid)
            first.append(row)
    return first


def _events(patients: pa.Table, rows: list[int]) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The events table, and for each event its patient's first row (1-based) and column."""
    ids: list[str] = []
    kinds: list[str] = []
    times: list[str] = []
    status: list[str | None] = []
    origins: list[tuple[int, str]] = []
    for name, (kind, extra) in EVENT_COLUMNS.items():
        if name not in patients.column_names:
            continue
        for pid, when, row in zip(
            patients["patient_id"].to_pylist(), patients[name].to_pylist(), rows, strict=True
        ):
            if when is None or str(when).strip() == "":
                continue
            ids.append(str(pid))
            kinds.append(kind)
            times.append(str(when))
            status.append(extra.get("status"))
            origins.append((row, name))
    table = pa.table({"patient_id": ids, "kind": kinds, "time": times, "status": status})
    return table, origins


@dataclass(frozen=True, slots=True)
class Rewritten:
    """A long table rewritten as a tabular set in ``folder``: the unit warning, if any
    (:func:`unit_warning`), and where each row of the set came from, so that a problem the
    tabular reader finds names the long table's own file, row and column (:meth:`locate`)."""

    source: str
    folder: str
    spec: LongTable
    warning: str | None
    #: 1-based row of the long table of each patients row (the patient's first row)
    patient_rows: tuple[int, ...]
    #: (1-based row of the long table, layout column) of each events row
    event_rows: tuple[tuple[int, str], ...]

    def locate(
        self, source: str, row: int | None, field: str | None
    ) -> tuple[str, int | None, str | None]:
        """(file, row, column) in the long table of a place in the rewritten set; places
        elsewhere are returned as they are."""
        path = Path(source)
        if path.parent != Path(self.folder):
            return source, row, field
        kind = path.stem
        layout: str | None = field
        if kind == "patients":
            layout = {"infusion_date": "cart_date"}.get(field or "", field)
            row = None if row is None else self.patient_rows[row - 1]
        elif kind == "observations":
            layout = {"value": self.spec.analyte, "time": "date"}.get(field or "", field)
        elif kind == "events" and row is not None:
            row, layout = self.event_rows[row - 1]
        if field == "unit":
            return self.source, row, "--unit"
        named = None if layout is None else self.spec.columns.get(layout, layout)
        return self.source, row, named


def write_tabular_set(path: Path, spec: LongTable, folder: Path) -> Rewritten:
    """Rewrite the long table at ``path`` as a tabular set in ``folder`` (see
    :class:`Rewritten`). Raises :class:`InputError` for its columns."""
    table = layout_names(read_table(path), str(path), spec)
    text = pa.string()
    table = table.set_column(
        table.column_names.index("patient_id"),
        "patient_id",
        pc.cast(table["patient_id"], text),
    )
    first = _first_rows(table)
    patients = table.take(pa.array(first, pa.int64()))
    pq.write_table(
        pa.table(
            {
                "patient_id": patients["patient_id"],
                "infusion_date": pc.cast(patients["cart_date"], text),
            }
        ),
        folder / "patients.parquet",
    )
    values = table[spec.analyte]
    n = table.num_rows
    pq.write_table(
        pa.table(
            {
                "patient_id": table["patient_id"],
                "analyte": pa.array([spec.analyte] * n, text),
                "value": pc.cast(values, text),
                "unit": pa.array([spec.unit] * n, text),
                "time": pc.cast(table["date"], text),
            }
        ),
        folder / "observations.parquet",
    )
    rows = [r + 1 for r in first]
    events, event_rows = _events(patients, rows)
    pq.write_table(events, folder / "events.parquet")
    warning = unit_warning(values, spec)
    return Rewritten(str(path), str(folder), spec, warning, tuple(rows), tuple(event_rows))
