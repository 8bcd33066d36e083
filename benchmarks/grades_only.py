"""Grades only (issue 20): early and late ICAHT of N simulated patients x 101 daily ANC values
read from one Parquet long table, three ways, end to end (read + grade), medians of ``repeat``:

* ours: pyarrow columns -> one :class:`icaht.core.kernel.Batch` -> ``grade_early`` and
  ``grade_late`` (the columnar kernel, one process);
* the public pandas grader of the icaht-dashboard project (``DataProcessor.prepare_data`` then
  ``ICahtGrader.grade_early_icaht``/``grade_late_icaht``/``combine_grades``), imported from the
  folder named by ``ICAHT_DASHBOARD_DIR`` (a checkout of github SwamiPIyer/icaht-dashboard; it has
  no licence, so it is never copied here): the row is skipped with a message when absent;
* the floor: DuckDB reading the same Parquet and taking the lowest ANC per patient and day.

The table has the published graders' layout (``patient_id, cart_date, date, anc`` in cells/uL,
``last_fu_date, progression_date, subsequent_therapy_date``). Run by ``benchmarks/grading.py``.
"""

from __future__ import annotations

import functools
import gc
import importlib.util
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from icaht.core.grading_scheme import icaht_scheme
from icaht.core.kernel import Batch, grade_early, grade_late
from icaht.knowledge.profile.grading import IcahtSettings

HERE = Path(__file__).resolve().parent
DAYS = 101
DASHBOARD_ENV = "ICAHT_DASHBOARD_DIR"
TARGET_PANDAS_SPEEDUP = 50.0
TARGET_FLOOR_RATIO = 3.0


def write_table(patients: int, seed: int, path: Path) -> Path:
    """N patients x 101 daily ANC values (day 0-100): a nadir of random depth and length, then
    recovery, some with a second dip; follow-up to day 100."""
    if path.is_file():
        return path
    rng = np.random.default_rng(seed)
    day = np.tile(np.arange(DAYS, dtype=np.float64), patients)
    depth = np.repeat(rng.uniform(0.02, 1.2, patients), DAYS)
    length = np.repeat(rng.integers(2, 40, patients), DAYS)
    dip = np.repeat(rng.random(patients) < 0.3, DAYS)
    recovered = 3.0 * (1.0 - np.exp(-np.maximum(day - length, 0) / 10.0))
    anc = np.where(day < length, depth, depth + recovered)
    anc = np.where(dip & (day > 50) & (day < 60), 0.4, anc)
    anc = np.round(anc * rng.lognormal(0.0, 0.2, day.size) * 1000.0, -1)  # cells/uL
    cart = np.datetime64("2024-01-01") + np.repeat(rng.integers(0, 365, patients), DAYS)
    ids = np.repeat(np.array([f"P{i:07d}" for i in range(patients)]), DAYS)
    when = cart + day.astype("timedelta64[D]")
    table = pa.table(
        {
            "patient_id": ids,
            "cart_date": cart.astype("datetime64[D]"),
            "date": when.astype("datetime64[D]"),
            "anc": anc,
            "last_fu_date": (cart + np.timedelta64(DAYS - 1, "D")).astype("datetime64[D]"),
            "progression_date": pa.nulls(day.size, pa.date32()),
            "subsequent_therapy_date": pa.nulls(day.size, pa.date32()),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=1_000 * DAYS)
    return path


def _days(later: pa.ChunkedArray, cart: pa.ChunkedArray) -> np.ndarray:
    """Days between two date columns (NaN where missing)."""
    a = later.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.float64)
    b = cart.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.float64)
    return a - b


def ours(path: Path) -> np.ndarray:
    """Read the long table and grade early and late ICAHT of every patient; the two grade
    columns (-1 = not evaluable)."""
    t = pq.read_table(path, columns=["patient_id", "cart_date", "date", "anc", "last_fu_date"])
    ids = pc.dictionary_encode(t["patient_id"]).combine_chunks().indices.to_numpy()
    if ids.size > 1 and bool(np.any(ids[1:] < ids[:-1])):
        order = np.argsort(ids, kind="stable")
        t, ids = t.take(order), ids[order]
    starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    offsets = np.append(starts, ids.size).astype(np.int64)
    days = _days(t["date"], t["cart_date"])
    values = t["anc"].to_numpy() / 1000.0  # cells/uL -> 10^9/L
    end = _days(t["last_fu_date"], t["cart_date"])[starts]
    end = np.where(np.isnan(end), np.inf, end)
    batch = Batch(days, values, offsets, end, np.zeros(starts.size, dtype=np.bool_))
    scheme = icaht_scheme(IcahtSettings())
    return np.stack((grade_early(scheme, batch).grade, grade_late(scheme, batch).grade))


