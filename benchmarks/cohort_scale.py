"""``make bench``: ``icaht cohort assess`` on a 100,000-patient synthetic cohort from Parquet.

Measures, in one run on this machine:

* our end-to-end time: ``icaht cohort assess COHORT --out results.parquet --workers W`` as a
  subprocess (start-up, partitioning, validation, the row function per patient - an assessment
  as of the end of follow-up and the rules as of day 30 and day 90 - and writing),
  patients/second, and the peak resident memory
  of the whole process tree (the CLI and its worker processes, sampled by psutil every 50 ms);
* the I/O floor: the time DuckDB needs to scan the same Parquet columns (every column of the
  three tables) and aggregate them per patient-day (observations per patient, calendar day and
  analyte; events per patient, day and kind; patients per id) - ratio (a) = ours / floor;
* where a worker's time goes (one core, the first partition): loading (read, validate,
  normalise) and the row function (the assessment and the two rule checkpoints), in ms per
  patient;
* early ICAHT grading: ours (``icaht.core.icaht.grade_early_icaht`` per patient on the columnar
  ANC arrays) against a straightforward pandas ``groupby().apply()`` implementation of the same
  published method written below (the baseline), on the same ``--baseline-patients`` patients,
  with the share of patients on which both give the same grade - ratio (b) = pandas / ours.

Targets (issue 7): within 3x of the floor, >= 20x faster than pandas, peak memory < 2 GB.
The cohort is made by ``icaht simulate`` (Parquet, one row group per 1,000 patients) into the
gitignored ``benchmarks/data/``, once per size and seed. Results: ``benchmarks/results/
cohort.json`` and a line in ``benchmarks/results/README.md``. Times are medians of ``--repeat``
runs (cheap stages run at least 3 times). A measurement, not a test: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import psutil  # type: ignore[import-untyped]
import pyarrow as pa
import pyarrow.parquet as pq
from results_log import add_row, commit_id

import icaht
from icaht.cohort.partitions import plan
from icaht.cohort.results import cohort_row
from icaht.core.neutrophil_icaht import grade_early_icaht
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.icaht_criteria import (
    ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L,
    ANC_PROFOUND_10E9_PER_L,
    ANC_SEVERE_10E9_PER_L,
    EARLY_WINDOW_END_DAY,
    ICAHT_EARLY_PROFOUND_DURATION_GRADES,
    ICAHT_EARLY_SEVERE_DURATION_GRADES,
)
from icaht.knowledge.profile import load_profile
from icaht.knowledge.profile.grading import IcahtSettings

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TARGET_FLOOR_RATIO = 3.0
TARGET_PANDAS_SPEEDUP = 20.0
TARGET_PEAK_MB = 2048.0
#: The early window closed at the end of day 30 (values of day 30 included), as-of follow-up.
EARLY_END_DAY = EARLY_WINDOW_END_DAY + 1 - 1e-6
SECTION = "## Cohort scale (`benchmarks/cohort_scale.py`)"
HEADER = (
    f"{SECTION}\n\n"
    "`icaht cohort assess` (local engine, all cores) on a synthetic cohort (`icaht simulate`, "
    "Parquet) end to end as a subprocess: per patient an assessment as of the end of follow-up "
    "and the rules as of day 30 and day 90, peak RSS of the process tree. Floor = DuckDB "
    "scanning the same Parquet columns and aggregating per patient-day; pandas = a groupby-apply "
    "early ICAHT baseline against `grade_early_icaht` on the same patients (agreement = same "
    "grade); grades-only = `icaht grade --grades-only` of the same cohort (rules not run). "
    "Targets: <= 3x the floor, >= 20x pandas, < 2 GB. Medians of runs; details in "
    "`cohort.json`.\n\n"
    "| date (UTC) | commit | cpus | patients | observations | ours s | patients/s | floor s "
    "| ours/floor | pandas speed-up (agreement) | peak MB | grades-only s (peak MB) "
    "| ours/grades-only | targets met |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


# -- the cohort -----------------------------------------------------------------------------------
def cohort_folder(patients: int, seed: int) -> Path:
    """The simulated cohort, generated (in a child process) unless already there."""
    folder = HERE / "data" / f"cohort-scale-seed{seed}-n{patients}"
    manifest = folder / "simulation.manifest"
    if manifest.is_file():
        found = json.loads(manifest.read_text(encoding="utf-8"))
        if found.get("patients") == patients and found.get("seed") == seed:
            return folder
    if folder.exists():
        raise SystemExit(f"{folder} exists but is not a complete cohort: remove it")
    print(f"simulating {patients:,} patients (seed {seed}) into {folder} ...", flush=True)
    started = time.perf_counter()
    command = [sys.executable, "-m", "icaht.cli", "simulate", "--n", str(patients)]
    command += ["--seed", str(seed), "--out", str(folder), "--format", "parquet"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


# -- our engine, end to end -----------------------------------------------------------------------
class TreeMemory(threading.Thread):
    """Peak of the summed RSS of a process and all its descendants, sampled periodically."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop_event = threading.Event()

    def _sample(self) -> int:
        total = 0
        try:
            family = [self.process, *self.process.children(recursive=True)]
        except psutil.Error:
            return 0
        for member in family:
            try:
                total += member.memory_info().rss
            except psutil.Error:
                continue
        return total

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def tree_run(command: list[str]) -> tuple[float, float, str]:
    """One run of ``command``: wall seconds, peak RSS (MB) of its process tree, its stderr."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    monitor = TreeMemory(child.pid)
    monitor.start()
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - started
    monitor.stop()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{stdout}\n{stderr}")
    return seconds, monitor.peak / 2**20, stderr


def run_engine(folder: Path, workers: int, work: Path, grades_only: bool = False) -> dict[str, Any]:
    """``icaht cohort assess`` (or, with ``grades_only``, ``icaht grade --grades-only``) of the
    cohort as a subprocess: wall seconds, rows written and the peak RSS of its process tree."""
    cli = [sys.executable, "-m", "icaht.cli"]
    if grades_only:
        out = work / "grades.csv"
        command = [*cli, "grade", "--grades-only", str(folder), "--out", str(out)]
    else:
        out = work / "results.parquet"
        command = [*cli, "cohort", "assess", str(folder), "--out", str(out)]
    seconds, peak_mb, stderr = tree_run([*command, "--workers", str(workers)])
    if grades_only:
        with out.open(encoding="utf-8") as handle:
            rows = sum(1 for _ in handle) - 1
    else:
        rows = pq.ParquetFile(out).metadata.num_rows
    message = [line for line in stderr.splitlines() if "assessed" in line or "graded" in line]
    return {
        "seconds": seconds,
        "rows": rows,
        "peak_rss_mb": peak_mb,
        "message": message[-1] if message else "",
    }


# -- the I/O floor --------------------------------------------------------------------------------
def duckdb_floor(folder: Path) -> dict[str, Any]:
    """Scan every column of the three tables and aggregate per patient-day (DuckDB, all cores)."""
    observations = str(folder / "observations.parquet")
    events = str(folder / "events.parquet")
    patients = str(folder / "patients.parquet")
    obs_columns = pq.read_schema(observations).names
    aggregates = ", ".join(
        f'min("{c}"), max("{c}")' if c in ("value", "lln", "uln") else f'count("{c}")'
        for c in obs_columns
        if c not in ("patient_id", "day", "analyte")
    )
    queries = {
        "observations": f"SELECT count(*) FROM (SELECT patient_id, floor(day) AS d, analyte, "
        f"count(*), {aggregates} FROM read_parquet('{observations}') GROUP BY ALL)",
        "events": "SELECT count(*) FROM (SELECT patient_id, floor(start) AS d, kind, count(*), "
        + ", ".join(
            f'count("{c}")'
            for c in pq.read_schema(events).names
            if c not in ("patient_id", "start", "kind")
        )
        + f" FROM read_parquet('{events}') GROUP BY ALL)",
        "patients": "SELECT count(DISTINCT patient_id), "
        + ", ".join(f'count("{c}")' for c in pq.read_schema(patients).names if c != "patient_id")
        + f" FROM read_parquet('{patients}')",
    }
    connection = duckdb.connect()
    started = time.perf_counter()
    groups = {name: connection.execute(sql).fetchall()[0][0] for name, sql in queries.items()}
    seconds = time.perf_counter() - started
    connection.close()
    return {"seconds": seconds, "groups": groups, "threads": os.cpu_count()}


# -- early ICAHT: ours and the pandas baseline ----------------------------------------------------
def anc_columns(
    folder: Path, patients: int
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """ANC (canonical 10^9/L, validated by our reader) of the first ``patients`` patients:
    ids, row bounds per patient, days, values."""
    ids: list[str] = []
    days: list[np.ndarray] = []
    values: list[np.ndarray] = []
    cohort = plan(folder)
    try:
        for partition in cohort.partitions:
            courses, _, _ = partition.load()
            for course in courses:
                series = course.series(Analyte.ANC)
                ids.append(course.facts.patient_id)
                days.append(series.day)
                values.append(series.value)
                if len(ids) >= patients:
                    break
            if len(ids) >= patients:
                break
    finally:
        cohort.close()
    sizes = np.array([d.size for d in days])
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    return ids, bounds, np.concatenate(days), np.concatenate(values)


def ours_early_icaht(
    bounds: np.ndarray, day: np.ndarray, value: np.ndarray, settings: IcahtSettings
) -> list[int | None]:
    grades: list[int | None] = []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        result = grade_early_icaht(
            day[lo:hi], value[lo:hi], end_day=EARLY_END_DAY, end_reason="as-of", settings=settings
        )
        grades.append(result.grade)
    return grades


def _table_grade(duration: int, table: Sequence[tuple[int, int]]) -> int:
    grade = 0
    for minimum, value in table:
        if duration >= minimum:
            grade = value
    return grade


def _runs(under: pd.Series, join_gap: int) -> list[tuple[int, int]]:
    """Runs of True days, joined across gaps of at most ``join_gap`` days (the gap counts)."""
    runs: list[tuple[int, int]] = []
    for day, flag in under.items():
        if not flag:
            continue
        if runs and int(day) - runs[-1][1] - 1 <= join_gap:  # type: ignore[call-overload]
            runs[-1] = (runs[-1][0], int(day))  # type: ignore[call-overload]
        else:
            runs.append((int(day), int(day)))  # type: ignore[call-overload]
    return runs


def pandas_early_icaht_one(group: pd.DataFrame, settings: IcahtSettings) -> float:
    """Early ICAHT of one patient, the published method written plainly in pandas (the
    baseline): lowest ANC per day in day 0-30, linear interpolation over gaps of at most 7 days
    (rounded to 0.01), longest run <= 0.5 / <= 0.1 with gaps of <= 2 days joined, the ICAHT
    Table 1 grades, and the extra grade 4 for neutropenia from day 0-3 lasting to the last value."""
    window = group[(group["day"] >= 0) & (group["day"] < EARLY_WINDOW_END_DAY + 1)]
    if window.empty:
        return math.nan
    daily = window.groupby(np.floor(window["day"]).astype(int))["value"].min()
    grid = daily.reindex(range(0, EARLY_WINDOW_END_DAY + 1))
    missing = grid.isna()
    gap_id = (missing != missing.shift()).cumsum()
    gap_length = missing.groupby(gap_id).transform("sum")
    filled = grid.interpolate(limit_area="inside").round(ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L)
    filled[missing & (gap_length > settings.interpolation_max_gap_days)] = np.nan
    filled[~missing] = grid[~missing]
    severe = _runs(filled <= ANC_SEVERE_10E9_PER_L, settings.join_gap_days)
    profound = _runs(filled <= ANC_PROFOUND_10E9_PER_L, settings.join_gap_days)
    d05 = max((b - a + 1 for a, b in severe), default=0)
    d01 = max((b - a + 1 for a, b in profound), default=0)
    grade = max(
        _table_grade(d05, ICAHT_EARLY_SEVERE_DURATION_GRADES),
        _table_grade(d01, ICAHT_EARLY_PROFOUND_DURATION_GRADES),
    )
    last = int(daily.index.max())
    if (
        severe
        and severe[-1][0] <= settings.early_grade4_onset_max_day
        and severe[-1][1] == last
        and EARLY_WINDOW_END_DAY - last <= settings.interpolation_max_gap_days
    ):
        grade = 4
    return float(grade)


def pandas_early_icaht(frame: pd.DataFrame, settings: IcahtSettings) -> pd.Series:
    return frame.groupby("patient_id", sort=False)[["day", "value"]].apply(
        lambda g: pandas_early_icaht_one(g, settings)
    )


def _median_time(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def grading_comparison(folder: Path, patients: int, repeat: int) -> dict[str, Any]:
    settings = load_profile().icaht
    ids, bounds, day, value = anc_columns(folder, patients)
    frame = pd.DataFrame(
        {
            "patient_id": np.repeat(np.array(ids, dtype=object), np.diff(bounds)),
            "day": day,
            "value": value,
        }
    )
    ours_s, ours = _median_time(lambda: ours_early_icaht(bounds, day, value, settings), repeat)
    pandas_s, baseline = _median_time(lambda: pandas_early_icaht(frame, settings), repeat)
    theirs = [None if math.isnan(g) else int(g) for g in baseline.reindex(ids).tolist()]
    same = sum(1 for a, b in zip(ours, theirs, strict=True) if a == b)
    return {
        "patients": len(ids),
        "anc_values": int(day.size),
        "ours_seconds": ours_s,
        "pandas_seconds": pandas_s,
        "speedup": pandas_s / ours_s,
        "agreement": same / len(ids),
        "ours_ms_per_patient": 1000 * ours_s / len(ids),
        "pandas_ms_per_patient": 1000 * pandas_s / len(ids),
    }


def breakdown(folder: Path, repeat: int) -> dict[str, Any]:
    """Where a worker's time goes, in this process on one core: loading the first partition
    (read, validate, normalise into courses) and the row function (assessment and checkpoints)."""
    profile = load_profile()
    cohort = plan(folder)
    try:
        partition = next(cohort.partitions)
        load_s, loaded = _median_time(partition.load, repeat)
    finally:
        cohort.close()
    courses = loaded[0]
    row_s, _ = _median_time(lambda: [cohort_row(c, None, profile) for c in courses], repeat)
    return {
        "patients": len(courses),
        "load_ms_per_patient": 1000 * load_s / len(courses),
        "row_ms_per_patient": 1000 * row_s / len(courses),
    }


# -- results --------------------------------------------------------------------------------------
def write_results(result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / "cohort.json"
    tmp = target.with_name(target.name + ".partial")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    tmp.replace(target)
    met = result["targets_met"]
    cells = (
        result["timestamp"].replace("+00:00", "")[:16],
        result["commit"],
        str(result["machine"]["cpu_count"]),
        f"{result['patients']:,}",
        f"{result['observations']:,}",
        f"{result['ours']['median_seconds']:.1f}",
        f"{result['ours']['patients_per_second']:,.0f}",
        f"{result['floor']['median_seconds']:.2f}",
        f"{result['ratio_ours_to_floor']:.1f}",
        f"{result['grading']['speedup']:.0f}x ({100 * result['grading']['agreement']:.1f}%)",
        f"{result['ours']['peak_rss_mb']:,.0f}",
        f"{result['grades_only']['seconds']:.1f} ({result['grades_only']['peak_rss_mb']:,.0f})",
        f"{result['ratio_full_to_grades_only']:.2f}",
        ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in met.items()),
    )
    add_row(SECTION, HEADER, "| " + " | ".join(cells) + " |\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=100_000, help="cohort size")
    parser.add_argument("--seed", type=int, default=2023, help="cohort seed")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=1, help="end-to-end runs (median)")
    parser.add_argument(
        "--baseline-patients", type=int, default=5000, help="patients in the pandas comparison"
    )
    args = parser.parse_args(argv)
    folder = cohort_folder(args.patients, args.seed)
    manifest = json.loads((folder / "simulation.manifest").read_text(encoding="utf-8"))
    cheap = max(3, args.repeat)

    floors = [duckdb_floor(folder) for _ in range(cheap)]
    floor_s = statistics.median(f["seconds"] for f in floors)
    print(f"DuckDB floor: {floor_s:.2f} s (median of {cheap})", flush=True)

    runs: list[dict[str, Any]] = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="icaht-bench-", dir=HERE / "data") as work:
            runs.append(run_engine(folder, args.workers, Path(work)))
        print(
            f"ours run {i + 1}: {runs[-1]['seconds']:.1f} s, peak "
            f"{runs[-1]['peak_rss_mb']:,.0f} MB; {runs[-1]['message']}",
            flush=True,
        )
        if runs[-1]["rows"] != manifest["patients"]:
            raise SystemExit(f"{runs[-1]['rows']} rows for {manifest['patients']} patients")
    ours_s = statistics.median(r["seconds"] for r in runs)
    peak = max(r["peak_rss_mb"] for r in runs)
    with tempfile.TemporaryDirectory(prefix="icaht-bench-", dir=HERE / "data") as work:
        grades = run_engine(folder, args.workers, Path(work), grades_only=True)
    print(
        f"grades only: {grades['seconds']:.1f} s, peak {grades['peak_rss_mb']:,.0f} MB; "
        f"{grades['message']}",
        flush=True,
    )

    grading = grading_comparison(folder, min(args.baseline_patients, args.patients), cheap)
    print(
        f"early ICAHT on {grading['patients']:,} patients: ours {grading['ours_seconds']:.2f} s, "
        f"pandas {grading['pandas_seconds']:.2f} s ({grading['speedup']:.0f}x; same grade for "
        f"{100 * grading['agreement']:.1f}%)",
        flush=True,
    )
    per_patient = breakdown(folder, cheap)
    print(
        f"one core, {per_patient['patients']:,} patients: load "
        f"{per_patient['load_ms_per_patient']:.2f} ms/patient, row (assessment and checkpoints) "
        f"{per_patient['row_ms_per_patient']:.2f} ms/patient",
        flush=True,
    )
    ratio = ours_s / floor_s
    result = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit_id(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "icaht": icaht.__version__,
            "duckdb": duckdb.__version__,
            "pandas": pd.__version__,
            "pyarrow": pa.__version__,
            "load_average": os.getloadavg(),
        },
        "cohort": {"folder": str(folder), "seed": args.seed, "generator": "icaht simulate"},
        "patients": manifest["patients"],
        "observations": manifest["observations"],
        "events": manifest["events"],
        "workers": args.workers,
        "ours": {
            "seconds": [r["seconds"] for r in runs],
            "median_seconds": ours_s,
            "patients_per_second": manifest["patients"] / ours_s,
            "peak_rss_mb": peak,
            "message": runs[-1]["message"],
        },
        "floor": {
            "engine": "duckdb",
            "seconds": [f["seconds"] for f in floors],
            "median_seconds": floor_s,
            "groups": floors[-1]["groups"],
        },
        "grades_only": {
            "command": "icaht grade --grades-only",
            "seconds": grades["seconds"],
            "patients_per_second": manifest["patients"] / grades["seconds"],
            "peak_rss_mb": grades["peak_rss_mb"],
            "rows": grades["rows"],
        },
        "ratio_full_to_grades_only": ours_s / grades["seconds"],
        "ratio_ours_to_floor": ratio,
        "grading": grading,
        "per_patient_one_core": per_patient,
        "targets": {
            "ours_to_floor_at_most": TARGET_FLOOR_RATIO,
            "pandas_speedup_at_least": TARGET_PANDAS_SPEEDUP,
            "peak_mb_below": TARGET_PEAK_MB,
        },
        "targets_met": {
            "floor": ratio <= TARGET_FLOOR_RATIO,
            "pandas": grading["speedup"] >= TARGET_PANDAS_SPEEDUP,
            "memory": peak < TARGET_PEAK_MB,
        },
    }
    write_results(result)
    rate = manifest["patients"] / ours_s
    print(
        f"{manifest['patients']:,} patients: {ours_s:.1f} s ({rate:,.0f} patients/s), "
        f"{ratio:.1f}x the DuckDB floor, early ICAHT {grading['speedup']:.0f}x pandas, "
        f"peak {peak:,.0f} MB; targets: {result['targets_met']}"
    )


if __name__ == "__main__":
    main()
