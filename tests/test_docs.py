"""The repository's own documents: every path docs/architecture.md names exists, and no file in the
repository cites a note kept outside it (the evidence is docs/evidence.md and docs/decisions.md)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PATH = re.compile(r"`((?:src|tests|docs|examples|benchmarks)/[^`\s]+)`")


def test_every_path_in_the_architecture_page_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = _PATH.findall(text)
    assert len(named) > 20
    missing = [p for p in named if not (ROOT / p).exists()]
    assert missing == []