def duckdb_floor(path: Path) -> int:
    """The read floor: the lowest ANC per patient and day of the same Parquet."""
    con = duckdb.connect()
    rows = con.execute(
        "SELECT count(*) FROM (SELECT patient_id, date, min(anc) FROM read_parquet(?) "
        "GROUP BY patient_id, date)",
        [str(path)],
    ).fetchone()
    con.close()
    return 0 if rows is None else int(rows[0])


def dashboard_modules() -> tuple[ModuleType, ModuleType] | None:
    """The pandas grader's two modules from ``$ICAHT_DASHBOARD_DIR/utils`` (None when absent)."""
    folder = os.environ.get(DASHBOARD_ENV)
    if not folder or not (Path(folder) / "utils" / "icaht_grader.py").is_file():
        return None
    loaded = []
    for name in ("data_processor", "icaht_grader"):
        spec = importlib.util.spec_from_file_location(
            f"dashboard_{name}", Path(folder) / "utils" / f"{name}.py"
        )
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        loaded.append(module)
    return loaded[0], loaded[1]


def pandas_grader(path: Path, modules: tuple[ModuleType, ModuleType]) -> Any:
    """The public pandas grader end to end on the same Parquet."""
    processor, grader = modules[0].DataProcessor(), modules[1].ICahtGrader()
    frame = pd.read_parquet(path)
    data = processor.prepare_data(frame, {})
    early = grader.grade_early_icaht(data["early"])
    late = grader.grade_late_icaht(data["late"])
    if "patient_id" not in late:  # its late step returned no rows: nothing to combine
        return early
    return grader.combine_grades(early, late)


def timed(function: Callable[[], Any], repeat: int) -> dict[str, Any]:
    """Median seconds over ``repeat`` runs and the peak of Python-allocated memory (tracemalloc
    on one extra run; numpy and Arrow buffers are traced through their allocator hooks where
    they have them)."""
    seconds = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": seconds, "median_s": statistics.median(seconds), "peak_mb": peak / 2**20}


def run(sizes: tuple[int, ...], floor_size: int, repeat: int, seed: int) -> dict[str, Any]:
    """Every measurement of the grades-only comparison."""
    modules = dashboard_modules()
    out: dict[str, Any] = {"repeat": repeat, "days_per_patient": DAYS, "rows": []}
    if modules is None:
        print(f"pandas grader skipped: set {DASHBOARD_ENV} to a checkout of icaht-dashboard")
    for n in (*sizes, floor_size):
        path = write_table(n, seed, HERE / "data" / f"grades-only-seed{seed}-n{n}.parquet")
        row: dict[str, Any] = {"patients": n, "ours": timed(functools.partial(ours, path), repeat)}
        row["duckdb_floor"] = timed(functools.partial(duckdb_floor, path), repeat)
        row["ours_over_floor"] = row["ours"]["median_s"] / row["duckdb_floor"]["median_s"]
        if modules is not None and n in sizes:
            row["pandas"] = timed(functools.partial(pandas_grader, path, modules), repeat)
            row["pandas_over_ours"] = row["pandas"]["median_s"] / row["ours"]["median_s"]
        out["rows"].append(row)
        print(_line(row), flush=True)
    return out


def _line(row: dict[str, Any]) -> str:
    text = (
        f"{row['patients']:>7,} patients: ours {row['ours']['median_s']:.3f} s "
        f"(peak {row['ours']['peak_mb']:.0f} MB), DuckDB floor "
        f"{row['duckdb_floor']['median_s']:.3f} s, ours/floor {row['ours_over_floor']:.2f}"
    )
    if "pandas" in row:
        text += f", pandas {row['pandas']['median_s']:.2f} s = {row['pandas_over_ours']:.0f}x ours"
    return text


def write(result: dict[str, Any], out: Path) -> None:
    """``grades_only.json`` in the results folder."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "grades_only.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    floor = int(os.environ.get("ICAHT_GRADES_ONLY_FLOOR_PATIENTS", "100000"))
    sizes = tuple(int(x) for x in sys.argv[1:]) or (1_000, 10_000)
    write(run(sizes, floor, 3, 20261201), HERE / "results")
