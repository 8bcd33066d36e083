"""``icaht cohort assess`` on FHIR NDJSON with bad patients: the good ones are assessed (the rows
the row function gives them), each bad one is listed in errors.csv with file, line, element path,
value and reason, lines of no patient are listed with an empty patient_id, and the exit status
says that some were rejected."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.io.fhir.damaged_ndjson import damage
from typer.testing import CliRunner

from icaht.cli import app
from icaht.cli.cohort import EXIT_REJECTED
from icaht.cohort.local import run_local
from icaht.cohort.results import cohort_row, rows_table
from icaht.core.course import course_from_record
from icaht.io.fhir import read_ndjson, write_ndjson
from icaht.knowledge.profile import load_profile
from icaht.simulate import simulate_records


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "bulk"
    write_ndjson(simulate_records(6, 11), folder)
    return folder


def _errors(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_bad_patients_are_listed_and_the_others_assessed(folder: Path, tmp_path: Path) -> None:
    clean, _ = read_ndjson(folder)
    done = damage(folder)
    ids = done["ids"]
    out = tmp_path / "out" / "results.parquet"
    summary = run_local(folder, out, workers=1)
    good = [r for r in clean if r.patient.patient_id in (ids[0], *ids[4:])]
    profile = load_profile()
    expected = rows_table([cohort_row(course_from_record(r), None, profile) for r in good])
    assert pq.read_table(out).sort_by("patient_id").equals(expected.sort_by("patient_id"))
    assert (summary.assessed, summary.rejected, summary.orphan_rows) == (3, 3, 2)
    assert summary.patients == 6
    errors = _errors(tmp_path / "out" / "errors.csv")
    observations = str(folder / "Observation.ndjson")
    by_patient = {e["patient_id"]: e for e in errors if e["patient_id"]}
    assert set(by_patient) == set(ids[1:4])
    invalid = by_patient[ids[1]]
    assert (invalid["source"], invalid["row"]) == (observations, str(done["bad_obs_line"]))
    assert (invalid["field"], invalid["value"]) == ("Observation.valueQuantity.value", "lots")
    assert "invalid Observation/bad-obs" in invalid["message"]
    assert (by_patient[ids[2]]["field"], by_patient[ids[2]]["value"]) == (
        "patient.age_years",
        "old",
    )
    assert by_patient[ids[3]]["field"] == "Patient.gender"
    no_patient = [e for e in errors if not e["patient_id"]]
    assert [(e["source"], e["row"]) for e in no_patient] == [
        (observations, str(done["malformed_line"])),
        (observations, str(done["orphan_line"])),
    ]


def test_cli_exit_status_says_some_were_rejected(folder: Path, tmp_path: Path) -> None:
    damage(folder)
    out = tmp_path / "r.parquet"
    result = CliRunner().invoke(
        app, ["cohort", "assess", str(folder), "--out", str(out), "--workers", "2"]
    )
    assert result.exit_code == EXIT_REJECTED, result.output
    assert "3 patient(s) rejected" in result.output
    assert pq.read_table(out).num_rows == 3
    assert len(_errors(tmp_path / "errors.csv")) == 5
