"""One entry point for every supported input: a record file, a folder of records, a tabular set."""

from __future__ import annotations

from pathlib import Path

from icaht.core.course import Course
from icaht.errors import InputError, Problem
from icaht.io.detect import is_bundle_file, is_ndjson_folder
from icaht.io.records import load_course, load_record_folder


def load_courses(path: Path) -> list[Course]:
    """Validated courses from ``path``: a ``.json`` record or FHIR Bundle, a folder with
    ``patients`` and ``observations`` tables (CSV or Parquet), a FHIR bulk-data NDJSON folder, or
    a folder of ``.json`` records."""
    if path.is_file() and path.suffix.lower() == ".json" and is_bundle_file(path):
        from icaht.io.fhir.courses import load_fhir_courses  # noqa: PLC0415 (slow import)

        return load_fhir_courses(path)
    if is_ndjson_folder(path):
        from icaht.io.fhir.courses import load_fhir_courses  # noqa: PLC0415

        return load_fhir_courses(path)
    if path.is_file():
        if path.suffix.lower() != ".json":
            raise InputError(
                [Problem(str(path), "expected a .json record, or a folder of tables or records")]
            )
        return [load_course(path)]
    # pyarrow loads only for a folder (a single record starts faster without it)
    from icaht.io.tabular import is_tabular_folder, load_tabular  # noqa: PLC0415

    if is_tabular_folder(path):
        return load_tabular(path)
    if path.is_dir():
        return load_record_folder(path)
    raise InputError([Problem(str(path), "no such file or folder")])
