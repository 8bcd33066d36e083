"""FHIR R4 in and out: Bundles and bulk-data NDJSON to PatientRecords (with an import report),
records and assessments to FHIR resources, and recommendations as CDS Hooks cards.

Parsing and validation use the ``fhir.resources.R4B`` models; code maps are the reviewed tables
of ``icaht/knowledge/fhir_maps``. See docs/fhir.md.
"""

from __future__ import annotations

from icaht.io.detect import is_bundle_file, is_ndjson_folder
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.ndjson import (
    RejectedPatient,
    iter_ndjson_patients,
    iter_ndjson_records,
    read_ndjson,
)
from icaht.io.fhir.reader import read_bundle
from icaht.io.fhir.writer import bundle, record_resources, write_bundle, write_ndjson

__all__ = [
    "ImportReport",
    "RejectedPatient",
    "bundle",
    "is_bundle_file",
    "is_ndjson_folder",
    "iter_ndjson_patients",
    "iter_ndjson_records",
    "read_bundle",
    "read_ndjson",
    "record_resources",
    "write_bundle",
    "write_ndjson",
]
