"""``make bench`` (issue 18): mixed load on the service, reads and writes at once, checking that
every acknowledged write is stored.

For SQLite (the embedded default) and PostgreSQL (a throwaway cluster, as in the tests), this
starts ``icaht serve --workers 2`` in demo mode on loopback, stores :data:`PATIENTS` patients
with a year of follow-up each (``benchmarks/service.py``), then runs two wrk processes at once
for ``--seconds`` (default 60): :data:`READERS` keep-alive clients reading assessments
(``GET /api/v1/patients/{id}/assessment``, the patients in turn; wrk, a C load generator) and
:data:`WRITERS` clients writing one new observation per request (``POST
/api/v1/patients/{id}/data``, a distinct time and value each, so none is a duplicate; httpx,
each client waiting for its answer before the next request and finishing the request under way
when the time is up, so every write sent is either acknowledged or failed). Writes invalidate
the patient's cached assessment, so most reads assess afresh. It reports p50/p95/p99 latency,
requests and errors (socket errors and timeouts after :data:`TIMEOUT_S`, non-2xx answers) of
each side, and compares the writes acknowledged (201 with one observation added) with the
observation rows stored afterwards: they must be equal. Writes
``benchmarks/results/load.json`` and adds a row to ``benchmarks/results/README.md``. A
measurement, not a test: the machine is shared and noisy (the PostgreSQL test cluster runs
with ``fsync=off``, so "stored" means committed, not flushed to disk).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.load import run_wrk  # noqa: E402
from benchmarks.results_log import RESULTS, add_row, commit_id  # noqa: E402
from benchmarks.service import WORKERS, one_year_patient  # noqa: E402
from tests.utils.icaht_process import running  # noqa: E402
from tests.utils.postgres_harness import postgres_cluster  # noqa: E402

from icaht.store.database import make_engine, upgrade  # noqa: E402
from icaht.store.settings import StoreSettings  # noqa: E402
from icaht.store.tables import ObservationRow  # noqa: E402

READERS = WRITERS = 25
PATIENTS = 10
#: Writes start after the stored year (days -5 to 330), so every stored row past it is a write.
FIRST_WRITTEN_DAY = 331
#: Project default: a request unanswered after this many seconds counts as an error.
TIMEOUT_S = 30
console = Console(stderr=True)

# One JSON line from wrk's done(): latency percentiles, requests and failures.
_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "socket_errors": %d, "non_2xx": %d, ' ..
    '"p50_ms": %.1f, "p95_ms": %.1f, "p99_ms": %.1f}\\n',
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""

# The patients' assessments in turn (patient ids after ``--``).
_READ = """
local paths = {}
local sent = 0
init = function(args)
  for i, id in ipairs(args) do paths[i] = "/api/v1/patients/" .. id .. "/assessment" end
