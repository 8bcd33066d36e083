"""Write a synthetic cohort: the tabular form (Parquet or CSV), one JSON record per patient, or
FHIR NDJSON (through :mod:`icaht.io.fhir` when it is installed).

Patients are generated and written in chunks: a chunk's rows go out (one Parquet row group per
chunk and table) before the next chunk is drawn, so memory does not grow with the cohort. Output
goes to a ``DIR.partial`` folder renamed to ``DIR`` at the end: an interrupted run leaves no
half-written cohort behind.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from icaht.atomic import atomic_dir
from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.simulate.patient import ANALYTES, SimulatedPatient, simulate_patient

GENERATOR_VERSION: Final = 1
DEFAULT_CHUNK: Final = 1000

_TYPES = {"s": pa.string(), "f": pa.float64(), "i": pa.int64(), "b": pa.bool_(), "d": pa.date32()}


def _schema(spec: str) -> pa.Schema:
    return pa.schema([(name, _TYPES[k]) for name, k in (w.split(":") for w in spec.split())])


PATIENTS_SCHEMA: Final = _schema(
    "patient_id:s age_years:f sex:s weight_kg:f diagnosis:s product:s target:s "
    "costimulatory_domain:s ld_regimen:s ld_start:f infusion_date:d prior_auto_hct:b "
    "prior_allo_hct:b stored_cells:s chip:b marrow_disease_pct:f"
)
OBSERVATIONS_SCHEMA: Final = _schema("patient_id:s analyte:s day:f value:f unit:s lln:f uln:f")
EVENTS_SCHEMA: Final = _schema(
    "patient_id:s kind:s start:f end:f grade:i temperature_c:f severity:s site:s organism:s "
    "product:s units:i irradiated:b drug:s dose:f dose_unit:s frequency:s status:s name:s "
    "cause:s cellularity:s malignant_infiltration:b mds:b dysplasia:b hemophagocytosis:b "
    "megakaryopoiesis:s"
)


def simulate_patients(n: int, seed: int) -> Iterator[SimulatedPatient]:
    """Patients 0..n-1 of the cohort ``seed``, one at a time."""
    _check(n, seed)
    for index in range(n):
        yield simulate_patient(seed, index)


def simulate_records(n: int, seed: int) -> Iterator[PatientRecord]:
    """PatientRecords of patients 0..n-1 of the cohort ``seed``, one at a time (deterministic;
    patient i does not depend on n)."""
    for patient in simulate_patients(n, seed):
        yield patient.to_record()


def _check(n: int, seed: int) -> None:
    problems = []
    if n < 0:
        problems.append(Problem("simulate", "must be 0 or more", field="n", value=n))
    if seed < 0:
        problems.append(Problem("simulate", "must be 0 or more", field="seed", value=seed))
    if problems:
        raise InputError(problems)


@dataclass
class Summary:
    """What was written (the manifest)."""

    generator_version: int
    seed: int
    format: str
    patients: int = 0
    observations: int = 0
    events: int = 0
    chunks: int = 0
    files: dict[str, int] = field(default_factory=dict)
    truth: dict[str, int] = field(default_factory=dict)

    def add_truth(self, patient: SimulatedPatient) -> None:
        facts = patient.truth
        for key in (
            f"product:{facts.product}",
            f"hematotox:{'high' if facts.high_risk else 'low'}",
            f"phenotype:{facts.phenotype}",
            *(["tpo_ra"] if facts.tpo_ra else []),
        ):
            self.truth[key] = self.truth.get(key, 0) + 1


def _chunks(n: int, seed: int, chunk: int) -> Iterator[list[SimulatedPatient]]:
    for first in range(0, n, chunk):
        yield [simulate_patient(seed, i) for i in range(first, min(first + chunk, n))]


def _patients_table(chunk: list[SimulatedPatient]) -> pa.Table:
    columns = {name: [p.facts.get(name) for p in chunk] for name in PATIENTS_SCHEMA.names}
    return pa.Table.from_pydict(columns, PATIENTS_SCHEMA)


def _observations_table(chunk: list[SimulatedPatient]) -> pa.Table:
    sizes = np.array([p.code.size for p in chunk])
    ids = np.repeat(np.array([p.facts["patient_id"] for p in chunk], dtype=object), sizes)
    code = np.concatenate([p.code for p in chunk])
    names = np.array([a.name for a in ANALYTES], dtype=object)
    units = np.array([a.unit for a in ANALYTES], dtype=object)
    lln = np.array([np.nan if a.lln is None else a.lln for a in ANALYTES])
    uln = np.array([np.nan if a.uln is None else a.uln for a in ANALYTES])
    low, high = lln[code], uln[code]
    return pa.Table.from_arrays(
        [
            pa.array(ids, pa.string()),
            pa.array(names[code], pa.string()),
            pa.array(np.concatenate([p.day for p in chunk])),
            pa.array(np.concatenate([p.value for p in chunk])),
            pa.array(units[code], pa.string()),
            pa.array(low, mask=np.isnan(low)),
            pa.array(high, mask=np.isnan(high)),
        ],
        schema=OBSERVATIONS_SCHEMA,
    )


def _events_table(chunk: list[SimulatedPatient]) -> pa.Table:
    rows = [{"patient_id": p.facts["patient_id"], **e} for p in chunk for e in p.events]
    return pa.Table.from_pylist(rows, EVENTS_SCHEMA)


class _TabularSink:
    """Writes each chunk's three tables (Parquet: one row group per chunk; CSV: appended)."""

    def __init__(self, folder: Path, suffix: str, stack: ExitStack) -> None:
        self.writers: dict[str, Any] = {}
        for name, schema in (
            ("patients", PATIENTS_SCHEMA),
            ("observations", OBSERVATIONS_SCHEMA),
            ("events", EVENTS_SCHEMA),
        ):
            path = folder / f"{name}.{suffix}"
            if suffix == "parquet":
                writer: Any = pq.ParquetWriter(path, schema)
            else:
                writer = pacsv.CSVWriter(path, schema)
            self.writers[name] = stack.enter_context(writer)

    def write(self, chunk: list[SimulatedPatient], summary: Summary) -> None:
        for name, table in (
            ("patients", _patients_table(chunk)),
            ("observations", _observations_table(chunk)),
            ("events", _events_table(chunk)),
        ):
            if isinstance(self.writers[name], pq.ParquetWriter):
                self.writers[name].write_table(table, row_group_size=max(table.num_rows, 1))
            else:
                self.writers[name].write_table(table)
        summary.observations += sum(p.code.size for p in chunk)
        summary.events += sum(len(p.events) for p in chunk)


