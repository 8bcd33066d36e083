"""The rule catalogue: every recommendation rule, validated when icaht starts.

Rules live in modules named for the part of the course they serve; the catalogue lists them in
module order, then in the order they are defined. :func:`icaht.core.rule.validate_catalogue`
refuses an unknown setting, citation or input.
"""

from __future__ import annotations

from types import ModuleType

from icaht.core.rule import Rule, validate_catalogue
from icaht.core.rules import (
    baseline,
    early,
    growth_factor,
    iechs,
    late,
    marrow,
    prolonged,
    tpo_ra,
)

_MODULES: tuple[ModuleType, ...] = (
    baseline,
    early,
    growth_factor,
    iechs,
    prolonged,
    tpo_ra,
    marrow,
    late,
)


def _collect(modules: tuple[ModuleType, ...]) -> list[Rule]:
    return [
        value for module in modules for value in vars(module).values() if isinstance(value, Rule)
    ]


CATALOGUE: tuple[Rule, ...] = validate_catalogue(_collect(_MODULES))
"""Every rule, in display order."""
