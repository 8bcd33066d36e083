"""What kind of input a path is, decided cheaply (without importing the FHIR models)."""

from __future__ import annotations

from pathlib import Path

#: Bytes read from the head of a ``.json`` file to tell a FHIR Bundle from a PatientRecord.
_HEAD_CHARS = 4096


def is_bundle_file(path: Path) -> bool:
    """Whether a ``.json`` file holds a FHIR Bundle (checked on its first 4 KiB)."""
    try:
        with path.open("r", encoding="utf-8") as handle:
            head = handle.read(_HEAD_CHARS)
    except (OSError, UnicodeDecodeError):
        return False
    return '"resourceType"' in head and '"Bundle"' in head


def ndjson_files(folder: Path) -> list[Path]:
    """The ``*.ndjson`` files of a bulk-data folder, Patient first."""
    files = sorted(p for p in folder.glob("*.ndjson") if p.is_file())
    return sorted(files, key=lambda p: (not p.name.startswith("Patient"), p.name))


def is_ndjson_folder(path: Path) -> bool:
    """Whether ``path`` is a folder of FHIR bulk-data ``*.ndjson`` files."""
    return path.is_dir() and bool(ndjson_files(path))