FORMATS: Final = ("parquet", "csv", "json", "fhir-ndjson")


def fhir_writer() -> Callable[[Iterable[PatientRecord], Path], dict[str, int]] | None:
    """``icaht.io.fhir.write_ndjson`` if that module is installed, else None."""
    if importlib.util.find_spec("icaht.io.fhir") is None:
        return None
    fhir = importlib.import_module("icaht.io.fhir")
    writer = getattr(fhir, "write_ndjson", None)
    return writer if callable(writer) else None


def available_formats() -> tuple[str, ...]:
    """The output formats this installation can write (FHIR NDJSON needs ``icaht.io.fhir``)."""
    return FORMATS if importlib.util.find_spec("icaht.io.fhir") is not None else FORMATS[:3]


def write_cohort(
    out: Path,
    n: int,
    seed: int,
    fmt: str = "parquet",
    *,
    chunk: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
) -> Summary:
    """Generate ``n`` patients of cohort ``seed`` into the folder ``out`` (new or empty) in
    ``fmt``; ``on_progress(patients_done)`` after each chunk. Returns the manifest (also written
    as ``manifest.json``)."""
    _check(n, seed)
    problems = []
    if fmt not in available_formats():
        problems.append(
            Problem(
                "simulate",
                f"use one of {', '.join(available_formats())}",
                field="format",
                value=fmt,
            )
        )
    if chunk < 1:
        problems.append(Problem("simulate", "must be 1 or more", field="chunk", value=chunk))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        problems.append(Problem(str(out), "output must be a new or empty folder"))
    if problems:
        raise InputError(problems)
    summary = Summary(GENERATOR_VERSION, seed, fmt)
    with atomic_dir(out) as staging:
        _write(staging, n, seed, fmt, chunk, summary, on_progress)
        for path in sorted(staging.iterdir()):
            summary.files[path.name] = path.stat().st_size if path.is_file() else 0
        manifest = json.dumps(summary.__dict__, indent=2, sort_keys=True) + "\n"
        (staging / "simulation.manifest").write_text(manifest, encoding="utf-8")
    return summary


def _write(
    folder: Path,
    n: int,
    seed: int,
    fmt: str,
    chunk: int,
    summary: Summary,
    on_progress: Callable[[int], None] | None,
) -> None:
    def chunks() -> Iterator[list[SimulatedPatient]]:
        for part in _chunks(n, seed, chunk):
            yield part
            summary.patients += len(part)
            summary.chunks += 1
            for patient in part:
                summary.add_truth(patient)
            if on_progress is not None:
                on_progress(summary.patients)

    if fmt in ("parquet", "csv"):
        with ExitStack() as stack:
            sink = _TabularSink(folder, fmt, stack)
            for part in chunks():
                sink.write(part, summary)
        return
    if fmt == "json":
        for part in chunks():
            for patient in part:
                record = patient.to_record()
                path = folder / f"{patient.facts['patient_id']}.json"
                path.write_text(record.model_dump_json(indent=1) + "\n", encoding="utf-8")
                summary.observations += len(record.observations)
                summary.events += len(record.events)
        return
    writer = fhir_writer()
    assert writer is not None

    def records() -> Iterator[PatientRecord]:
        for part in chunks():
            for patient in part:
                summary.observations += patient.code.size
                summary.events += len(patient.events)
                yield patient.to_record()

    writer(records(), folder)
