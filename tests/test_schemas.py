"""The committed JSON Schemas match the models (exported and checked for drift; see
docs/architecture.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from icaht.schemas import SCHEMAS, schema_text

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_matches_model(name: str) -> None:
    committed = (ROOT / "schemas" / name).read_text(encoding="utf-8")
    assert committed == schema_text(name), (
        f"schemas/{name} is out of date: run `make schemas` and commit the result"
    )


def test_record_schema_names_every_event_kind() -> None:
    text = schema_text("patient-record.schema.json")
    for kind in ("crs", "transfusion", "medication", "marrow_biopsy", "last_follow_up"):
        assert f'"{kind}"' in text
