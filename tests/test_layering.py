"""The knowledge and core layers import only the stdlib, numpy and pydantic (see
docs/architecture.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "icaht"
ALLOWED_THIRD_PARTY = {"numpy", "pydantic", "pydantic_core", "typing_extensions"}
LAYERS = ("knowledge", "core")
#: icaht modules the lower layers may import (themselves and the shared errors module)
ALLOWED_ICAHT = {"icaht.knowledge", "icaht.core", "icaht.errors", "icaht"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _layer_files() -> list[Path]:
    return [p for layer in LAYERS for p in sorted((SRC / layer).rglob("*.py"))]


def test_layer_files_found() -> None:
    assert len(_layer_files()) >= 10


@pytest.mark.parametrize("path", _layer_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_lower_layers_import_only_allowed_modules(path: Path) -> None:
    layer = path.relative_to(SRC).parts[0]
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "icaht":
            parent = ".".join(name.split(".")[:2])
            assert parent in ALLOWED_ICAHT, f"{path}: {layer} imports {name}"
            if layer == "knowledge":
                assert not name.startswith("icaht.core"), f"{path}: knowledge imports core"
            continue
        assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, (
            f"{path}: the {layer} layer imports {name}; only stdlib, numpy and pydantic are allowed"
        )


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself must flag a web/dataframe import (guards against a vacuous test)."""
    bad = tmp_path / "bad.py"
    bad.write_text("import pandas\nfrom fastapi import FastAPI\n", encoding="utf-8")
    found = _imports(bad)
    assert [n for n in found if n.split(".")[0] not in sys.stdlib_module_names] == [
        "pandas",
        "fastapi",
    ]
