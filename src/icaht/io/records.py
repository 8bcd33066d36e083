"""Read PatientRecord JSON: one file, or a folder of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from icaht.core.course import Course, course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.errors import InputError, Problem
from icaht.io.problems import from_validation_error


def read_json(path: Path) -> Any:
    """Parse a JSON file; unreadable, non-UTF-8 or malformed files raise InputError naming the
    file (and the line and column of a syntax error)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([Problem(source, f"cannot read file: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise InputError([Problem(source, "not UTF-8 text")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(source, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
        ) from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise InputError([Problem(source, f"not valid JSON: {exc}")]) from None


def read_record(path: Path) -> PatientRecord:
    """Parse and validate one record file (structure only; units are checked by the course)."""
    data = read_json(path)
    try:
        return PatientRecord.model_validate(data)
    except ValidationError as exc:
        raise InputError(from_validation_error(exc, str(path))) from None


def load_course(path: Path) -> Course:
    """Read one record file and return its validated canonical course."""
    return course_from_record(read_record(path), source=str(path))


def _record_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.glob("*.json") if p.is_file())
    if not files:
        raise InputError([Problem(str(folder), "no *.json records in this folder")])
    return files


def read_records(path: Path) -> list[PatientRecord]:
    """One record file, or every ``*.json`` of a folder (structure only); all problems of all
    files are reported together."""
    files = _record_files(path) if path.is_dir() else [path]
    records: list[PatientRecord] = []
    problems: list[Problem] = []
    for file in files:
        try:
            records.append(read_record(file))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    return records


def load_record_folder(folder: Path) -> list[Course]:
    """Every ``*.json`` record of a folder; all problems of all files are reported together."""
    courses: list[Course] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path in _record_files(folder):
        try:
            course = load_course(path)
        except InputError as exc:
            problems += exc.problems
            continue
        pid = course.facts.patient_id
        if pid in seen:
            problems.append(
                Problem(str(path), f"duplicate patient_id (also in {seen[pid]})", value=pid)
            )
        seen[pid] = path
        courses.append(course)
    if problems:
        raise InputError(problems)
    return courses
