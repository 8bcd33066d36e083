"""A patient's data: add observations and events, list them by day range (with history), and
correct one (the old row is kept, superseded by the new one). Every call is audited."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel

from icaht.core.observation import Observation
from icaht.core.record import Event
from icaht.service.api.deps import Clinical, Db, PatientKey, Window, api_router
from icaht.service.api.routes.patients import ImportResult
from icaht.service.auth import audited
from icaht.store.corrections import correct_event, correct_observation
from icaht.store.patients import add_to_patient
from icaht.store.reading import list_events, list_observations

router = api_router()


class ObservationOut(BaseModel):
    id: int
    day: float
    observation: Observation
    superseded_by: int | None


class EventOut(BaseModel):
    id: int
    day: float
    event: Event
    superseded_by: int | None


class Additions(BaseModel):
    """Observations and/or events to add to a patient."""

    observations: list[Observation] = []
    events: list[Event] = []


@router.post("/patients/{patient_id}/data", status_code=201)
def add_data(patient_id: PatientKey, body: Additions, who: Clinical, db: Db) -> ImportResult:
    """Add observations and events (one or many; the same data twice adds nothing)."""
    report = add_to_patient(db, patient_id, body.observations, body.events)
    audited(
        db,
        who,
        "add-data",
        patient_key=patient_id,
        detail={
            "observations_added": report.observations_added,
            "events_added": report.events_added,
        },
    )
    return ImportResult(**asdict(report))


@router.get("/patients/{patient_id}/observations")
def observations(
    patient_id: PatientKey,
    who: Clinical,
    db: Db,
    window: Window,
) -> list[ObservationOut]:
    """Observations in a day range; ``history=true`` includes corrected (superseded) rows."""
    rows = list_observations(db, patient_id, window.first, window.last, window.history)
    audited(db, who, "list-observations", patient_key=patient_id)
    return [
        ObservationOut(id=r.id, day=r.day, observation=r.observation, superseded_by=r.superseded_by)
        for r in rows
    ]


@router.put("/patients/{patient_id}/observations/{observation_id}")
def correct(
    patient_id: PatientKey, observation_id: int, corrected: Observation, who: Clinical, db: Db
) -> dict[str, int]:
    """Correct an observation: the old value is kept as history, superseded by the new one."""
    new_id = correct_observation(db, patient_id, observation_id, corrected)
    audited(
        db,
        who,
        "correct-observation",
        patient_key=patient_id,
        detail={"old": observation_id, "new": new_id},
    )
    return {"id": new_id, "supersedes": observation_id}


@router.get("/patients/{patient_id}/events")
def events(
    patient_id: PatientKey,
    who: Clinical,
    db: Db,
    window: Window,
) -> list[EventOut]:
    """Events starting in a day range; ``history=true`` includes corrected (superseded) rows."""
    rows = list_events(db, patient_id, window.first, window.last, window.history)
    audited(db, who, "list-events", patient_key=patient_id)
    return [
        EventOut(id=r.id, day=r.day, event=r.event, superseded_by=r.superseded_by) for r in rows
    ]


@router.put("/patients/{patient_id}/events/{event_id}")
def correct_an_event(
    patient_id: PatientKey, event_id: int, corrected: Event, who: Clinical, db: Db
) -> dict[str, int]:
    """Correct an event: the old one is kept as history, superseded by the new one."""
    new_id = correct_event(db, patient_id, event_id, corrected)
    audited(
        db, who, "correct-event", patient_key=patient_id, detail={"old": event_id, "new": new_id}
    )
    return {"id": new_id, "supersedes": event_id}
