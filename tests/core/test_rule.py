"""The rule catalogue refuses to start when a rule is inconsistent (docs/architecture.md,
Recommendations: unknown setting or missing citation = refuse to start)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from icaht.core.outcome import Fired
from icaht.core.rule import KNOWN_INPUTS, CatalogueError, Rule, setting_field, validate_catalogue
from icaht.core.rules import CATALOGUE
from icaht.knowledge.bibliography import BIBLIOGRAPHY, Citation


def _rule(**changes: object) -> Rule:
    base = Rule(
        id="test.example",
        title="Example",
        category="workup",
        strength="consider",
        summary="Fires always.",
        citations=(Citation("JAIN", "L39"),),
        inputs=("anc",),
        settings=("gcsf.therapeutic_start_day",),
        evaluate=lambda ctx: Fired(action="Consider nothing.", facts=()),
        decision="workup",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_consistent_rule_is_accepted() -> None:
    assert validate_catalogue([_rule()])[0].id == "test.example"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"settings": ("gcsf.no_such_setting",)}, "unknown profile setting 'gcsf.no_such_setting'"),
        ({"settings": ("nosection.x",)}, "unknown profile setting 'nosection.x'"),
        ({"settings": ("gcsf",)}, "unknown profile setting 'gcsf'"),
        ({"citations": ()}, "no citation"),
        ({"citations": (Citation("NOPE", "L1"),)}, "unknown citation key 'NOPE'"),
        ({"citations": (Citation("JAIN", ""),)}, "empty citation locator"),
        ({"inputs": ("anc", "potassium")}, "unknown input 'potassium'"),
        ({"inputs": ()}, "no inputs named"),
        ({"id": "NoGroup"}, "id must look like"),
        ({"category": "misc"}, "unknown category 'misc'"),
        ({"strength": "must"}, "unknown strength 'must'"),
        ({"summary": " "}, "title and summary are required"),
    ],
)
def test_an_inconsistent_rule_refuses_to_start(changes: dict[str, object], message: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        validate_catalogue([_rule(**changes)])
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(CatalogueError, match="duplicate id"):
        validate_catalogue([_rule(), _rule()])


def test_every_problem_is_reported_at_once() -> None:
    bad = _rule(settings=("x.y",), citations=(Citation("NOPE", "L1"),), inputs=("zz",))
    with pytest.raises(CatalogueError) as caught:
        validate_catalogue([bad])
    assert len(caught.value.problems) == 3


def test_setting_field_resolves_dotted_names() -> None:
    assert setting_field("tpo_ra.earliest_day") == ("tpo_ra", "earliest_day")
    assert setting_field("name") is None  # a top-level field is not a setting


def test_the_shipped_catalogue_is_valid_and_cites_known_sources() -> None:
    assert validate_catalogue(CATALOGUE) == CATALOGUE
    assert all(c.key in BIBLIOGRAPHY for r in CATALOGUE for c in r.citations)
    assert all(i in KNOWN_INPUTS for r in CATALOGUE for i in r.inputs)
