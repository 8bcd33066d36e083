"""A written FHIR NDJSON cohort with bad patients and lines of no patient (reader and cohort
tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

INVALID_OBS = {
    "resourceType": "Observation",
    "id": "bad-obs",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
    "effectiveDateTime": "2023-03-02",
    "valueQuantity": {"value": "lots", "unit": "10*9/L"},
}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _append(path: Path, *lines: str) -> int:
    """Append lines to an NDJSON file; the 1-based number of the first one."""
    first = len(path.read_text().splitlines()) + 1
    with path.open("a") as handle:
        handle.writelines(line + "\n" for line in lines)
    return first


def damage(folder: Path) -> dict[str, Any]:
    """Break three of six patients of a written cohort in three ways, and add two problems of no
    patient; what was done, for the assertions."""
    ids = [p["id"] for p in _lines(folder / "Patient.ndjson")]
    observations = folder / "Observation.ndjson"
    bad_obs = INVALID_OBS | {"subject": {"reference": f"Patient/{ids[1]}"}}
    line = _append(observations, json.dumps(bad_obs))
    malformed = _append(observations, '{"resourceType": "Observation", "id": ')
    orphan = INVALID_OBS | {"id": "no-subject"}
    orphan_line = _append(observations, json.dumps(orphan))
    # patient 2: every resource valid, but the mapped record is not (age is not a number)
    patients = _lines(folder / "Patient.ndjson")
    patients[2]["extension"][0]["extension"].append({"url": "age_years", "valueString": "old"})
    # patient 3: an invalid Patient resource itself (gender not a code of the value set type)
    patients[3]["gender"] = 7
    (folder / "Patient.ndjson").write_text("".join(json.dumps(p) + "\n" for p in patients))
    return {
        "ids": ids,
        "bad_obs_line": line,
        "malformed_line": malformed,
        "orphan_line": orphan_line,
    }
