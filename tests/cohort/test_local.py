"""The local cohort engine end to end: every partitioning strategy gives the rows the row function
gives over the whole input in memory; bad patients are rejected with their reasons (never
silently dropped) while the others are assessed; exit status, atomic writes."""

from __future__ import annotations

import csv
import importlib
import json
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from tests.cohort.cohort_data import (
    append_copy,
    copy_as,
    first_row_of,
    make_cohort,
    read,
    reference_rows,
    results,
    set_cell,
)
from typer.testing import CliRunner

from icaht import knowledge as icaht_profiles
from icaht.cli import app
from icaht.cli.cohort import EXIT_INPUT, EXIT_REJECTED
from icaht.cohort.local import run_local
from icaht.cohort.partition_units import Plan
from icaht.cohort.results import cohort_row, rows_table
from icaht.core.course import course_from_record
from icaht.errors import InputError
from icaht.knowledge.profile import load_profile
from icaht.simulate import simulate_records

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Small partitions, so that 30 patients (about 12,000 observations) make several.
TARGET = 3000


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cohort(tmp_path_factory.mktemp("cohort") / "set")


@pytest.fixture(scope="module")
def expected(cohort: Path) -> object:
    return reference_rows(cohort)


def _run(source: Path, out: Path, workers: int = 1) -> tuple[object, list[str]]:
    strategies: list[str] = []

    def seen(plan: Plan) -> None:
        strategies.append(plan.strategy)

    summary = run_local(source, out, workers=workers, target_rows=TARGET, on_plan=seen)
    return summary, strategies


