"""Imports point downward only (docs/architecture.md): the knowledge and core layers import only
the stdlib, numpy and pydantic; io never imports service or cli; store never imports io; cohort
never imports service; and the packages' import graph has no cycle."""

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


#: (importer, imported) package pairs that must never occur: a lower layer importing a
#: presenter, or storage depending on the importers.
FORBIDDEN = (("io", "service"), ("io", "cli"), ("store", "io"), ("cohort", "service"))
#: The node of the ``icaht`` package's own ``__init__`` (version, disclaimer).
ROOT = "icaht"


def _import_nodes(path: Path) -> list[ast.Import | ast.ImportFrom]:
    """Every absolute import of a file, at module level or inside a function (a lazy import is
    still a dependency)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        or (isinstance(node, ast.ImportFrom) and node.module and node.level == 0)
    ]


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in _import_nodes(path):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif node.module:
            names.append(node.module)
    return names


def _package_of(path: Path, src: Path) -> str:
    """The package a file belongs to: ``io`` for ``icaht/io/fhir/pull.py``, ``errors`` for a
    top-level module, :data:`ROOT` for ``icaht/__init__.py``."""
    first = path.relative_to(src).parts[0]
    return ROOT if first == "__init__.py" else first.removesuffix(".py")


def _imported_packages(path: Path, src: Path) -> set[str]:
    """The icaht packages a file imports (``from icaht import DISCLAIMER`` is :data:`ROOT`)."""
    found: set[str] = set()
    for node in _import_nodes(path):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        for name in names:
            parts = str(name).split(".")
            if parts[0] != "icaht":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            elif isinstance(node, ast.ImportFrom):  # from icaht import x: a module or the root
                found |= {
                    a.name if (src / a.name).is_dir() or (src / f"{a.name}.py").is_file() else ROOT
                    for a in node.names
                }
    return found


def package_graph(src: Path) -> dict[str, set[str]]:
    """Package -> the other icaht packages its files import."""
    graph: dict[str, set[str]] = {}
    for path in sorted(src.rglob("*.py")):
        package = _package_of(path, src)
        graph.setdefault(package, set()).update(_imported_packages(path, src) - {package})
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as the packages along it (first repeated at the end), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def forbidden_edges(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """The :data:`FORBIDDEN` imports present in the graph."""
    return [(a, b) for a, b in FORBIDDEN if b in graph.get(a, set())]


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


def test_package_graph_covers_every_package() -> None:
    graph = package_graph(SRC)
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert packages <= graph.keys()
    assert {"io", "store", "service", "cohort", "cli", "core", "knowledge"} <= packages
    assert "core" in graph["io"]  # the graph sees real imports (guards a vacuous test)


def test_no_forbidden_package_import() -> None:
    graph = package_graph(SRC)
    offenders = {
        (a, b): sorted(
            str(path.relative_to(SRC))
            for path in (SRC / a).rglob("*.py")
            if b in _imported_packages(path, SRC)
        )
        for a, b in forbidden_edges(graph)
    }
    assert offenders == {}


def test_package_imports_have_no_cycle() -> None:
    assert find_cycle(package_graph(SRC)) is None


def test_checks_catch_a_bad_graph(tmp_path: Path) -> None:
    """A deliberately bad package tree: store imports io (lazily, in a function), io imports
    store, and the root imports cli."""
    for package, body in {
        "io": "from icaht.store.rows import x\n",
        "store": "def f():\n    import icaht.io.fhir\n",
        "cli": "from icaht import DISCLAIMER\n",
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
        (tmp_path / package / "m.py").write_text(body, encoding="utf-8")
    (tmp_path / "__init__.py").write_text("from icaht import cli\n", encoding="utf-8")
    graph = package_graph(tmp_path)
    assert graph == {"icaht": {"cli"}, "cli": {"icaht"}, "io": {"store"}, "store": {"io"}}
    assert forbidden_edges(graph) == [("store", "io")]
    assert find_cycle(graph) == ["cli", "icaht", "cli"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
