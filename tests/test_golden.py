"""Golden files: `icaht assess` of each seed example, as a clinician reads it in the terminal.

Regenerate after an intended change with ``ICAHT_UPDATE_GOLDEN=1 make unit`` and review the diff:
every changed line is a change in what a clinician is shown.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icaht.cli import app

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
# (example, as-of day): a day in the phase where each case's story happens (clinical-reference 1.6)
CASES = [
    ("jain-case1", 60),  # eltrombopag considered at ~2 months
    ("jain-case2", 100),  # aplasia, month 3 marrow, before the month-4 boost
    ("jain-case3", 100),  # child after allo-HCT, beyond day 90
    ("baur", 180),  # month 6 on romiplostim
    ("scaldaferri", 400),  # on eltrombopag since ~day 330
]


@pytest.mark.parametrize(("name", "day"), CASES)
def test_assess_output_matches_golden(name: str, day: int) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["assess", str(ROOT / "examples" / f"{name}.json"), "--as-of", str(day)],
        env={"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"},
    )
    assert result.exit_code == 0, result.output
    golden = GOLDEN / f"assess-{name}-day{day}.txt"
    if os.environ.get("ICAHT_UPDATE_GOLDEN") == "1":
        golden.write_text(result.output, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")
    assert result.output == expected, f"output differs from {golden.name}"