@pytest.mark.parametrize(
    ("fmt", "shuffle", "group_rows", "strategy"),
    [
        ("parquet", (), None, "by patient_id range"),
        ("parquet", ("events", "patients"), 10, "patients, events routed"),
        ("parquet", ("observations",), 2000, "by hash of patient_id"),
        ("csv", (), None, "by hash of patient_id"),
    ],
    ids=["parquet-in-patient-order", "unordered-side-tables", "unordered-parquet", "csv"],
)
def test_partitioned_results_equal_the_in_memory_rows(
    cohort: Path,
    expected: object,
    tmp_path: Path,
    fmt: str,
    shuffle: tuple[str, ...],
    group_rows: int | None,
    strategy: str,
) -> None:
    source = cohort
    if fmt == "csv" or shuffle:
        source = copy_as(
            cohort, tmp_path / "input", fmt=fmt, shuffle=shuffle, row_group_size=group_rows
        )
    summary, strategies = _run(source, tmp_path / "out" / "results.parquet")
    assert strategy in strategies[0]
    assert summary.complete  # type: ignore[attr-defined]
    assert results(tmp_path / "out" / "results.parquet").equals(expected)
    assert not list((tmp_path / "out").glob("icaht-cohort-*"))  # temporary files removed
    with (tmp_path / "out" / "errors.csv").open(encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == []


def test_process_pool_gives_the_same_rows(cohort: Path, expected: object, tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    summary, strategies = _run(cohort, out, workers=2)
    assert "partitions" in strategies[0]
    assert summary.assessed == 30  # type: ignore[attr-defined]
    assert results(out).equals(expected)


def test_as_of_day_applies_to_every_patient(cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    run_local(cohort, out, as_of_day=20, workers=1, target_rows=TARGET)
    table = results(out)
    assert set(table["as_of_day"].to_pylist()) == {20}
    assert set(table["recommendations_day30"].to_pylist()) == {None}
    assert table.equals(reference_rows(cohort, as_of_day=20))


@pytest.fixture
def damaged(cohort: Path, tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """The cohort with: a unit nobody knows (P000003), an impossible CRS grade (P000011), an
    observation of a patient not in the patients table (P000017x: the file stays in patient
    order), an impossible age (P000007) and P000020 listed twice in the patients table (a copy
    at the end)."""
    folder = copy_as(cohort, tmp_path / "damaged")
    rows: dict[str, int] = {}
    rows["unit"] = first_row_of(folder, "observations", "P000003") + 5
    set_cell(folder, "observations", rows["unit"], "unit", "furlongs")
    events = read(folder, "events").to_pylist()
    rows["grade"] = next(
        i for i, e in enumerate(events) if e["patient_id"] == "P000011" and e["kind"] == "crs"
    )
    set_cell(folder, "events", rows["grade"], "grade", 9)
    rows["orphan"] = first_row_of(folder, "observations", "P000017") + 2
    set_cell(folder, "observations", rows["orphan"], "patient_id", "P000017x")
    rows["age"] = first_row_of(folder, "patients", "P000007")
    set_cell(folder, "patients", rows["age"], "age_years", 200.0)
    rows["duplicate"] = append_copy(folder, "patients", first_row_of(folder, "patients", "P000020"))
    return folder, rows


def _errors(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_bad_patients_are_rejected_and_listed(
    damaged: tuple[Path, dict[str, int]], tmp_path: Path, fmt: str
) -> None:
    folder, rows = damaged
    source = folder if fmt == "parquet" else copy_as(folder, tmp_path / "csv", fmt="csv")
    out = tmp_path / "out" / "results.parquet"
    summary, strategies = _run(source, out)
    assert ("range" if fmt == "parquet" else "hash") in strategies[0]
    errors = _errors(tmp_path / "out" / "errors.csv")
    by_patient = {e["patient_id"]: e for e in errors}
    suffix = ".parquet" if fmt == "parquet" else ".csv"

    unit = by_patient["P000003"]
    assert (unit["field"], unit["value"]) == ("unit", "furlongs")
    assert unit["source"].endswith("observations" + suffix)
    assert int(unit["row"]) == rows["unit"] + 1  # 1-based data row of the file
    grade = by_patient["P000011"]
    assert grade["field"] == "grade"
    assert grade["source"].endswith("events" + suffix)
    assert int(grade["row"]) == rows["grade"] + 1
    orphan = by_patient["P000017x"]
    assert orphan["message"] == "patient_id not in the patients table"
    assert int(orphan["row"]) == rows["orphan"] + 1
    duplicate = by_patient["P000020"]
    assert duplicate["message"].startswith("duplicate patient_id")
    assert int(duplicate["row"]) == rows["duplicate"] + 1

    age = [e for e in errors if e["patient_id"] == "P000007"]
    assert len(age) == 1  # its observations and events are not listed one by one
    assert (age[0]["field"], age[0]["row"]) == ("age_years", str(rows["age"] + 1))
    assert age[0]["source"].endswith("patients" + suffix)

    assert summary.rejected == 4  # type: ignore[attr-defined]
    assert summary.orphan_rows == 1  # type: ignore[attr-defined]
    assert not summary.complete  # type: ignore[attr-defined]
    table = results(out)
    assessed = set(table["patient_id"].to_pylist())
    assert not assessed & {"P000003", "P000007", "P000011", "P000020", "P000017x"}
    # never silently dropped: every patient of the patients table is assessed or listed
    listed = {e["patient_id"] for e in errors}
    every = set(read(folder, "patients")["patient_id"].to_pylist())
    assert every <= assessed | listed
    assert len(assessed) == len(every) - 4
    assert "P000017" in assessed  # only the orphan row is left out
    # the others are assessed exactly as the whole-input loader would (bad ones taken out)
    clean = tmp_path / "clean"
    clean.mkdir()
    for name in ("patients", "observations", "events"):
        rows_of = read(folder, name)
        keep = pc.is_in(rows_of["patient_id"], value_set=table["patient_id"].combine_chunks())
        pq.write_table(rows_of.filter(keep), clean / f"{name}.parquet")
    assert table.equals(reference_rows(clean))


def test_cli_exit_status_and_message(damaged: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    folder, _ = damaged
    out = tmp_path / "r.parquet"
    runner = CliRunner()
    result = runner.invoke(
        app, ["cohort", "assess", str(folder), "--out", str(out), "--workers", "1"]
    )
    assert result.exit_code == EXIT_REJECTED, result.output
    assert "4 patient(s) rejected" in result.output
    assert "1 row(s) or line(s) that belong to no patient" in result.output
    assert "errors.csv" in result.output
    assert out.is_file()


def test_cli_clean_run(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    result = CliRunner().invoke(
        app, ["cohort", "assess", str(EXAMPLES / "baur.json"), "--out", str(out), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "1 patient(s) assessed" in result.output
    assert pq.read_table(out).num_rows == 1


def test_input_error_writes_nothing_and_keeps_old_results(cohort: Path, tmp_path: Path) -> None:
    folder = copy_as(cohort, tmp_path / "broken")
    table = read(folder, "observations").drop_columns(["unit"])
    pq.write_table(table, folder / "observations.parquet", row_group_size=2000)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "results.parquet"
    out.write_bytes(b"previous results")
    with pytest.raises(InputError, match="missing column"):
        run_local(folder, out, workers=1, target_rows=TARGET)
    assert out.read_bytes() == b"previous results"
    assert sorted(p.name for p in out_dir.iterdir()) == ["results.parquet"]
    result = CliRunner().invoke(
        app, ["cohort", "assess", str(folder), "--out", str(out), "--workers", "1"]
    )
    assert result.exit_code == EXIT_INPUT
    assert "missing column" in result.output


def test_record_folder(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    for path in EXAMPLES.glob("*.json"):
        shutil.copy(path, folder / path.name)
    bad = json.loads((EXAMPLES / "baur.json").read_text(encoding="utf-8"))
    bad["patient"]["patient_id"] = "broken-1"
    bad["observations"][0]["unit"] = "furlongs"
    (folder / "zz-broken.json").write_text(json.dumps(bad), encoding="utf-8")
    (folder / "zz-copy.json").write_text((EXAMPLES / "baur.json").read_text("utf-8"), "utf-8")
    out = tmp_path / "out" / "results.parquet"
    summary = run_local(folder, out, workers=1)
    errors = _errors(tmp_path / "out" / "errors.csv")
    assert {e["patient_id"] for e in errors} == {"broken-1", "baur-2021"}
    assert any(e["field"] == "observations[0].unit" for e in errors)
    assert any(e["message"].startswith("duplicate patient_id") for e in errors)
    assert summary.assessed == 5
    assert summary.rejected == 2
    assert results(out).equals(reference_rows(EXAMPLES))


def test_fhir_ndjson_folder(tmp_path: Path) -> None:
    fhir = importlib.import_module("icaht.io.fhir")
    records = list(simulate_records(12, 5))
    folder = tmp_path / "ndjson"
    fhir.write_ndjson(records, folder)
    out = tmp_path / "out" / "results.parquet"
    summary = run_local(folder, out, workers=1)
    assert summary.complete
    assert "FHIR NDJSON" in summary.strategy
    profile = load_profile()
    courses = [course_from_record(r) for r in fhir.read_ndjson(folder)[0]]
    expected = rows_table([cohort_row(c, None, profile) for c in courses]).sort_by("patient_id")
    assert results(out).equals(expected)
    assert results(out).num_rows == 12


def test_input_error_while_routing_leaves_no_temporary_files(cohort: Path, tmp_path: Path) -> None:
    folder = copy_as(cohort, tmp_path / "broken", shuffle=("events",), row_group_size=10)
    events = read(folder, "events").drop_columns(["patient_id"])
    pq.write_table(events, folder / "events.parquet", row_group_size=10)
    out = tmp_path / "out" / "results.parquet"
    with pytest.raises(InputError, match="patient_id"):
        run_local(folder, out, workers=1, target_rows=TARGET)
    assert list((tmp_path / "out").iterdir()) == []


def test_profile_file_in_worker_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = Path(icaht_profiles.__file__).parent / "profiles" / "icaht-2023.toml"
    shutil.copy(shipped, tmp_path / "centre.toml")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out" / "r.parquet"
    command = ["cohort", "assess", str(EXAMPLES), "--out", str(out), "--workers", "2"]
    result = CliRunner().invoke(app, [*command, "--profile", "centre.toml"])
    assert result.exit_code == 0, result.output
    chosen = load_profile(tmp_path / "centre.toml")
    assert set(pq.read_table(out)["profile"].to_pylist()) == {f"{chosen.name}@{chosen.version}"}
