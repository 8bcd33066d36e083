"""The command line starts in a blink (issue 20, "CLI start in a blink"; issue 19, one CLI
package): importing it, ``icaht --help`` and ``icaht assess`` of one record load neither the web
stack nor the dataframe and FHIR libraries; errors of every command go through one handler."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from icaht.atomic import atomic_text, partial_path
from icaht.cli import app
from icaht.cli import common as cli_common
from icaht.core.assessment import assess
from icaht.io.fhir import backend_services
from icaht.io.inputs import load_courses
from icaht.knowledge import profile
from icaht.report.console import render_assessment

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("fastapi", "sqlalchemy", "pandas", "fhir.resources", "lifelines", "plotly", "uvicorn")
runner = CliRunner()


def _loaded_after(code: str, names: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of ``names`` a fresh interpreter has loaded after running ``code``."""
    probe = f"import sys\n{code}\nprint(repr(sorted(m for m in {names!r} if m in sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"')))


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _loaded_after("import icaht.cli") == []


LONG_TABLE = str(ROOT / "examples" / "long-table" / "anc.csv")
#: Beyond HEAVY, what each command must not load: help no assessment, no numpy and no progress
#: bar (and ``icaht --help`` no pydantic, which typer imports to parse a group's options);
#: ``assess`` of one record no Parquet reader, no process pool and no progress bar. ``grade``
#: reads Parquet (pyarrow, which imports pandas on its first ``pa.array``), so pandas is the one
#: library of HEAVY it may load.
HELP_EXTRA = ("icaht.core.assessment", "pyarrow", "numpy", "rich.progress")
ASSESS_EXTRA = ("pyarrow", "multiprocessing", "concurrent.futures", "rich.progress")
GRADE_HEAVY = tuple(name for name in HEAVY if name != "pandas")


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        (["--help"], (*HEAVY, *HELP_EXTRA, "pydantic")),
        (["fhir", "--help"], (*HEAVY, *HELP_EXTRA)),
        (["cohort", "--help"], (*HEAVY, *HELP_EXTRA)),
        (["assess", str(ROOT / "examples" / "baur.json")], (*HEAVY, *ASSESS_EXTRA)),
        (["grade", LONG_TABLE, "--unit", "cells/uL", "--workers", "1"], GRADE_HEAVY),
        (["grade", LONG_TABLE, "--unit", "cells/uL", "--grades-only"], GRADE_HEAVY),
    ],
    ids=["help", "fhir-help", "cohort-help", "assess", "grade", "grade-only"],
)
def test_a_command_loads_only_what_it_uses(
    arguments: list[str], names: tuple[str, ...], tmp_path: Path
) -> None:
    if arguments[0] == "grade":
        arguments = [*arguments, "--out", str(tmp_path / "grades.csv")]
    code = (
        "from icaht.cli import app\n"
        f"try:\n    app({arguments!r}, standalone_mode=False)\n"
        "except SystemExit:\n    pass"
    )
    assert _loaded_after(code, names) == []
    if arguments[0] == "grade":
        assert (tmp_path / "grades.csv").is_file()


@pytest.mark.parametrize(
    "example", sorted((ROOT / "examples").glob("*.json")), ids=lambda p: p.stem
)
def test_the_assess_table_is_the_same_without_the_episode_trace(example: Path) -> None:
    """``icaht assess`` prints a table without tracing episodes back (the slow part of an
    assessment): the table shows no episode, novelty or tier, so it is the same text."""
    chosen = profile.load_profile()
    for course in load_courses(example):
        texts = []
        for traced in (True, False):
            console = Console(record=True, width=100, file=io.StringIO())
            render_assessment(console, course, assess(course, None, chosen, episodes=traced))
            texts.append(console.export_text())
        assert texts[0] == texts[1]
    result = runner.invoke(app, ["assess", str(example), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert all("episode" in r for r in json.loads(result.output)["recommendations"])


def test_option_defaults_equal_the_library_defaults() -> None:
    """The CLI names the default profile without importing the profile models."""
    assert cli_common.DEFAULT_PROFILE == profile.DEFAULT_PROFILE
    assert (
        backend_services.BACKEND_SCOPE == "system/*.read"
    )  # named in the help of `icaht fhir pull --scope`


@pytest.mark.parametrize(
    "arguments",
    [
        ["assess", "missing.json"],
        ["fhir", "import", "missing.json", "--out", "x"],
        ["cohort", "report", "missing.parquet", "--out", "x.html"],
        ["rules", "--profile", "no-such-profile"],
    ],
    ids=["assess", "fhir", "cohort", "profile"],
)
def test_every_group_reports_icaht_errors_once_with_exit_status_2(arguments: list[str]) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output
    assert "Traceback" not in result.output


def _interrupted_write(target: Path) -> None:
    with atomic_text(target) as handle:
        handle.write("half")
        raise RuntimeError("interrupted")


def test_a_failed_atomic_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        _interrupted_write(target)
    assert target.read_text(encoding="utf-8") == "old"
    assert not partial_path(target).exists()
    with atomic_text(target) as handle:
        handle.write("new")
    assert target.read_text(encoding="utf-8") == "new"
