"""How a record's observations and events are stored as rows, and read back.

Each row carries its day (recomputed from its recorded time whenever the infusion date changes)
and a content hash, so importing the same data twice adds nothing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from pydantic import TypeAdapter

from icaht.core.course import to_day
from icaht.core.observation import Observation
from icaht.core.patient_record import PatientRecord
from icaht.core.record import MAX_DAY_RANGE, Event, Moment
from icaht.store.tables import ObservationRow, Patient

EVENT = TypeAdapter(Event)


_MOMENT = TypeAdapter(Moment)


def content_hash(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _time_text(moment: Moment) -> str:
    return moment.isoformat() if isinstance(moment, date) else repr(float(moment))


def stored_day(moment: Moment, infusion: date | None) -> float:
    """The stored day of a moment: within the documented range of days (``MAX_DAY_RANGE``
    either side of infusion), else ValueError, so that no stored row makes later assessments
    fail."""
    day = to_day(moment, infusion)
    if not -MAX_DAY_RANGE <= day <= MAX_DAY_RANGE:
        raise ValueError(f"more than {MAX_DAY_RANGE} days from the infusion date")
    return day


def stored_moment(text: str) -> Moment:
    try:
        return float(text)
    except ValueError:
        return _MOMENT.validate_python(text)


def observation_rows(
    patient: Patient, record: PatientRecord, now: datetime
) -> list[dict[str, Any]]:
    infusion = record.patient.infusion_date
    rows = []
    for obs in record.observations:
        data = obs.model_dump(mode="json", exclude_none=True)
        rows.append(
            {
                "patient_id": patient.id,
                "day": stored_day(obs.time, infusion),
                "time_text": _time_text(obs.time),
                "analyte": obs.analyte,
                "loinc": obs.loinc,
                "value": obs.value,
                "unit": obs.unit,
                "lln": obs.lln,
                "uln": obs.uln,
                "censored": obs.censored,
                "derived": obs.derived,
                "content_hash": content_hash(data),
                "recorded_at": now,
            }
        )
    return rows


def event_rows(patient: Patient, record: PatientRecord, now: datetime) -> list[dict[str, Any]]:
    infusion = record.patient.infusion_date
    rows = []
    for ev in record.events:
        payload = ev.model_dump(mode="json", exclude_none=True)
        rows.append(
            {
                "patient_id": patient.id,
                "kind": ev.kind,
                "start_day": stored_day(ev.start, infusion),
                "payload": payload,
                "content_hash": content_hash(payload),
                "recorded_at": now,
            }
        )
    return rows


def row_observation(row: ObservationRow) -> Observation:
    """An observation row as the recorded Observation."""
    return Observation(
        time=stored_moment(row.time_text),
        analyte=row.analyte,
        loinc=row.loinc,
        value=row.value,
        unit=row.unit,
        lln=row.lln,
        uln=row.uln,
        censored=row.censored,
        derived=row.derived,
    )
