"""Golden files: `icaht assess` and `icaht replay` of each seed example, as a clinician reads
them in the terminal.

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


# (example, first day, last day): the span in which each case's story happens
REPLAYS = [
    ("jain-case1", 0, 120),
    ("jain-case2", 0, 130),
    ("jain-case3", 0, 200),
    ("baur", 0, 200),
    ("scaldaferri", 300, 448),
]


def _check(args: list[str], golden: Path) -> None:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    if os.environ.get("ICAHT_UPDATE_GOLDEN") == "1":
        golden.write_text(result.output, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")
    assert result.output == expected, f"output differs from {golden.name}"


@pytest.mark.parametrize(("name", "day"), CASES)
def test_assess_output_matches_golden(name: str, day: int) -> None:
    path = str(ROOT / "examples" / f"{name}.json")
    _check(["assess", path, "--as-of", str(day)], GOLDEN / f"assess-{name}-day{day}.txt")


@pytest.mark.parametrize(("name", "first", "last"), REPLAYS)
def test_replay_output_matches_golden(name: str, first: int, last: int) -> None:
    path = str(ROOT / "examples" / f"{name}.json")
    _check(
        ["replay", path, "--from", str(first), "--to", str(last)],
        GOLDEN / f"replay-{name}-day{first}-{last}.txt",
    )
