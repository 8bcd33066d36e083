"""The long table analysts already have (issue 20, item 6; docs/tabular.md, "The long table"):
read with a unit option and a column mapping; a column the reader does not use is an error naming
it; one root cause is reported once; ANC labelled cells/uL that looks like 10^9/L warns."""

from __future__ import annotations

import csv
import shutil
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.io.test_tabular import GOOD_OBSERVATIONS, GOOD_PATIENTS, write_set
from tests.utils.long_tables import EXAMPLE, example_in_10e9
from typer.testing import CliRunner

from icaht.cli import app
from icaht.errors import InputError
from icaht.io.long_stream import NotPlain, long_chunks
from icaht.io.long_table import LongTable
from icaht.io.tabular import load_tabular

runner = CliRunner()


def _grade(path: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["grade", str(path), "--out", str(out), "--grades-only", *extra])
    return result.exit_code, result.output


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {r["patient_id"]: r for r in csv.DictReader(handle)}


def test_the_example_long_table_is_graded_and_censored(tmp_path: Path) -> None:
    """lt-2 progresses on day 22 (progression_date), lt-3 starts the next therapy on day 42:
    follow-up ends there (LIANG-ICAHT, docs/evidence.md)."""
    code, output = _grade(EXAMPLE, tmp_path / "g.csv", "--unit", "cells/uL")
    assert code == 0, output
    rows = _rows(tmp_path / "g.csv")
    assert rows["lt-1"]["follow_up_end_reason"] == "last follow-up"
    assert (rows["lt-2"]["follow_up_end_day"], rows["lt-2"]["follow_up_end_reason"]) == (
        "22",
        "progression",
    )
    assert rows["lt-3"]["follow_up_end_reason"] == "next therapy"
    assert rows["lt-2"]["early_icaht"] == "4"  # ANC < 0.1 from day 2 to the end, >= 14 days


def test_other_column_names_are_mapped(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("date,anc,", "lab_date,ANC,", 1)
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(text, encoding="utf-8")
    code, output = _grade(
        renamed, tmp_path / "g.csv", "--unit", "cells/uL", "--columns", "date=lab_date,anc=ANC"
    )
    assert code == 0, output
    assert _rows(tmp_path / "g.csv").keys() == {"lt-1", "lt-2", "lt-3"}


def test_a_column_the_reader_does_not_use_is_an_error_naming_it(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("last_fu_date", "last_followup", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    code, output = _grade(bad, tmp_path / "g.csv", "--unit", "cells/uL")
    assert code == 2
    assert "'last_followup'" in output
    assert "not used" in output
    assert not (tmp_path / "g.csv").exists()


def test_a_long_table_needs_its_unit(tmp_path: Path) -> None:
    code, output = _grade(EXAMPLE, tmp_path / "g.csv")
    assert code == 2
    assert "--unit" in output


def test_anc_in_10e9_labelled_cells_per_ul_warns_naming_the_unit(tmp_path: Path) -> None:
    path = example_in_10e9(tmp_path)
    code, output = _grade(path, tmp_path / "g.csv", "--unit", "cells/uL")
    assert code == 0, output
    assert "warning" in output
    assert "cells/uL" in output
    shutil.copy(path, tmp_path / "again.csv")
    code, output = _grade(tmp_path / "again.csv", tmp_path / "h.csv", "--unit", "10^9/L")
    assert "warning" not in output


def test_a_bad_patient_row_is_reported_once_not_once_per_observation(tmp_path: Path) -> None:
    """Issue 20: a bad patients table buried its error under one "patient_id not in the
    patients table" line per observation of that patient."""
    patients = [dict(p) for p in GOOD_PATIENTS]
    patients[0]["age_years"] = "sixty"  # p1 has 4+ observations
    folder = write_set(tmp_path / "set", "csv", patients, GOOD_OBSERVATIONS)
    with pytest.raises(InputError) as raised:
        load_tabular(folder)
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].field == "age_years"


def _long(path: Path, dates: pa.Array | None = None) -> Path:
    """Three patients of 2, 3 and 1 rows (Parquet)."""
    table = pa.table(
        {
            "patient_id": ["a", "a", "b", "b", "b", "c"],
            "cart_date": pa.array([date(2024, 1, 1)] * 6),
            "date": dates or pa.array([date(2024, 1, d) for d in (1, 3, 2, 2, 9, 1)]),
            "anc": [100.0, 200.0, 300.0, 50.0, 1500.0, 0.0],
            "last_fu_date": pa.array([date(2024, 2, 1)] * 5 + [None], pa.date32()),
        }
    )
    pq.write_table(table, path, row_group_size=2)
    return path


def test_chunks_hold_whole_patients_in_file_order(tmp_path: Path) -> None:
    chunks = list(long_chunks(_long(tmp_path / "t.parquet"), LongTable("cells/uL"), rows=2))
    assert [c.ids for c in chunks] == [["a"], ["b"], ["c"]]  # b's rows span two reads
    b = chunks[1]
    assert b.days.tolist() == [1.0, 1.0, 8.0]
    assert b.values.tolist() == [0.3, 0.05, 1.5]  # cells/uL -> 10^9/L
    assert chunks[0].events["last_fu_date"].tolist() == [31.0]
    assert np.isnan(chunks[2].events["last_fu_date"]).all()  # no last follow-up
    assert b.largest == 1500.0


def test_a_timestamp_or_an_unknown_column_is_left_to_the_tabular_reader(tmp_path: Path) -> None:
    stamps = pa.array([datetime(2024, 1, d, 8) for d in (1, 3, 2, 2, 9, 1)])
    path = _long(tmp_path / "t.parquet", stamps)
    with pytest.raises(NotPlain):
        list(long_chunks(path, LongTable("cells/uL")))
    with pytest.raises(InputError, match="not used"):
        list(long_chunks(path, LongTable("cells/uL", columns={"date": "lab_date"})))
