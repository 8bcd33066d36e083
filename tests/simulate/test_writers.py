"""Determinism, streaming and output formats of ``icaht simulate``."""

from __future__ import annotations

import json
import tracemalloc
from itertools import islice
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from icaht.cli import app
from icaht.errors import InputError
from icaht.io.inputs import load_courses
from icaht.simulate import available_formats, simulate_records, write_cohort


def test_same_seed_gives_identical_records() -> None:
    assert list(simulate_records(20, 5)) == list(simulate_records(20, 5))


def test_patient_i_does_not_depend_on_n() -> None:
    """The first 10 of a 40-patient run equal a 10-patient run."""
    assert list(islice(simulate_records(40, 3), 10)) == list(simulate_records(10, 3))


def test_another_seed_gives_other_patients() -> None:
    first = next(simulate_records(1, 1))
    other = next(simulate_records(1, 2))
    assert first.observations != other.observations
    assert first.patient.patient_id != other.patient.patient_id


def test_bad_arguments_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        list(simulate_records(-1, 1))
    with pytest.raises(InputError):
        write_cohort(tmp_path / "out", 5, 1, "xlsx")


@pytest.mark.parametrize("fmt", available_formats())
def test_every_format_loads_back(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "cohort"
    summary = write_cohort(out, 12, 4, fmt, chunk=5)
    courses = load_courses(out)
    records = list(simulate_records(12, 4))
    assert [c.facts.patient_id for c in courses] == [r.patient.patient_id for r in records]
    assert sum(len(s) for c in courses for s in c.labs.values()) == summary.observations
    assert sum(len(r.observations) for r in records) == summary.observations
    assert summary.patients == 12
    assert summary.chunks == 3
    assert not out.with_name("cohort.partial").exists()
    manifest = json.loads((out / "simulation.manifest").read_text(encoding="utf-8"))
    assert manifest["seed"] == 4
    assert manifest["format"] == fmt


def test_tabular_output_matches_the_records(tmp_path: Path) -> None:
    """The Parquet rows carry the same values as the records (same order, same units)."""
    write_cohort(tmp_path / "c", 3, 9, "parquet")
    table = pq.read_table(tmp_path / "c" / "observations.parquet")
    records = list(simulate_records(3, 9))
    expected = [
        (r.patient.patient_id, o.analyte, o.value, o.unit) for r in records for o in r.observations
    ]
    got = list(
        zip(
            table.column("patient_id").to_pylist(),
            table.column("analyte").to_pylist(),
            table.column("value").to_pylist(),
            table.column("unit").to_pylist(),
            strict=True,
        )
    )
    assert got == expected


def test_parquet_has_one_row_group_per_chunk_in_patient_order(tmp_path: Path) -> None:
    write_cohort(tmp_path / "c", 25, 2, "parquet", chunk=10)
    for name in ("patients", "observations", "events"):
        handle = pq.ParquetFile(tmp_path / "c" / f"{name}.parquet")
        assert handle.metadata.num_row_groups == 3
        ids = handle.read(columns=["patient_id"]).column(0).to_pylist()
        assert ids == sorted(ids)  # grouped by patient, patients in order


def test_same_seed_writes_identical_files(tmp_path: Path) -> None:
    write_cohort(tmp_path / "a", 15, 6, "csv", chunk=4)
    write_cohort(tmp_path / "b", 15, 6, "csv", chunk=4)
    for name in ("patients.csv", "observations.csv", "events.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def _peak_bytes(folder: Path, n: int) -> int:
    tracemalloc.start()
    try:
        write_cohort(folder, n, 8, "parquet", chunk=25)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_cohort(tmp_path: Path) -> None:
    """Streaming: 8x the patients (same chunk size) must not need much more Python memory."""
    write_cohort(tmp_path / "warm", 25, 8, "parquet", chunk=25)  # imports, caches
    small = _peak_bytes(tmp_path / "small", 50)
    large = _peak_bytes(tmp_path / "large", 400)
    assert large < 1.5 * small, (small, large)


def test_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="new or empty"):
        write_cohort(tmp_path, 3, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_an_interrupted_run_leaves_nothing(tmp_path: Path) -> None:
    def stop(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_cohort(tmp_path / "c", 20, 1, "parquet", chunk=5, on_progress=stop)
    assert list(tmp_path.iterdir()) == []


def test_cli_simulate(tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    result = CliRunner().invoke(
        app, ["simulate", "--n", "7", "--seed", "1", "--out", str(out), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert "7 synthetic patient(s)" in result.output
    assert len(load_courses(out)) == 7
    again = CliRunner().invoke(app, ["simulate", "--n", "7", "--out", str(out)])
    assert again.exit_code == 2
    bad = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--format", "xls"])
    assert bad.exit_code != 0
