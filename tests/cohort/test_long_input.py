"""`icaht cohort assess` reads the long table as `icaht grade` does (issue 20, item 6;
docs/tabular.md, "The long table"): the same options (--unit, --analyte, --columns), the same
validation, and problems that name the long table's own file, row, column and value (not the
temporary tabular set it is rewritten to)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
from tests.utils.long_tables import EXAMPLE, example_in_10e9
from typer.testing import CliRunner

from icaht.cli import app
from icaht.cli.cohort import EXIT_INPUT, EXIT_REJECTED

runner = CliRunner()


def _assess(path: Path, out: Path, *extra: str) -> tuple[int, str]:
    command = ["cohort", "assess", str(path), "--out", str(out), "--workers", "1", *extra]
    result = runner.invoke(app, command)
    return result.exit_code, result.output


def _results(path: Path) -> dict[str, dict[str, object]]:
    return {str(r["patient_id"]): r for r in pq.read_table(path).to_pylist()}


def _errors(out: Path) -> list[dict[str, str]]:
    with (out.parent / "errors.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _edited(tmp_path: Path, name: str, *replacements: tuple[str, str]) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_long_table_is_assessed_end_to_end(tmp_path: Path) -> None:
    """lt-2 progresses on day 22 (progression_date), lt-3 starts the next therapy: follow-up
    ends there (LIANG-ICAHT, docs/evidence.md); the grades equal those of `icaht grade`."""
    out = tmp_path / "out" / "results.parquet"
    code, output = _assess(EXAMPLE, out, "--unit", "cells/uL")
    assert code == 0, output
    assert "long table" in output
    rows = _results(out)
    assert rows.keys() == {"lt-1", "lt-2", "lt-3"}
    assert rows["lt-1"]["follow_up_end_reason"] == "last follow-up"
    assert (rows["lt-2"]["follow_up_end_day"], rows["lt-2"]["follow_up_end_reason"]) == (
        22,
        "progression",
    )
    assert rows["lt-3"]["follow_up_end_reason"] == "next therapy"
    assert rows["lt-2"]["early_icaht"] == 4  # ANC < 0.1 from day 2 to the end, >= 14 days
    assert _errors(out) == []
    # the temporary tabular set is gone
    assert sorted(p.name for p in out.parent.iterdir()) == ["errors.csv", "results.parquet"]


def test_other_column_names_are_mapped(tmp_path: Path) -> None:
    renamed = _edited(tmp_path, "renamed.csv", ("date,anc,", "lab_date,ANC,"))
    out = tmp_path / "out" / "results.parquet"
    code, output = _assess(renamed, out, "--unit", "cells/uL", "--columns", "date=lab_date,anc=ANC")
    assert code == 0, output
    assert _results(out).keys() == {"lt-1", "lt-2", "lt-3"}


def test_a_column_the_reader_does_not_use_is_an_error_naming_it(tmp_path: Path) -> None:
    bad = _edited(tmp_path, "bad.csv", ("last_fu_date", "last_followup"))
    out = tmp_path / "out" / "results.parquet"
    code, output = _assess(bad, out, "--unit", "cells/uL")
    assert code == EXIT_INPUT
    assert "'last_followup'" in output
    assert "not used" in output
    assert not out.exists()


def test_a_long_table_needs_its_unit(tmp_path: Path) -> None:
    code, output = _assess(EXAMPLE, tmp_path / "out" / "results.parquet")
    assert code == EXIT_INPUT
    assert "--unit" in output


def test_anc_in_10e9_labelled_cells_per_ul_warns_naming_the_unit(tmp_path: Path) -> None:
    path = example_in_10e9(tmp_path)
    code, output = _assess(path, tmp_path / "a" / "r.parquet", "--unit", "cells/uL")
    assert code == 0, output
    assert "warning" in output
    assert "cells/uL" in output
    code, output = _assess(path, tmp_path / "b" / "r.parquet", "--unit", "10^9/L")
    assert code == 0, output
    assert "warning" not in output


def test_a_bad_value_names_the_long_table_row_column_and_value(tmp_path: Path) -> None:
    """Data row 3 (lt-1's third value) is not a number; the patient is rejected, the others
    assessed. errors.csv names the file given, its row and column, never the temporary set."""
    bad = _edited(
        tmp_path, "bad.csv", ("lt-1,2024-03-01,2024-03-05,80,", "lt-1,2024-03-01,2024-03-05,x80,")
    )
    out = tmp_path / "out" / "results.parquet"
    code, output = _assess(bad, out, "--unit", "cells/uL")
    assert code == EXIT_REJECTED, output
    assert _errors(out) == [
        {
            "patient_id": "lt-1",
            "source": str(bad),
            "row": "3",
            "field": "anc",
            "value": "x80",
            "message": "not a number",
        }
    ]
    assert _results(out).keys() == {"lt-2", "lt-3"}


def test_a_bad_patient_date_is_reported_once_by_the_patients_first_row(tmp_path: Path) -> None:
    """lt-3's cart_date (data rows 13-16) is read from its first row: one problem, by that row
    and in the table's own column name, not one per value of the patient."""
    bad = _edited(
        tmp_path,
        "bad.csv",
        *((f"lt-3,2024-05-20,2024-05-{d}", f"lt-3,2024-05-XX,2024-05-{d}") for d in (21, 24)),
        ("cart_date", "infusion"),
    )
    out = tmp_path / "out" / "results.parquet"
    code, output = _assess(bad, out, "--unit", "cells/uL", "--columns", "cart_date=infusion")
    assert code == EXIT_REJECTED, output
    (error,) = _errors(out)
    assert (error["patient_id"], error["source"], error["row"]) == ("lt-3", str(bad), "13")
    assert (error["field"], error["value"]) == ("infusion", "2024-05-XX")


def test_grade_names_the_long_table_too(tmp_path: Path) -> None:
    """`icaht grade` on a value that is not a number: one problem naming the long table (it
    used to end in a traceback from the unit check, and named the temporary set)."""
    bad = _edited(
        tmp_path, "bad.csv", ("lt-1,2024-03-01,2024-03-05,80,", "lt-1,2024-03-01,2024-03-05,x80,")
    )
    result = runner.invoke(
        app, ["grade", str(bad), "--out", str(tmp_path / "g.csv"), "--unit", "cells/uL"]
    )
    assert result.exit_code == EXIT_INPUT, result.output
    assert f"{bad}, row 3, field 'anc': not a number (value 'x80')" in result.output.replace(
        "\n", ""
    )
