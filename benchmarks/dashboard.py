"""``make bench`` (dashboard part): server time of the dashboard pages.

In-process (the application called through Starlette's test client, no network), on the embedded
SQLite database in a temporary folder:

- the patient page (``GET /patient?id=...``: load the stored course, assess it, build the
  timeline figure, render, audit) for one patient with a year of daily ANC, platelets and Hb
  (about 1,000 observations; the same patient as ``benchmarks/service.py``);
- the patient list (``GET /patients``) of 500 patients with a year of follow-up each (labs every
  third day): the first request computes every row ("cold"); later requests reuse the rows of
  patients whose data did not change ("warm").

Targets (issue 6): patient page <= 200 ms for one year of data; list of 500 patients <= 300 ms.
Reports medians (and p95). Writes ``benchmarks/results/dashboard.json`` and appends a row to
``benchmarks/results/README.md``. A measurement, not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results_log import add_row, commit_id  # noqa: E402
from benchmarks.service import one_year_patient  # noqa: E402

from icaht.core.patient_record import PatientRecord  # noqa: E402
from icaht.service.app import create_app  # noqa: E402
from icaht.service.settings import ServiceSettings  # noqa: E402
from icaht.store.database import make_engine, upgrade  # noqa: E402
from icaht.store.patients import import_records  # noqa: E402
from icaht.store.settings import StoreSettings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_PATIENT_MS = 200.0
TARGET_LIST_MS = 300.0
console = Console(stderr=True)


def list_patient(i: int) -> dict[str, Any]:
    """Patient i of the list cohort: labs every third day from day -5 to 365, a CRS episode and
    platelet transfusions; recovery speed varies with i so grades differ across the list."""
    speed = 40 + (i * 37) % 200
    observations = []
    for day in range(-5, 366, 3):
        recovering = min(1.0, max(0.0, (day - 10) / speed))
        observations += [
            {
                "day": day,
                "analyte": "anc",
                "value": round(0.05 + 2.5 * recovering, 2),
                "unit": "10^9/L",
            },
            {
                "day": day,
                "analyte": "platelets",
                "value": round(8 + 150 * recovering, 1),
                "unit": "10^9/L",
            },
            {"day": day, "analyte": "hb", "value": round(7.2 + 5 * recovering, 1), "unit": "g/dL"},
        ]
    events = [{"kind": "transfusion", "start": d, "product": "platelets"} for d in range(5, 40, 7)]
    products = ("axi-cel", "tisa-cel", "liso-cel", "brexu-cel", "ide-cel", "cilta-cel")
    return {
        "patient": {
            "patient_id": f"BENCH-{i:04d}",
            "product": products[i % len(products)],
            "weight_kg": 70,
        },
        "observations": observations,
        "events": [{"kind": "crs", "start": 1, "end": 3, "grade": 1 + i % 3}, *events],
    }


def _store(folder: Path, records: list[dict[str, Any]]) -> StoreSettings:
    store = StoreSettings(data_dir=folder, database_url=None)
    engine = make_engine(store.url())
    upgrade(engine)
    with Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task("import", total=len(records))
        with Session(engine) as session, session.begin():
            for chunk in range(0, len(records), 50):
                batch = [PatientRecord.model_validate(r) for r in records[chunk : chunk + 50]]
                import_records(session, batch, "benchmark")
                progress.advance(task, len(batch))
    engine.dispose()
    return store


def _times(client: TestClient, path: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text[:500]
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


HEADER = "## Dashboard (`benchmarks/dashboard.py`)"
SECTION = (
    f"{HEADER}\n\nServer time in-process on SQLite (medians of `--repeat` requests). Patient "
    "page: one patient with a year of daily ANC, platelets and Hb (~1,000 observations), target "
    "<= 200 ms. List: 500 patients with a year of follow-up; cold = first request (every row "
    "assessed), warm = rows reused while the data are unchanged; target <= 300 ms.\n\n"
    "| date (UTC) | commit | patient page ms (p95) | as of day 60 ms | list patients "
    "| list cold ms | list warm ms (p95) | list filtered+sorted ms | targets met |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    settings = ServiceSettings(demo=True)
    with tempfile.TemporaryDirectory() as tmp:
        console.print("patient page: one patient with a year of daily counts")
        store = _store(Path(tmp) / "one", [one_year_patient("YEAR-1")])
        with TestClient(create_app(settings, store)) as client:
            client.get("/patients")  # demo sign-in, warms imports and templates
            page = _times(client, "/patient?id=YEAR-1", args.repeat)
            asof = _times(client, "/patient?id=YEAR-1&as_of=60", args.repeat)
        console.print(f"patient list: {args.patients} patients")
        store = _store(Path(tmp) / "many", [list_patient(i) for i in range(args.patients)])
        with TestClient(create_app(settings, store)) as client:
            start = time.perf_counter()
            first = client.get("/patients")  # signs in (redirect) and computes every row
            cold = (time.perf_counter() - start) * 1000
            assert first.status_code == 200
            warm = _times(client, "/patients", args.repeat)
            sorted_warm = _times(client, "/patients?sort=icaht&dir=desc&severe=1", args.repeat)
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        "commit": commit_id(),
        "repeat": args.repeat,
        "patient_page_observations": len(one_year_patient("x")["observations"]),
        "patient_page_median_ms": round(statistics.median(page), 1),
        "patient_page_p95_ms": round(_p95(page), 1),
        "patient_page_as_of_60_median_ms": round(statistics.median(asof), 1),
        "list_patients": args.patients,
        "list_cold_ms": round(cold, 1),
        "list_warm_median_ms": round(statistics.median(warm), 1),
        "list_warm_p95_ms": round(_p95(warm), 1),
        "list_filtered_sorted_median_ms": round(statistics.median(sorted_warm), 1),
    }
    result["patient_target_met"] = result["patient_page_median_ms"] <= TARGET_PATIENT_MS
    result["list_target_met"] = result["list_warm_median_ms"] <= TARGET_LIST_MS
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(result, indent=2) + "\n")
    met = "yes" if result["patient_target_met"] and result["list_target_met"] else "no"
    row = (
        f"| {result['date']} | {result['commit']} | {result['patient_page_median_ms']} "
        f"({result['patient_page_p95_ms']}) | {result['patient_page_as_of_60_median_ms']} "
        f"| {args.patients} | {result['list_cold_ms']} | {result['list_warm_median_ms']} "
        f"({result['list_warm_p95_ms']}) | {result['list_filtered_sorted_median_ms']} | {met} |\n"
    )
    add_row(HEADER, SECTION, row)
    console.print_json(json.dumps(result))


if __name__ == "__main__":
    main()
