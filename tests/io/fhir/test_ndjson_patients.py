"""NDJSON read patient by patient (a cohort run): a patient with an invalid resource, or whose
resources map to an invalid record, is rejected with its problems and the others are read;
malformed lines and invalid resources of no known patient are reported apart, never dropped.
The all-or-nothing reader (``icaht fhir import``) still refuses the same folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.io.fhir.damaged_ndjson import damage

from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError
from icaht.io.fhir import (
    RejectedPatient,
    iter_ndjson_patients,
    iter_ndjson_records,
    read_ndjson,
    write_ndjson,
)
from icaht.io.fhir.import_report import ImportReport
from icaht.simulate import simulate_records


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "bulk"
    write_ndjson(simulate_records(6, 11), folder)
    return folder


def test_bad_patients_are_rejected_and_the_others_read(folder: Path) -> None:
    clean, _ = read_ndjson(folder)
    done = damage(folder)
    ids = done["ids"]
    report = ImportReport(str(folder))
    items = list(iter_ndjson_patients(folder, report))
    records = [i for i in items if isinstance(i, PatientRecord)]
    rejected = [i for i in items if isinstance(i, RejectedPatient)]
    assert records == [r for r in clean if r.patient.patient_id in (ids[0], *ids[4:])]
    assert report.patients == 3
    assert [r.patient_id for r in rejected] == [None, ids[1], ids[2], ids[3]]
    no_patient, invalid, unmappable, bad_patient = rejected
    malformed, orphan = no_patient.problems
    assert (malformed.row, orphan.row) == (done["malformed_line"], done["orphan_line"])
    assert "not valid JSON" in malformed.message
    assert orphan.field == "Observation.valueQuantity.value"
    (problem,) = invalid.problems
    assert problem.source == str(folder / "Observation.ndjson")
    assert problem.row == done["bad_obs_line"]
    assert problem.field == "Observation.valueQuantity.value"
    assert problem.value == "lots"
    assert "invalid Observation/bad-obs" in problem.message
    assert [p.field for p in unmappable.problems] == ["patient.age_years"]
    assert unmappable.problems[0].value == "old"
    (gender,) = bad_patient.problems
    assert gender.source == str(folder / "Patient.ndjson")
    assert (gender.row, gender.field, gender.value) == (4, "Patient.gender", 7)


def test_the_all_or_nothing_reader_still_refuses_the_folder(folder: Path) -> None:
    done = damage(folder)
    with pytest.raises(InputError) as caught:
        next(iter_ndjson_records(folder))
    rows = sorted(p.row for p in caught.value.problems if p.row is not None)
    assert rows == sorted([done["bad_obs_line"], done["malformed_line"], done["orphan_line"], 4])
