"""Bookkeeping shared by the benchmarks: which commit was measured, and a row added to a section
of ``benchmarks/results/README.md`` (written atomically)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def commit_id() -> str:
    """Short commit of the checkout, ``+dirty`` when ``src/`` differs from it (read-only git)."""
    git = ["git", "-C", str(ROOT)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "src"], check=False)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.returncode else "")


def add_row(section: str, header: str, line: str, folder: Path = RESULTS) -> None:
    """Append ``line`` to the table under ``section`` (a ``## `` heading) of the results README
    in ``folder``, creating the section with ``header`` (which starts with the heading) when it
    is missing."""
    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmark results\n"
    if section not in text:
        text = text.rstrip("\n") + "\n\n" + header + line
    else:
        lines = text.splitlines(keepends=True)
        start = next(i for i, row in enumerate(lines) if row.startswith(section))
        last = start
        for i in range(start + 1, len(lines)):
            if lines[i].startswith("## "):
                break
            if lines[i].startswith("|"):
                last = i
        lines.insert(last + 1, line)
        text = "".join(lines)
    tmp = readme.with_name(readme.name + ".partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(readme)
