"""The rule registry (issue 19 items 2 and 4): the catalogue keeps its recorded order, lists every
rule the rule modules define, and the modules stay small and independent of one another.

- The engine keeps the first fired rule of an exclusive decision and shows the rules in catalogue
  order, so the ordered rule ids are recorded once (``data/rule_order.txt``) and may only change
  on purpose.
- A rule module (one that defines a ``@rule``) imports from ``icaht.core.rules`` only modules that
  define no rule: the shared queries and the state helpers of a decision. Two rule modules never
  import each other, so a decision can be read, moved or removed alone.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import icaht.core.rules
from icaht.core.rule import Rule
from icaht.core.rules import CATALOGUE

PACKAGE = Path(icaht.core.rules.__file__).parent
ORDER = Path(__file__).with_name("data") / "rule_order.txt"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    """Every module of the rules package by dotted name."""
    root = PACKAGE.parents[2]
    return {
        ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): path
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _defines_rule(tree: ast.Module) -> bool:
    """True when a top-level function is decorated with ``@rule(...)``."""
    return any(
        isinstance(node, ast.FunctionDef)
        and any(
            isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "rule"
            for d in node.decorator_list
        )
        for node in tree.body
    )


def _rules_imports(tree: ast.Module, modules: dict[str, Path]) -> set[str]:
    """The modules of the rules package a module imports (``from a.b import c`` names ``a.b.c``
    when that is a module, else ``a.b``)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                out.add(target if target in modules else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out & set(modules)


def test_catalogue_keeps_the_recorded_order() -> None:
    lines = ORDER.read_text(encoding="utf-8").splitlines()
    recorded = [line for line in lines if line and not line.startswith("#")]
    assert [r.id for r in CATALOGUE] == recorded


def test_every_rule_defined_is_in_the_catalogue() -> None:
    defined = {
        value
        for name in _modules()
        for value in vars(importlib.import_module(name)).values()
        if isinstance(value, Rule)
    }
    assert defined == set(CATALOGUE)


def test_rule_modules_import_no_other_rule_module() -> None:
    modules = _modules()
    trees = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in modules.items()}
    rule_modules = {name for name, tree in trees.items() if _defines_rule(tree)}
    crossing = {
        name: sorted(_rules_imports(trees[name], modules) & rule_modules)
        for name in sorted(rule_modules)
    }
    assert {name: found for name, found in crossing.items() if found} == {}


def test_no_rules_module_above_the_size_limit() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in _modules().items()
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