end
request = function()
  sent = sent + 1
  return wrk.format("GET", paths[(sent - 1) % #paths + 1])
end
"""


@dataclass
class _Writes:
    latencies_ms: list[float] = field(default_factory=list)
    acknowledged: int = 0
    added: int = 0
    non_2xx: int = 0
    socket_errors: int = 0


async def _writer(
    client: httpx.AsyncClient, ids: list[str], number: int, deadline: float, out: _Writes
) -> None:
    """One client: a new observation per request, to the patients in turn, until ``deadline``."""
    sent = 0
    while time.monotonic() < deadline:
        sent += 1
        day = FIRST_WRITTEN_DAY + (sent * WRITERS + number) / 100_000
        body = {"observations": [{"time": day, "analyte": "anc", "value": 0.5, "unit": "10^9/L"}]}
        started = time.perf_counter()
        try:
            answer = await client.post(f"/api/v1/patients/{ids[sent % len(ids)]}/data", json=body)
        except httpx.TransportError:
            out.socket_errors += 1
            continue
        out.latencies_ms.append((time.perf_counter() - started) * 1000)
        if answer.status_code == 201:
            out.acknowledged += 1
            out.added += answer.json()["observations_added"]
        else:
            out.non_2xx += 1


async def _write_load(url: str, ids: list[str], seconds: int) -> dict[str, Any]:
    out = _Writes()
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=WRITERS)
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S, limits=limits) as client:
        await asyncio.gather(*(_writer(client, ids, n, deadline, out) for n in range(WRITERS)))
    p50, p95, p99 = np.percentile(out.latencies_ms or [0.0], [50, 95, 99])
    return {
        "requests": len(out.latencies_ms) + out.socket_errors,
        "socket_errors": out.socket_errors,
        "non_2xx": out.non_2xx,
        "acknowledged": out.acknowledged,
        "added": out.added,
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
        "p99_ms": round(float(p99), 1),
    }


def _stored_writes(store: StoreSettings) -> int:
    """Observation rows stored after the year each patient started with: the writes."""
    engine = make_engine(store.url())
    with Session(engine) as session:
        count = session.scalar(
            select(func.count())
            .select_from(ObservationRow)
            .where(ObservationRow.day >= FIRST_WRITTEN_DAY)
        )
    engine.dispose()
    return count or 0


def measure(name: str, env: dict[str, str], store: StoreSettings, seconds: int) -> dict[str, Any]:
    """Readers and writers at once on one backend; the acknowledged writes against the rows."""
    engine = make_engine(store.url())
    upgrade(engine)
    engine.dispose()
    ids = [f"load-{i:02d}" for i in range(PATIENTS)]
    with tempfile.TemporaryDirectory(prefix="icaht-load-") as folder:
        log = Path(folder) / "serve.log"
        with running(["serve", "--workers", str(WORKERS)], env, log) as server:
            for key in ids:
                stored = httpx.post(
                    f"{server.url}/api/v1/patients", json=one_year_patient(key), timeout=60
                )
                stored.raise_for_status()
            sides: dict[str, Callable[[], dict[str, Any]]] = {
                "read": lambda: run_wrk(
                    server.url, READERS, seconds, _READ + _REPORT, ids, timeout=TIMEOUT_S
                ),
                "write": lambda: asyncio.run(_write_load(server.url, ids, seconds)),
            }
            with ThreadPoolExecutor(len(sides)) as pool:
                running_sides = {side: pool.submit(run) for side, run in sides.items()}
                row = {side: future.result() for side, future in running_sides.items()}
            server_errors = server.output().count("Traceback")
    stored = _stored_writes(store)
    write = row["write"]
    row["stored_writes"] = stored
    row["server_tracebacks"] = server_errors
    row["writes_match"] = write["acknowledged"] == write["added"] == stored
    console.print(f"{name}: {row}")
    return row


def _line(results: dict[str, Any]) -> str:
    cells = []
    for backend in ("sqlite", "postgresql"):
        r = results[backend]
        read, write = r["read"], r["write"]
        errors = sum(r[s]["socket_errors"] + r[s]["non_2xx"] for s in ("read", "write"))
        cells += [
            f"{read['p50_ms']} / {read['p95_ms']} / {read['p99_ms']}",
            f"{write['p50_ms']} / {write['p95_ms']} / {write['p99_ms']}",
            f"{read['requests']} / {write['requests']}",
            str(errors),
            f"{write['acknowledged']} = {r['stored_writes']}"
            if r["writes_match"]
            else f"{write['acknowledged']} != {r['stored_writes']}",
        ]
    meta = results["meta"]
    return f"| {meta['date']} | {meta['commit']} | {meta['seconds']} | {' | '.join(cells)} |\n"


_HEADER = (
    "## Mixed load (`benchmarks/load_mixed.py`)\n\n"
    f"`icaht serve --workers {WORKERS}` in demo mode, {READERS} clients reading assessments and "
    f"{WRITERS} writing one observation per request at once (wrk and httpx), {PATIENTS} one-year "
    "patients; "
    "latency p50 / p95 / p99 in ms; requests read / write; errors (socket errors and non-2xx); "
    "acknowledged writes against stored rows.\n\n"
    "| date (UTC) | commit | seconds | SQLite read | SQLite write | SQLite requests | SQLite "
    "errors | SQLite acked = stored | PostgreSQL read | PostgreSQL write | PostgreSQL requests "
    "| PostgreSQL errors | PostgreSQL acked = stored |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="duration of the load (s)")
    seconds = parser.parse_args().seconds
    base = {k: v for k, v in os.environ.items() if not k.startswith("ICAHT_")}
    work = Path(tempfile.mkdtemp(prefix="icaht-load-"))
    try:
        sqlite_store = StoreSettings(data_dir=work / "sqlite", database_url=None)
        sqlite_env = {**base, "ICAHT_DEMO": "1", "ICAHT_DATA_DIR": str(work / "sqlite")}
        results: dict[str, Any] = {"sqlite": measure("sqlite", sqlite_env, sqlite_store, seconds)}
        with postgres_cluster() as url:
            pg_env = {**base, "ICAHT_DEMO": "1", "ICAHT_DATABASE_URL": url}
            pg_store = StoreSettings(database_url=url)
            results["postgresql"] = measure("postgresql", pg_env, pg_store, seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["meta"] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        "commit": commit_id(),
        "cpus": os.cpu_count(),
        "seconds": seconds,
        "readers": READERS,
        "writers": WRITERS,
        "patients": PATIENTS,
        "workers": WORKERS,
        "load_generator": "wrk -t1 (reads), httpx asyncio (writes)",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    add_row("## Mixed load", _HEADER, _line(results))
    if not all(results[b]["writes_match"] for b in ("sqlite", "postgresql")):
        raise SystemExit("acknowledged writes differ from the stored rows")


if __name__ == "__main__":
    main()
