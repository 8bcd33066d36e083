"""The exported JSON Schemas of the data contract (PatientRecord) and the Assessment."""

from __future__ import annotations

import json

from pydantic import BaseModel

from icaht.core.assessment import Assessment
from icaht.core.patient_record import PatientRecord

SCHEMAS: dict[str, type[BaseModel]] = {
    "patient-record.schema.json": PatientRecord,
    "assessment.schema.json": Assessment,
}


def schema_text(name: str) -> str:
    """The JSON Schema document for one exported model, as committed under ``schemas/``."""
    model = SCHEMAS[name]
    if model is PatientRecord:
        schema = model.model_json_schema(mode="validation")
    else:
        schema = model.model_json_schema(mode="serialization")
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
