"""``make bench``: grade a generated cohort read from Parquet; patients/second and peak memory.

Generates ``--patients`` patients (default 10,000, about 400 observations each) into
``benchmarks/data/`` unless the same seed and size are already there, then times, ``--repeat``
times each (median reported): (a) reading and validating the Parquet set into courses
(``icaht.io.tabular.load_tabular``), (b) assessing every course as of day 365 with the default
profile in this single process (the "per core" figure; like ``icaht grade``, only the flat result
row of each patient is kept), (c) both, end to end. Writes
``benchmarks/results/grading.json`` and appends a line to ``benchmarks/results/README.md``.
A measurement, not a test: the machine is shared and noisy, so compare medians over runs.
``--profile N`` instead prints a cProfile of assessing the first N courses.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil  # type: ignore[import-untyped]
import pyarrow as pa
import pydantic
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_log import add_row, commit_id

import icaht
from cohort import VERSION as COHORT_VERSION
from icaht.core.assessment import assess
from icaht.core.course import Course
from icaht.io.tabular import load_tabular
from icaht.knowledge.profile import Profile, load_profile
from icaht.report.rows import assessment_row

HERE = Path(__file__).resolve().parent
TARGET_PATIENTS_PER_SECOND = 1000.0
AS_OF_DAY = 365
SECTION = "## Grading (`benchmarks/grading.py`)"
HEADER = f"""{SECTION}

`make bench` (= `.venv/bin/python benchmarks/grading.py`) generates a deterministic cohort
(`benchmarks/cohort.py`, 10,000 patients with about 400 observations each, written to the
gitignored `benchmarks/data/`), reads it from Parquet (`icaht.io.tabular.load_tabular`) and
assesses every patient as of day 365 with the default profile (CTCAE, ICAHT, T-ICAHT, recovery
phenotype, support, scores) in one process, keeping each patient's flat row as `icaht grade`
does. Options: `--patients N`, `--seed S`, `--repeat R`, `--profile N` (cProfile of assessing N
patients). Times are medians of the repetitions; peak RSS is the process maximum. Target:
assessment >= 1,000 patients/second per core. Latest details: `grading.json`; per-step costs:
`.venv/bin/python benchmarks/components.py`. Measurements on a shared machine are noisy: compare
medians over several runs.

