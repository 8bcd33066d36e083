"""Recommendation rules: the ``Rule`` record, what a rule returns, and catalogue validation.

Each rule is one small pure function of a :class:`~icaht.core.rule_context.RuleContext` registered
with :func:`rule`: stable id, title, category, strength, citations (keys into
:mod:`icaht.knowledge.bibliography` with a locator), the inputs it reads and the profile settings
it uses (docs/architecture.md, Recommendations). A rule returns an
:data:`~icaht.core.outcome.Outcome`: :class:`~icaht.core.outcome.Fired` (the action in plain
clinical words and the facts that triggered it), :class:`~icaht.core.outcome.CannotEvaluate` (the
data it needs and lacks, never a silent skip) or ``None`` (does not apply). The catalogue is
validated when it is built: an unknown setting, citation or input refuses to start.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import BaseModel

from icaht.core.outcome import STRENGTHS, Outcome, Strength
from icaht.core.patient_facts import PatientFacts
from icaht.core.record import EVENT_KINDS
from icaht.errors import IcahtError
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import BIBLIOGRAPHY, Citation
from icaht.knowledge.profile import Profile

if TYPE_CHECKING:
    from icaht.core.rule_context import RuleContext

Category = Literal[
    "risk",
    "workup",
    "prophylaxis",
    "growth factor",
    "transfusion",
    "TPO-RA",
    "stem cell boost",
    "HCT",
    "alert",
]
#: Display order of the categories.
CATEGORIES: tuple[Category, ...] = get_args(Category)

Decision = Literal[
    "risk",
    "marrow",
    "gcsf",
    "tpo-ra",
    "boost-hct",
    "iec-hs",
    "prophylaxis",
    "transfusion",
    "workup",
    "medication",
    "alert",
]
"""The clinical decision a rule belongs to (docs/architecture.md, Decisions, episodes and tiers)."""
DECISIONS: tuple[Decision, ...] = get_args(Decision)

#: Decisions that show one state at a time: at most one of their rules fires on a day (the
#: rules are written so; :func:`icaht.core.guidance.run_rules` enforces it).
EXCLUSIVE_DECISIONS: frozenset[Decision] = frozenset({"marrow", "gcsf", "tpo-ra", "iec-hs"})

#: Derived inputs a rule may read besides analytes, event kinds and patient facts.
DERIVED_INPUTS: frozenset[str] = frozenset(
    {
        "jain_phase",
        "early_icaht",
        "late_icaht",
        "early_ticaht",
        "late_ticaht",
        "platelet_recovery",
        "phenotype",
        "platelet_transfusion",
        "rbc_transfusion",
        "gcsf_dependence",
        "car_hematotox",
        "hscore",
        "treatments",
        "tpo_ra_response",
    }
)
#: Everything a rule may name as an input.
KNOWN_INPUTS: frozenset[str] = (
    frozenset(a.value for a in Analyte)
    | frozenset(EVENT_KINDS)
    | frozenset(f"patient.{name}" for name in PatientFacts.model_fields)
    | DERIVED_INPUTS
)

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\.[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Rule:
    """One registered rule (catalogue entry plus its function)."""

    id: str
    title: str
    category: Category
    strength: Strength
    summary: str
    citations: tuple[Citation, ...]
    inputs: tuple[str, ...]
    settings: tuple[str, ...]
    evaluate: Callable[[RuleContext], Outcome]
    decision: Decision


def rule(
    *,
    id: str,
    title: str,
    category: Category,
    summary: str,
    citations: Iterable[Citation],
    inputs: Iterable[str],
    decision: Decision,
    settings: Iterable[str] = (),
    strength: Strength = "consider",
) -> Callable[[Callable[[RuleContext], Outcome]], Rule]:
    """Register a rule function: ``@rule(id=..., ...)`` turns the function into a :class:`Rule`."""

    def register(evaluate: Callable[[RuleContext], Outcome]) -> Rule:
        return Rule(
            id=id,
            title=title,
            category=category,
            strength=strength,
            summary=summary,
            citations=tuple(citations),
            inputs=tuple(inputs),
            settings=tuple(settings),
            evaluate=evaluate,
            decision=decision,
        )

    return register


class CatalogueError(IcahtError):
    """The rule catalogue is inconsistent; icaht refuses to start."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid rule catalogue: " + "; ".join(problems))


def setting_field(dotted: str) -> tuple[str, str] | None:
    """(section, name) of a dotted profile setting, or None if the profile has no such setting."""
    section, _, name = dotted.partition(".")
    info = Profile.model_fields.get(section)
    model = info.annotation if info is not None else None
    if not name or not isinstance(model, type) or not issubclass(model, BaseModel):
        return None
    return (section, name) if name in model.model_fields else None


def setting_value(profile: Profile, dotted: str) -> object:
    """The value of a dotted setting in a profile (the name was validated with the catalogue)."""
    section, _, name = dotted.partition(".")
    return getattr(getattr(profile, section), name)


def setting_description(dotted: str) -> str:
    """The documented description (with its source) of a dotted setting."""
    section, _, name = dotted.partition(".")
    model = Profile.model_fields[section].annotation
    assert isinstance(model, type)
    assert issubclass(model, BaseModel)
    return model.model_fields[name].description or ""


def _problems(rule_: Rule) -> list[str]:
    where = f"rule {rule_.id!r}"
    out = []
    if not _ID.match(rule_.id):
        out.append(f"{where}: id must look like 'group.name' in lower-case kebab words")
    if rule_.category not in CATEGORIES:
        out.append(f"{where}: unknown category {rule_.category!r}")
    if rule_.decision not in DECISIONS:
        out.append(f"{where}: unknown decision {rule_.decision!r}")
    if rule_.strength not in STRENGTHS:
        out.append(f"{where}: unknown strength {rule_.strength!r}")
    if not rule_.title.strip() or not rule_.summary.strip():
        out.append(f"{where}: title and summary are required")
    if not rule_.citations:
        out.append(f"{where}: no citation")
    out += [
        f"{where}: unknown citation key {c.key!r}"
        for c in rule_.citations
        if c.key not in BIBLIOGRAPHY
    ]
    out += [
        f"{where}: empty citation locator for {c.key!r}" for c in rule_.citations if not c.where
    ]
    if not rule_.inputs:
        out.append(f"{where}: no inputs named")
    out += [f"{where}: unknown input {name!r}" for name in rule_.inputs if name not in KNOWN_INPUTS]
    out += [
        f"{where}: unknown profile setting {name!r}"
        for name in rule_.settings
        if setting_field(name) is None
    ]
    return out


def validate_catalogue(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    """Check every rule; raise :class:`CatalogueError` listing all problems, else return them."""
    catalogue = tuple(rules)
    problems: list[str] = []
    seen: set[str] = set()
    for rule_ in catalogue:
        if rule_.id in seen:
            problems.append(f"rule {rule_.id!r}: duplicate id")
        seen.add(rule_.id)
        problems += _problems(rule_)
    if problems:
        raise CatalogueError(problems)
    return catalogue
