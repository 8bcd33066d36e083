"""Grades only (issue 20): early and late ICAHT of N simulated patients x 101 daily ANC values
read from one Parquet long table, end to end (read + grade), four ways:

* cli: ``icaht grade --grades-only TABLE --unit cells/uL`` as a subprocess on all cores (start-up,
  the long table read in chunks of whole patients, one kernel batch per chunk in worker
  processes, the CSV; :mod:`icaht.cohort.long_grades`);
* kernel: pyarrow columns -> one :class:`icaht.core.kernel.Batch` -> ``grade_windows`` (early
  and late from one daily series) in one process (the columnar kernel alone, imports not timed);
* pandas: the public grader of the icaht-dashboard project (``DataProcessor.prepare_data`` then
  ``ICahtGrader.grade_early_icaht``/``grade_late_icaht``/``combine_grades``), imported from the
  folder named by ``ICAHT_DASHBOARD_DIR`` (a checkout of github SwamiPIyer/icaht-dashboard; it has
  no licence, so it is never copied here): the rows are skipped with a message when absent;
* floor: DuckDB reading the same Parquet and taking the lowest ANC per patient and day.

Every measurement runs in a fresh process (the CLI, or this script with ``--one``), ``repeat``
times (median wall seconds; the CLI once from 10,000 patients on); its memory is the peak RSS
of that process tree, sampled by psutil (:class:`cohort_scale.TreeMemory`). The pandas grader
runs at 1,000 and 3,000 patients; at a larger size only when the power law ``t = a n^b``
through those two points predicts at most ``--pandas-budget`` seconds, else that size's time
is the prediction, marked ``extrapolated``. Its late step returns no row whatever the input:
``_prepare_late_data`` ends the late window at the minimum of ``cart_date``, subsequent
therapy, progression and last follow-up, which is the CAR-T date itself, so no day >= 31
falls before it; it is timed as it is.

The table has the published graders' layout (``patient_id, cart_date, date, anc`` in cells/uL,
``last_fu_date, progression_date, subsequent_therapy_date``). Results: ``grades_only.json`` and a
row in ``benchmarks/results/README.md``. Targets: >= 50x the pandas grader at 10,000 patients,
<= 3x the DuckDB floor at 100,000, peak memory of ``icaht grade`` flat and <= 1 GB.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cohort_scale import tree_run
from results_log import add_row, commit_id

from icaht.core.grading_scheme import icaht_scheme
from icaht.core.kernel import Batch, grade_windows
from icaht.knowledge.profile.grading import IcahtSettings

HERE = Path(__file__).resolve().parent
DAYS = 101
DASHBOARD_ENV = "ICAHT_DASHBOARD_DIR"
TARGET_PANDAS_SPEEDUP = 50.0
TARGET_FLOOR_RATIO = 3.0
#: From this cohort size on the CLI and the pandas grader run once (minutes each).
CLI_ONCE_FROM = 10_000


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
    early, late = grade_windows(scheme, batch)
    return np.stack((early.grade, late.grade))


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


def _icaht() -> list[str]:
    """The console script next to this interpreter, else ``python -m icaht.cli``."""
    script = Path(sys.executable).with_name("icaht")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "icaht.cli"]


def measure(method: str, path: Path, repeat: int) -> dict[str, Any]:
    """``repeat`` runs of ``method`` on ``path``, each in a new process tree: the median wall
    seconds and the largest peak RSS. The CLI is timed end to end (start-up included); the
    in-process methods time their function inside a child running this script with ``--one``."""
    seconds: list[float] = []
    peak = 0.0
    with tempfile.TemporaryDirectory(prefix="icaht-grades-only-", dir=HERE / "data") as work:
        if method == "cli":
            command = [*_icaht(), "grade", "--grades-only", str(path), "--unit", "cells/uL"]
            command += ["--out", str(Path(work) / "grades.csv")]
        else:
            report = Path(work) / "seconds.json"
            command = [sys.executable, __file__, "--one", method, str(path), str(report)]
        for _ in range(repeat):
            wall, mb, _ = tree_run(command)
            inside = None if method == "cli" else json.loads(report.read_text(encoding="utf-8"))
            seconds.append(wall if inside is None else float(inside))
            peak = max(peak, mb)
    return {"seconds": seconds, "median_s": statistics.median(seconds), "peak_mb": peak}


def _required_dashboard() -> tuple[ModuleType, ModuleType]:
    modules = dashboard_modules()
    if modules is None:
        raise SystemExit(f"set {DASHBOARD_ENV} to a checkout of icaht-dashboard")
    return modules


def _job(method: str, path: Path) -> Callable[[], Any]:
    """What :func:`one` times (the pandas grader's modules are imported before)."""
    if method == "pandas":
        return functools.partial(pandas_grader, path, _required_dashboard())
    return functools.partial({"kernel": ours, "duckdb": duckdb_floor}[method], path)


def one(method: str, path: Path, report: Path) -> None:
    """The child of :func:`measure`: run ``method`` once and write its seconds to ``report``."""
    job = _job(method, path)
    gc.collect()
    start = time.perf_counter()
    job()
    report.write_text(json.dumps(time.perf_counter() - start), encoding="utf-8")


def power_law(points: Sequence[tuple[int, float]], n: int) -> tuple[float, float]:
    """Seconds at ``n`` predicted by ``t = a n^b`` through two (patients, seconds) points, and
    the exponent ``b``."""
    (n1, t1), (n2, t2) = points[0], points[-1]
    exponent = float(np.log(t2 / t1) / np.log(n2 / n1))
    return t1 * (n / n1) ** exponent, exponent


def pandas_rows(sizes: Sequence[int], seed: int, budget: float) -> dict[int, Any]:
    """The pandas grader (once per size: minutes each) at 1,000 and 3,000 patients, then at each
    larger size of ``sizes`` run or extrapolated (see the module doc)."""
    measured: dict[int, Any] = {}
    for n in (1_000, 3_000):
        measured[n] = measure("pandas", table(n, seed), 1)
        print(f"pandas grader, {n:,} patients: {measured[n]['median_s']:.1f} s", flush=True)
    points = [(n, measured[n]["median_s"]) for n in (1_000, 3_000)]
    for n in sizes:
        if n in measured:
            continue
        predicted, exponent = power_law(points, n)
        if predicted <= budget:
            measured[n] = measure("pandas", table(n, seed), 1)
        else:
            measured[n] = {"median_s": predicted, "extrapolated": True, "exponent": exponent}
        print(f"pandas grader, {n:,} patients: {measured[n]['median_s']:.1f} s", flush=True)
    return measured


def table(patients: int, seed: int) -> Path:
    """The long table of ``patients`` patients (generated once)."""
    return write_table(
        patients, seed, HERE / "data" / f"grades-only-seed{seed}-n{patients}.parquet"
    )


def run(
    sizes: tuple[int, ...], floor_size: int, repeat: int, seed: int, budget: float, cli_max: int
) -> Any:
    """Every measurement of the grades-only comparison (the CLI up to ``cli_max`` patients)."""
    out: dict[str, Any] = {"repeat": repeat, "days_per_patient": DAYS, "rows": []}
    pandas: dict[int, Any] = {}
    if dashboard_modules() is None:
        print(f"pandas grader skipped: set {DASHBOARD_ENV} to a checkout of icaht-dashboard")
    else:
        pandas = pandas_rows(sizes, seed, budget)
        out["pandas"] = {str(n): pandas[n] for n in sorted(pandas)}
    for n in sorted({*sizes, floor_size}):
        path = table(n, seed)
        row: dict[str, Any] = {"patients": n}
        methods = ("duckdb", "kernel", "cli") if n <= cli_max else ("duckdb", "kernel")
        for method in methods:
            runs = 1 if method == "cli" and n >= CLI_ONCE_FROM else repeat
            row[method] = measure(method, path, runs)
        for method in methods[1:]:
            row[f"{method}_over_floor"] = row[method]["median_s"] / row["duckdb"]["median_s"]
            if n in pandas:
                row["pandas"] = pandas[n]
                row[f"pandas_over_{method}"] = pandas[n]["median_s"] / row[method]["median_s"]
        out["rows"].append(row)
        print(_line(row), flush=True)
    return out


def _line(row: dict[str, Any]) -> str:
    text = f"{row['patients']:>7,} patients: DuckDB floor {row['duckdb']['median_s']:.2f} s"
    for method in ("kernel", "cli")[: 2 if "cli" in row else 1]:
        text += (
            f"; {method} {row[method]['median_s']:.2f} s ({row[f'{method}_over_floor']:.1f}x "
            f"floor, peak {row[method]['peak_mb']:.0f} MB)"
        )
    if "pandas" in row:
        mark = " extrapolated" if row["pandas"].get("extrapolated") else ""
        text += (
            f"; pandas {row['pandas']['median_s']:.1f} s{mark} = "
            f"{row['pandas_over_kernel']:.0f}x kernel, {row.get('pandas_over_cli', 0):.1f}x cli"
        )
    return text


SECTION = "## Grades only (`benchmarks/grades_only.py`)"
HEADER = f"""{SECTION}

Early and late ICAHT of N simulated patients x 101 daily ANC values from one Parquet long table,
end to end, each in a new process tree (median wall seconds of runs, peak RSS of the tree):
`icaht grade --grades-only` (cli, all cores, start-up included), the columnar kernel in one
process (kernel), the public pandas grader of icaht-dashboard (its late step returns no row for
any input; `*` = extrapolated by a power law from 1,000 and 3,000 patients) and DuckDB reading
the lowest ANC per patient-day (floor). Targets: >= 50x pandas at 10,000, <= 3x the floor at
100,000, `icaht grade` peak <= 1 GB and flat. Details: `grades_only.json`.

| date (UTC) | commit | cpus | patients | floor s | kernel s | cli s | pandas s | pandas/kernel \
| pandas/cli | kernel/floor | cli/floor | kernel MB | cli MB |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
"""


def write(result: dict[str, Any], out: Path) -> None:
    """``grades_only.json`` and one README row per cohort size."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "grades_only.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for row in result["rows"]:
        add_row(SECTION, HEADER, "| " + " | ".join(_cells(result, row)) + " |\n", out)


def _cells(result: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """One README row ("-" where a way was not run)."""

    def seconds(method: str, digits: int) -> str:
        return f"{row[method]['median_s']:.{digits}f}" if method in row else "-"

    def ratio(name: str, digits: int, suffix: str = "") -> str:
        return f"{row[name]:.{digits}f}{suffix}" if name in row else "-"

    pandas = row.get("pandas")
    return [
        result["date"],
        result["commit"],
        str(result["cpus"]),
        f"{row['patients']:,}",
        seconds("duckdb", 2),
        seconds("kernel", 2),
        seconds("cli", 1),
        "-"
        if pandas is None
        else f"{pandas['median_s']:.0f}" + "*" * bool(pandas.get("extrapolated")),
        ratio("pandas_over_kernel", 0, "x"),
        ratio("pandas_over_cli", 1, "x"),
        ratio("kernel_over_floor", 1),
        ratio("cli_over_floor", 1),
        f"{row['kernel']['peak_mb']:,.0f}",
        f"{row['cli']['peak_mb']:,.0f}" if "cli" in row else "-",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="*", default=[1_000, 10_000])
    parser.add_argument("--floor-patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--pandas-budget", type=float, default=900.0, help="seconds")
    parser.add_argument(
        "--cli-max-patients", type=int, default=10**9, help="largest cohort the CLI grades"
    )
    parser.add_argument("--one", nargs=3, metavar=("METHOD", "TABLE", "REPORT"), help="child")
    args = parser.parse_args(argv)
    if args.one:
        one(args.one[0], Path(args.one[1]), Path(args.one[2]))
        return
    result = run(
        tuple(args.sizes),
        args.floor_patients,
        args.repeat,
        args.seed,
        args.pandas_budget,
        args.cli_max_patients,
    )
    result |= {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        "commit": commit_id(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    write(result, HERE / "results")


if __name__ == "__main__":
    main()
