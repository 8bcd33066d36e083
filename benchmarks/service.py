"""``make bench`` (service part): API latency and bulk import throughput.

For SQLite (the embedded default) and PostgreSQL (a throwaway cluster, as in the tests), this
starts ``icaht serve`` on loopback, stores one synthetic patient with a year of follow-up (about
1,000 observations), and measures ``GET /api/v1/patients/{id}/assessment`` latency (p50, p95, p99)
with 1, 10 and 50 concurrent keep-alive clients (wrk, a C load generator: it takes little of the
two cores the server runs on), twice: with the per-process assessment cache on, as shipped (the
same patient viewed again while its data are unchanged; the target is judged on this) and off
(every request loads and assesses the patient, as if its data changed before every request: the
worst case, also reported against the target). It also times ``icaht db import`` of a
folder of records (observations/second, including validation). Targets (issue 4): p95 <= 50 ms
at 10 clients; import >= 20,000 observations/second on SQLite. Writes
``benchmarks/results/service.json`` and appends a line to ``benchmarks/results/service.md``. A
measurement, not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.load import wrk  # noqa: E402
from benchmarks.results_log import commit_id  # noqa: E402
from tests.utils.icaht_process import running  # noqa: E402
from tests.utils.postgres_harness import postgres_cluster  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CLIENTS = (1, 10, 50)
SECONDS_PER_POINT = 5
WORKERS = 2  # one per core (icaht.service.server sets TCP_NODELAY, which uvicorn workers lacked)
IMPORT_PATIENTS = 300
TARGET_P95_MS_AT_10 = 50.0
TARGET_IMPORT_OBS_PER_S = 20_000.0
console = Console(stderr=True)


def one_year_patient(patient_id: str) -> dict[str, Any]:
    """A patient with daily ANC, platelets and Hb from day -5 to day 330 (~1,000 values)."""
    observations = []
    for day in range(-5, 331):
        recovering = min(1.0, max(0.0, (day - 14) / 120))
        observations += [
            {
                "day": day,
                "analyte": "anc",
                "value": round(0.1 + 2.4 * recovering, 2),
                "unit": "10^9/L",
            },
            {
                "day": day,
                "analyte": "platelets",
                "value": round(12 + 140 * recovering, 1),
                "unit": "10^9/L",
            },
            {"day": day, "analyte": "hb", "value": round(7.5 + 5 * recovering, 1), "unit": "g/dL"},
        ]
    events = [{"kind": "transfusion", "start": d, "product": "platelets"} for d in range(7, 90, 7)]
    return {
        "patient": {"patient_id": patient_id, "product": "axi-cel", "weight_kg": 70},
        "observations": observations,
        "events": [{"kind": "crs", "start": 2, "end": 4, "grade": 2}, *events],
    }


def _icaht(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "icaht.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="icaht-serve-") as folder:
        log = Path(folder) / "serve.log"
        with running(["serve", "--workers", str(WORKERS)], env, log) as server:
            yield server.url


def _measure(name: str, env: dict[str, str]) -> dict[str, Any]:
    with serving(env) as url:
        httpx.post(f"{url}/api/v1/patients", json=one_year_patient("bench-1y"), timeout=60)
        target = f"{url}/api/v1/patients/bench-1y/assessment"
        wrk(target, 1, 1)  # warm-up
        rows = {}
        for clients in CLIENTS:
            rows[str(clients)] = wrk(target, clients, SECONDS_PER_POINT)
            console.print(f"{name}: {clients:>2} clients {rows[str(clients)]}")
    return rows


def measure_backend(name: str, env: dict[str, str]) -> dict[str, Any]:
    _icaht("db", "upgrade", env=env)
    cold = {**env, "ICAHT_ASSESSMENT_CACHE_ENTRIES": "0"}
    return {
        "cold": _measure(f"{name} cache off", cold),
        "cached": _measure(f"{name} cache on", env),
    }


def measure_import(env: dict[str, str], folder: Path) -> dict[str, float]:
    folder.mkdir()
    total = 0
    for i in range(IMPORT_PATIENTS):
        record = one_year_patient(f"imp-{i:04d}")
        total += len(record["observations"])
        (folder / f"{i:04d}.json").write_text(json.dumps(record), encoding="utf-8")
    _icaht("db", "upgrade", env=env)
    started = time.perf_counter()
    _icaht("db", "import", str(folder), env=env)
    seconds = time.perf_counter() - started
    return {
        "observations": total,
        "seconds": round(seconds, 2),
        "observations_per_s": round(total / seconds),
    }


def main() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ICAHT_")}
    work = Path(tempfile.mkdtemp(prefix="icaht-bench-"))
    try:
        sqlite_env = {**base, "ICAHT_DEMO": "1", "ICAHT_DATA_DIR": str(work / "sqlite")}
        results: dict[str, Any] = {"sqlite": measure_backend("sqlite", sqlite_env)}
        with postgres_cluster() as url:
            pg_env = {**base, "ICAHT_DEMO": "1", "ICAHT_DATABASE_URL": url}
            results["postgresql"] = measure_backend("postgresql", pg_env)
        import_env = {**base, "ICAHT_DATA_DIR": str(work / "import")}
        results["import_sqlite"] = measure_import(import_env, work / "records")
        console.print(f"import (SQLite): {results['import_sqlite']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    commit = commit_id()
    results["meta"] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "seconds_per_point": SECONDS_PER_POINT,
        "load_generator": "wrk -t1",
    }
    p95 = {
        (b, mode, n): results[b][mode][n]["p95_ms"]
        for b in ("sqlite", "postgresql")
        for mode in ("cold", "cached")
        for n in ("10", "50")
    }
    import_met = results["import_sqlite"]["observations_per_s"] >= TARGET_IMPORT_OBS_PER_S
    met = {
        mode: import_met
        and all(p95[b, mode, "10"] <= TARGET_P95_MS_AT_10 for b in ("sqlite", "postgresql"))
        for mode in ("cached", "cold")
    }
    results["meta"]["targets_met"] = met
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "service.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    cells = " | ".join(
        f"{p95[b, 'cold', n]} / {p95[b, 'cached', n]}"
        for n in ("10", "50")
        for b in ("sqlite", "postgresql")
    )
    line = (
        f"| {results['meta']['date']} | {commit} | {cells} | "
        f"{results['import_sqlite']['observations_per_s']:,} | "
        f"{' / '.join('yes' if met[mode] else 'no' for mode in ('cached', 'cold'))} |\n"
    )
    table = RESULTS / "service.md"
    header = ""
    if not table.exists() or "load from wrk" not in table.read_text(encoding="utf-8"):
        header = (
            "\n# Service benchmark (`benchmarks/service.py`, load from wrk)\n\n"
            "Assessment endpoint latency for a one-year patient (~1,000 observations) over "
            "loopback HTTP (`icaht serve --workers 2`), p95 in ms at 10 and 50 concurrent "
            f"keep-alive clients for {SECONDS_PER_POINT} s each (wrk), cold / cached: the "
            "assessment cache off (every request loads and assesses: as if the patient's data "
            "changed before every request) / on (as shipped: the same patient again, data "
            f"unchanged); SQLite import of {IMPORT_PATIENTS} records. Targets: p95 <= 50 ms at "
            "10 clients; import >= 20,000 observations/s; met as shipped / cold.\n\n"
            "| date (UTC) | commit | p95 10 SQLite cold / cached | p95 10 PostgreSQL "
            "cold / cached | p95 50 SQLite cold / cached | p95 50 PostgreSQL cold / cached | "
            "import obs/s | targets met (as shipped / cold) |\n"
            "|---|---|---|---|---|---|---|---|\n"
        )
    with table.open("a", encoding="utf-8") as handle:
        handle.write(header + line)
    console.print(f"results: {RESULTS / 'service.json'}; targets met (as shipped, cold): {met}")


if __name__ == "__main__":
    main()
