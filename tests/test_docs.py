"""The repository's own documents: every path docs/architecture.md names exists, and no file in the
repository cites a note kept outside it (the evidence is docs/evidence.md and docs/decisions.md)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PATH = re.compile(r"`((?:src|tests|docs|examples|benchmarks)/[^`\s]+)`")


def test_every_path_in_the_architecture_page_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = _PATH.findall(text)
    assert len(named) > 20
    missing = [p for p in named if not (ROOT / p).exists()]
    assert missing == []


def test_no_file_cites_a_note_outside_the_repository() -> None:
    """Code, tables and docs cite docs/evidence.md, docs/decisions.md, docs/architecture.md or
    the paper: a user of the repository can follow every citation."""
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = re.compile(r"shared/|clinical-reference\.md|clinical-decisions\.md|(?<!/)DESIGN\.md")
    found = [
        name
        for name in names
        if (ROOT / name).is_file()
        and (ROOT / name).suffix in {".py", ".md", ".csv", ".json", ".toml", ".html", ".cff"}
        and name != "tests/test_docs.py"
        and outside.search((ROOT / name).read_text(encoding="utf-8"))
    ]
    assert found == []
