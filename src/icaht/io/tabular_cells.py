"""The cells of a tabular set's Arrow table, read column-wise: numbers (NaN for an empty cell),
censored values ("> 10,000" as its bound), dictionary-encoded text and times as days after
infusion. Each unreadable cell adds a problem (source, 1-based row, column, value)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from icaht.core.observation import parse_censored
from icaht.errors import Problem

_SECONDS_PER_DAY = 86400.0


def row_dicts(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]


def float_column(
    table: pa.Table, name: str, source: str, problems: list[Problem], required: bool
) -> NDArray[np.float64]:
    """A numeric column as float64 with NaN for nulls; unparsable cells become problems."""
    n = table.num_rows
    if name not in table.column_names:
        return np.full(n, np.nan)
    column = table.column(name)
    unparsable = np.zeros(n, dtype=bool)  # reported once, as "not a number"
    try:
        as_float = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = np.full(n, np.nan)
        for i, raw in enumerate(column.to_pylist()):
            if raw is None:
                continue
            try:
                out[i] = float(raw)
            except (TypeError, ValueError):
                unparsable[i] = True
                problems.append(Problem(source, "not a number", row=i + 1, field=name, value=raw))
        as_float = pa.array(out)
    values = np.array(as_float.to_numpy(zero_copy_only=False), dtype=np.float64)
    null = np.asarray(column.is_null())
    not_finite = ~np.isfinite(values) & ~np.isnan(values) | np.isnan(values) & ~null
    for bad in np.flatnonzero(not_finite & ~unparsable):
        # "nan", "inf" in a cell: never a usable number, never silently a missing one
        problems.append(
            Problem(
                source,
                "not a finite number",
                row=int(bad) + 1,
                field=name,
                value=str(column[int(bad)]),
            )
        )
        values[bad] = np.nan
    if required:
        for missing in np.flatnonzero(null):
            problems.append(Problem(source, "missing value", row=int(missing) + 1, field=name))
    return values


def uncensored(table: pa.Table, source: str, problems: list[Problem]) -> pa.Table:
    """The table with value cells like "> 10,000" or "<0.1" as their bound (docs/tabular.md:
    graders read the bound as the value); a ``censored`` cell other than "<" or ">", or one that
    contradicts the comparator in the value cell, is a problem."""
    given: list[str | None] = [None] * table.num_rows
    if "censored" in table.column_names:
        given = pc.cast(table.column("censored"), pa.string()).to_pylist()
        for i, mark in enumerate(given):
            if mark is not None and mark.strip() not in ("", "<", ">"):
                problems.append(
                    Problem(
                        source, "censored must be < or >", row=i + 1, field="censored", value=mark
                    )
                )
    if "value" not in table.column_names:
        return table
    column = table.column("value")
    if (
        not pa.types.is_string(column.type)
        or not pc.any(pc.match_substring_regex(column, "[<>]")).as_py()
    ):
        return table
    cells: list[str | None] = column.to_pylist()
    for i, cell in enumerate(cells):
        parsed = parse_censored(cell) if cell is not None else None
        if parsed is None:
            continue  # a number, or "not a number" from float_column
        sign, bound = parsed
        mark = (given[i] or "").strip()
        if mark not in ("", sign):
            message = f"the value has the comparator {sign} but censored is {mark}"
            problems.append(Problem(source, message, row=i + 1, field="censored", value=mark))
        cells[i] = repr(bound)
    return table.set_column(
        table.column_names.index("value"), "value", pa.array(cells, pa.string())
    )


def encoded_column(table: pa.Table, name: str) -> tuple[list[str | None], NDArray[np.int64]]:
    """Dictionary-encode a text column: (distinct values, index per row)."""
    if name not in table.column_names:
        return [None], np.zeros(table.num_rows, dtype=np.int64)
    column = pc.cast(table.column(name).combine_chunks(), pa.string())
    encoded = pc.dictionary_encode(column)
    values: list[str | None] = encoded.dictionary.to_pylist()
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    null = np.isnan(indices) if indices.dtype.kind == "f" else np.zeros(len(indices), bool)
    index = np.where(null, len(values), np.nan_to_num(indices)).astype(np.int64)
    return [*values, None], index


_EPOCH = datetime(1970, 1, 1)


def epoch_seconds(raw: object) -> float:
    """Seconds since 1970-01-01 of a date/datetime as written (wall-clock; no time zone applied,
    so the machine's zone never shifts a day)."""
    if isinstance(raw, datetime):
        moment = raw.replace(tzinfo=None)
    elif isinstance(raw, date):
        moment = datetime(raw.year, raw.month, raw.day)
    else:
        moment = datetime.fromisoformat(str(raw)).replace(tzinfo=None)
    return (moment - _EPOCH).total_seconds()


def time_days(
    table: pa.Table,
    source: str,
    patient_rows: NDArray[np.int64],
    infusion_seconds: NDArray[np.float64],
    problems: list[Problem],
) -> NDArray[np.float64]:
    """Day of each observation from ``day`` or ``time`` (exactly one per row)."""
    day = float_column(table, "day", source, problems, required=False)
    if "time" not in table.column_names:
        for i in np.flatnonzero(np.isnan(day)):
            problems.append(Problem(source, "needs day or time", row=int(i) + 1, field="day"))
        return day
    has_time = ~np.asarray(table.column("time").is_null())
    for i in np.flatnonzero(has_time & ~np.isnan(day)):
        problems.append(Problem(source, "give day or time, not both", row=int(i) + 1, field="time"))
    for i in np.flatnonzero(~has_time & np.isnan(day)):
        problems.append(Problem(source, "needs day or time", row=int(i) + 1, field="day"))
    rows = np.flatnonzero(has_time & np.isnan(day))
    if rows.size:
        raw_times = table.column("time").take(pa.array(rows)).to_pylist()
        seconds = np.full(rows.size, np.nan)
        for k, raw in enumerate(raw_times):
            try:
                seconds[k] = epoch_seconds(raw)
            except (TypeError, ValueError):
                problems.append(
                    Problem(
                        source,
                        "not an ISO date or datetime",
                        row=int(rows[k]) + 1,
                        field="time",
                        value=str(raw),
                    )
                )
        owners = patient_rows[rows]
        reference = np.full(rows.size, np.nan)
        known = owners >= 0
        reference[known] = infusion_seconds[owners[known]]
        # rows of no valid patient are reported by their patient_id, not again here
        for orphan in np.flatnonzero(np.isnan(reference) & ~np.isnan(seconds) & known):
            problems.append(
                Problem(
                    source,
                    "time given as a date but the patient has no infusion_date",
                    row=int(rows[orphan]) + 1,
                    field="time",
                )
            )
        day[rows] = (seconds - reference) / _SECONDS_PER_DAY
    return day
