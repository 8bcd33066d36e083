"""``icaht grade`` streams (issue 20, item 3): partitions graded in worker processes give the rows
a whole-input grading gives; ``--grades-only`` gives the grade columns without running the rules;
an input with problems writes nothing and lists them all."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tests.cohort.cohort_data import copy_as, make_cohort, set_cell
from typer.testing import CliRunner

from icaht.cli import app
from icaht.cohort.grading import full_row, grade, grade_only_row
from icaht.errors import InputError
from icaht.io.inputs import load_courses
from icaht.knowledge.profile import DEFAULT_PROFILE, load_profile

#: Small partitions, so that 30 patients make several.
TARGET = 3000
runner = CliRunner()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cohort(tmp_path_factory.mktemp("grading") / "set")


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return sorted(csv.DictReader(handle), key=lambda r: r["patient_id"])


def _expected(folder: Path, grades_only: bool) -> list[dict[str, str]]:
    """Every course of the whole input in memory, through the same row function, as CSV text."""
    profile = load_profile()
    row = grade_only_row if grades_only else full_row
    rows = [row(course, None, profile) for course in load_courses(folder)]
    return sorted(
        ({k: "" if v is None else str(v) for k, v in r.items()} for r in rows),
        key=lambda r: r["patient_id"],
    )


@pytest.mark.parametrize("grades_only", [False, True], ids=["full", "grades-only"])
def test_streamed_parallel_rows_equal_the_whole_input_rows(
    cohort: Path, tmp_path: Path, grades_only: bool
) -> None:
    seen: list[tuple[int, int | None]] = []
    out = tmp_path / "grades.csv"
    summary = grade(
        cohort,
        out,
        profile=DEFAULT_PROFILE,
        workers=2,
        grades_only=grades_only,
        target_rows=TARGET,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert "partitions" in summary.strategy
    assert len(seen) > 1  # one progress step per partition
    assert seen[-1] == (30, 30)
    assert _csv(out) == _expected(cohort, grades_only)


def test_grades_only_has_the_grades_and_no_rule_columns(cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.csv"
    result = runner.invoke(app, ["grade", str(cohort), "--out", str(out), "--grades-only"])
    assert result.exit_code == 0, result.output
    header = next(csv.reader(out.open(encoding="utf-8")))
    assert "early_icaht" in header
    assert "late_ticaht_provisional" in header
    assert "recommendations" not in header
    assert "car_hematotox" not in header


def test_an_input_with_problems_writes_nothing_and_lists_them(cohort: Path, tmp_path: Path) -> None:
    bad = copy_as(cohort, tmp_path / "bad")
    set_cell(bad, "observations", 5, "unit", "furlongs")
    set_cell(bad, "observations", 900, "unit", "furlongs")
    out = tmp_path / "g.csv"
    with pytest.raises(InputError) as raised:
        grade(bad, out, profile=DEFAULT_PROFILE, workers=1, target_rows=TARGET)
    assert len(raised.value.problems) == 2
    assert {p.row for p in raised.value.problems} == {6, 901}
    assert not out.exists()
    assert not out.with_name("g.csv.partial").exists()
