"""The cache of validated FHIR resources (keyed by the digest of each resource's canonical JSON):
the same records and report as without it, a changed resource validated again, an invalid one
giving the same problems every time, and a bounded size."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from icaht.errors import InputError
from icaht.io.fhir.reader import bundle_records
from icaht.io.fhir.resource_cache import ResourceCache, resource_digest
from icaht.io.fhir.writer import record_resources
from icaht.io.records import read_record

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


@pytest.fixture
def resources() -> list[dict[str, Any]]:
    return record_resources(read_record(EXAMPLES / "jain-case1.json"))


def test_cached_resources_give_the_same_records_and_report(
    resources: list[dict[str, Any]],
) -> None:
    plain_records, plain_report = bundle_records(_bundle(resources), "b")
    cache = ResourceCache()
    first = bundle_records(_bundle(resources), "b", cache=cache)
    assert len(cache) == len(resources)
    digests = [resource_digest(r) for r in resources]
    again = bundle_records(_bundle(copy.deepcopy(resources)), "b", cache=cache, digests=digests)
    for records, report in (first, again):
        assert records == plain_records
        assert report.as_dict() == plain_report.as_dict()
    assert len(cache) == len(resources)
    kinds = [r["resourceType"] for r in resources]
    assert len(cache.mapped) == len(kinds) - kinds.count("Patient") - kinds.count(
        "MedicationStatement"
    )  # the medication resources read their Medication: mapped every time


def test_a_kept_mapping_is_not_changed_by_its_patient(resources: list[dict[str, Any]]) -> None:
    """The labs of a record whose times are days count them from the infusion: with the
    infusion a day later, the same Observations (mappings kept from the first call) are a day
    earlier, as without the cache."""
    cache = ResourceCache()
    (first,), _ = bundle_records(_bundle(resources), "b", cache=cache)
    later = copy.deepcopy(resources)
    infusion = next(r for r in later if r["resourceType"] == "Procedure")
    assert infusion["performedDateTime"] == "2000-01-01"  # the anchor of days (docs/fhir.md)
    infusion["performedDateTime"] = "2000-01-02"
    (moved,), _ = bundle_records(_bundle(later), "b", cache=cache)
    (expected,), _ = bundle_records(_bundle(later), "b")
    assert moved == expected
    assert [o.time - 1 for o in first.observations] == [o.time for o in moved.observations]


def test_different_content_gives_a_different_digest(resources: list[dict[str, Any]]) -> None:
    obs = next(r for r in resources if r["resourceType"] == "Observation")
    assert resource_digest(copy.deepcopy(obs)) == resource_digest(obs)
    changed = copy.deepcopy(obs)
    changed["valueQuantity"]["value"] += 1
    assert resource_digest(changed) != resource_digest(obs)
    pairs = [(1, 1.0), (True, 1), (math.nan, None), (math.inf, None), ("1", 1), ("null", None)]
    pairs += [(2**64, float(2**64)), (-(2**70), None), (math.nan, math.inf)]
    for one, other in pairs:
        assert resource_digest({"v": one}) != resource_digest({"v": other})


def test_a_changed_resource_is_validated_again(resources: list[dict[str, Any]]) -> None:
    cache = ResourceCache()
    (before,), _ = bundle_records(_bundle(resources), "b", cache=cache)
    changed = copy.deepcopy(resources)
    index, obs = next((i, r) for i, r in enumerate(changed) if r["resourceType"] == "Observation")
    obs["valueQuantity"]["value"] = 0.01
    (after,), _ = bundle_records(_bundle(changed), "b", cache=cache)
    assert len(cache) == len(resources) + 1
    (expected,), _ = bundle_records(_bundle(changed), "b")
    assert after == expected != before
    invalid = copy.deepcopy(changed)
    invalid[index]["valueQuantity"]["value"] = "lots"
    with pytest.raises(InputError):
        bundle_records(_bundle(invalid), "b", cache=cache)


def test_an_invalid_resource_gives_the_same_problems_every_time(
    resources: list[dict[str, Any]],
) -> None:
    bad = copy.deepcopy(resources)
    index = next(i for i, r in enumerate(bad) if r["resourceType"] == "Observation")
    bad[index]["valueQuantity"]["value"] = "lots"
    with pytest.raises(InputError) as plain:
        bundle_records(_bundle(bad), "b")
    cache = ResourceCache()
    for _ in range(2):
        with pytest.raises(InputError) as cached:
            bundle_records(_bundle(bad), "b", cache=cache)
        assert cached.value.problems == plain.value.problems
    (problem,) = plain.value.problems
    assert problem.field == f"Bundle.entry[{index}].resource.Observation.valueQuantity.value"
    assert len(cache) == len(resources) - 1  # the invalid one is not kept


def test_the_cache_keeps_the_most_recently_used(resources: list[dict[str, Any]]) -> None:
    cache = ResourceCache(max_entries=3)
    bundle_records(_bundle(resources), "b", cache=cache)
    assert len(cache) == 3
    recent = [resource_digest(r) for r in resources[-3:]]
    assert all(cache.get(d) is not None for d in recent)
    assert cache.get(resource_digest(resources[0])) is None
    off = ResourceCache(max_entries=0)
    bundle_records(_bundle(resources), "b", cache=off)
    assert len(off) == 0


def test_a_lab_with_a_unit_not_accepted_is_named_alike_with_the_cache(
    resources: list[dict[str, Any]],
) -> None:
    """A lab whose unit the reviewed unit table does not accept (a NUL character in it) is
    dropped and named in the import report by its resource id, with the cache as without it,
    every time (issue 17: one unknown unit rejects that observation, never the patient; before,
    the whole record was refused)."""
    bad = copy.deepcopy(resources)
    labs = [r for r in bad if r["resourceType"] == "Observation"]
    labs[3]["valueQuantity"]["code"] = labs[3]["valueQuantity"]["unit"] = "/mm3\x00"
    found = []
    for cache in (None, ResourceCache()):
        for _ in range(2):
            _, report = bundle_records(_bundle(copy.deepcopy(bad)), "b", cache=cache)
            found.append([(s.resource_id, s.code, s.reason) for s in report.dropped])
    assert found[0] == [
        (labs[3]["id"], f"http://loinc.org|{labs[3]['code']['coding'][0]['code']}", found[0][0][2])
    ]
    assert "not accepted" in found[0][0][2]
    assert all(f == found[0] for f in found)