| date (UTC) | commit | cpus | patients | observations | read s | assess s | assess patients/s \
| end-to-end patients/s | peak RSS MB | target met |
|---|---|---|---|---|---|---|---|---|---|---|
"""


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / (1024 * 1024)


def cohort_folder(patients: int, seed: int) -> Path:
    """The cohort for ``patients``/``seed``, generated unless already complete (manifest)."""
    folder = HERE / "data" / f"cohort-seed{seed}-n{patients}"
    manifest = folder / "manifest.json"
    if manifest.is_file():
        found = json.loads(manifest.read_text(encoding="utf-8"))
        if found.get("generator_version") == COHORT_VERSION and found.get("seed") == seed:
            return folder
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    print(f"generating {patients} patients (seed {seed}) into {folder} ...", flush=True)
    # a child process, so the generator's memory does not count in this process's peak RSS
    command = [sys.executable, str(HERE / "cohort.py"), str(folder), "--patients", str(patients)]
    subprocess.run([*command, "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL)
    made = json.loads(manifest.read_text(encoding="utf-8"))
    print(f"  {made['observations']:,} observations in {time.perf_counter() - started:.1f} s")
    return folder


def assess_all(
    courses: Sequence[Course], profile: Profile, console: Console
) -> list[dict[str, object]]:
    """Assess every course as of day 365 and keep its flat result row, as ``icaht grade`` does
    (the Assessment objects are not retained); a progress bar refreshed in batches."""
    out: list[dict[str, object]] = []
    step = 250
    columns = (TextColumn("assessing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, refresh_per_second=4) as bar:
        task = bar.add_task("assess", total=len(courses))
        for first in range(0, len(courses), step):
            batch = courses[first : first + step]
            out += [assessment_row(assess(c, AS_OF_DAY, profile)) for c in batch]
            bar.update(task, completed=len(out))
    return out


def _summary(rows: Sequence[dict[str, object]]) -> dict[str, dict[str, int]]:
    """How often each grade/phenotype occurs: shows which grading paths the cohort exercised."""
    columns = ["phenotype", "early_icaht", "late_icaht", "early_ticaht", "late_ticaht"]
    columns += ["follow_up_end_reason", "car_hematotox_risk"]
    return {name: dict(sorted(Counter(str(row[name]) for row in rows).items())) for name in columns}


def run(patients: int, seed: int, repeat: int, console: Console) -> dict[str, Any]:
    """Measure read, assess and end to end ``repeat`` times; the result record."""
    folder = cohort_folder(patients, seed)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    profile = load_profile()
    read_s: list[float] = []
    assess_s: list[float] = []
    total_s: list[float] = []
    peak_after_read = 0.0
    summary: dict[str, dict[str, int]] = {}
    for rep in range(repeat):
        gc.collect()
        start = time.perf_counter()
        courses = load_tabular(folder)
        read_done = time.perf_counter()
        peak_after_read = max(peak_after_read, _peak_rss_mb())
        results = assess_all(courses, profile, console)
        done = time.perf_counter()
        if len(results) != manifest["patients"]:
            raise SystemExit(f"assessed {len(results)} of {manifest['patients']} patients")
        read_s.append(read_done - start)
        assess_s.append(done - read_done)
        total_s.append(done - start)
        console.print(
            f"run {rep + 1}/{repeat}: read {read_s[-1]:.2f} s, assess {assess_s[-1]:.2f} s "
            f"({len(courses) / assess_s[-1]:,.0f} patients/s), RSS {_rss_mb():,.0f} MB"
        )
        summary = _summary(results)
        del courses, results
    n = manifest["patients"]
    read_med, assess_med, total_med = (statistics.median(x) for x in (read_s, assess_s, total_s))
    assess_rate = n / assess_med
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit_id(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "cpu_count_physical": psutil.cpu_count(logical=False),
            "platform": platform.platform(),
            "processor": _cpu_model(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pyarrow": pa.__version__,
            "pydantic": pydantic.VERSION,
            "icaht": icaht.__version__,
        },
        "cohort": {"seed": seed, "generator_version": COHORT_VERSION, "folder": str(folder)},
        "patients": n,
        "observations": manifest["observations"],
        "events": manifest["events"],
        "as_of_day": AS_OF_DAY,
        "profile": f"{profile.name}@{profile.version}",
        "repeat": repeat,
        "seconds": {"read": read_s, "assess": assess_s, "total": total_s},
        "median_seconds": {"read": read_med, "assess": assess_med, "total": total_med},
        "observations_per_second_read": manifest["observations"] / read_med,
        "patients_per_second_read": n / read_med,
        "patients_per_second_assess": assess_rate,
        "patients_per_second_end_to_end": n / total_med,
        "ms_per_patient_assess": 1000.0 * assess_med / n,
        "peak_rss_mb_after_read": peak_after_read,
        "peak_rss_mb": _peak_rss_mb(),
        "target_patients_per_second_assess": TARGET_PATIENTS_PER_SECOND,
        "target_met": assess_rate >= TARGET_PATIENTS_PER_SECOND,
        "result_counts": summary,
    }


def write_results(result: dict[str, Any], out: Path) -> None:
    """``grading.json`` (latest run) and one summary line appended to ``README.md``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "grading.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    med = result["median_seconds"]
    cells = (
        result["timestamp"].replace("+00:00", "")[:16],
        result["commit"],
        str(result["machine"]["cpu_count"]),
        f"{result['patients']:,}",
        f"{result['observations']:,}",
        f"{med['read']:.2f}",
        f"{med['assess']:.2f}",
        f"{result['patients_per_second_assess']:,.0f}",
        f"{result['patients_per_second_end_to_end']:,.0f}",
        f"{result['peak_rss_mb']:,.0f}",
        "yes" if result["target_met"] else "no",
    )
    add_row(SECTION, HEADER, "| " + " | ".join(cells) + " |\n", out)


def profile_assessment(patients: int, seed: int, count: int, top: int = 30) -> str:
    """cProfile of assessing the first ``count`` courses: the top functions by own time."""
    courses = load_tabular(cohort_folder(patients, seed))[:count]
    profile = load_profile()
    for course in courses[:50]:  # warm caches (imports, pydantic schemas)
        assess(course, AS_OF_DAY, profile)
    profiler = cProfile.Profile()
    profiler.enable()
    for course in courses:
        assess(course, AS_OF_DAY, profile)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return text.getvalue()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=10_000, help="cohort size")
    parser.add_argument("--seed", type=int, default=20230601, help="cohort seed")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--profile", type=int, metavar="N", help="profile assessing N patients")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    args = parser.parse_args(argv)
    if args.profile:
        print(profile_assessment(args.patients, args.seed, args.profile))
        return
    console = Console()
    result = run(args.patients, args.seed, max(1, args.repeat), console)
    write_results(result, args.out)
    med = result["median_seconds"]
    console.print(
        f"[bold]{result['patients']:,} patients, {result['observations']:,} observations[/]: "
        f"read {med['read']:.2f} s ({result['patients_per_second_read']:,.0f} patients/s), "
        f"assess {med['assess']:.2f} s ([bold]{result['patients_per_second_assess']:,.0f} "
        f"patients/s[/], {result['ms_per_patient_assess']:.2f} ms each), end to end "
        f"{result['patients_per_second_end_to_end']:,.0f} patients/s; peak RSS "
        f"{result['peak_rss_mb']:,.0f} MB; target {TARGET_PATIENTS_PER_SECOND:,.0f}/s "
        + ("[green]met[/]" if result["target_met"] else "[red]not met[/]")
    )
    console.print(f"results: {args.out / 'grading.json'}")


if __name__ == "__main__":
    main()
