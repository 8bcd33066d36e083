"""The example long ANC table (``examples/long-table/anc.csv``) and variants of it for tests."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "long-table" / "anc.csv"


def example_in_10e9(folder: Path) -> Path:
    """The example with its ANC (cells/uL) divided by 1,000: values that look like 10^9/L, for
    the check that warns when such values are labelled cells/uL."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    scaled = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[3] = str(float(cells[3]) / 1000)
        scaled.append(",".join(cells))
    path = folder / "scaled.csv"
    path.write_text("\n".join(scaled) + "\n", encoding="utf-8")
    return path
