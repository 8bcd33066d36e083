"""The catalogue as clinicians review it: docs/rules.md is generated from the code and must not
drift; the JSON form carries every rule with its sources and settings."""

from __future__ import annotations

import json
from pathlib import Path

from icaht.core.rules import CATALOGUE
from icaht.knowledge.profile import load_profile
from icaht.report.catalogue import catalogue_json, catalogue_markdown, profile_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_docs_rules_md_matches_the_catalogue() -> None:
    committed = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == catalogue_markdown(load_profile("seed-2023")), (
        "docs/rules.md drifted from the rule catalogue: run `make docs` and review the diff"
    )


def test_markdown_lists_every_rule_and_its_sources() -> None:
    text = catalogue_markdown(load_profile("seed-2023"))
    for rule in CATALOGUE:
        assert f"`{rule.id}`" in text
    assert "not a medical device" in text
    assert "## References" in text


def test_json_shows_the_profile_values_of_the_settings_used() -> None:
    seed = json.loads(catalogue_json(load_profile("seed-2023")))
    icaht = json.loads(catalogue_json(load_profile("icaht-2023")))
    assert [r["id"] for r in seed["rules"]] == [r.id for r in CATALOGUE]
    values = {(r["id"], s["name"]): s["value"] for r in icaht["rules"] for s in r["settings"]}
    used = [k for k in values if k[1] == "gcsf.prophylactic_for_high_hematotox"]
    assert all(values[k] == "True" for k in used)
    assert all(r["citations"] and r["citations"][0]["where"] for r in seed["rules"])


def test_profile_markdown_documents_every_setting_with_its_source() -> None:
    text = profile_markdown(load_profile("icaht-2023"))
    assert "`gcsf.prophylactic_for_high_hematotox` = True" in text
    assert "`tpo_ra.earliest_day` = 30" in text
    settings = [line for line in text.splitlines() if line.startswith("- `")]
    assert all("Source" in line or "Project default" in line for line in settings), [
        line for line in settings if "Source" not in line and "Project default" not in line
    ]
