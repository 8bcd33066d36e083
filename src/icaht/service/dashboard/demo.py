"""``icaht demo``: a ready dashboard on the embedded SQLite database.

Creates or upgrades the database in the data directory, loads the demo patients idempotently
(the published seed cases of ``examples/`` and synthetic patients from :mod:`icaht.simulate`),
creates the demo clinician, and returns what the command prints before serving. The session
secret of a demo data directory is random and kept in the directory (so sessions survive a
restart and no two demo installations share it).
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from icaht.atomic import atomic_text
from icaht.core.patient_record import PatientRecord
from icaht.core.timeline import calendar_day
from icaht.io.records import read_records
from icaht.knowledge.profile import load_profile
from icaht.service.app import create_app
from icaht.service.dashboard.rows import list_rows, new_row_cache
from icaht.service.server import NoDelayHttpToolsProtocol
from icaht.service.sessions import DEMO_ROLE, DEMO_USER
from icaht.service.settings import ServiceSettings
from icaht.store.database import make_engine, upgrade
from icaht.store.patients import import_records
from icaht.store.settings import StoreSettings
from icaht.store.tables import User
from icaht.store.users import create_user

#: The demo clinician's password (printed by ``icaht demo``; demo data only).
DEMO_PASSWORD = "icaht-demo-clinician"
#: Synthetic patients added to the seed cases, and the cohort seed (project defaults).
SYNTHETIC_PATIENTS = 40
SYNTHETIC_SEED = 2023
SECRET_FILE = "demo-session-secret"
#: The day after infusion that is "today" for the synthetic demo patients, in turn (project
#: default): patients early after infusion (in hospital), in the prolonged and the late phase on
#: whatever day the demo runs.
LIVE_DAYS: tuple[int, ...] = (3, 8, 12, 18, 25, 40, 60, 85, 120, 180, 270, 365)


@dataclass(frozen=True, slots=True)
class DemoInfo:
    database: str
    seed_cases: int
    synthetic: int
    created: int
    user_created: bool
    note: str


def examples_folder() -> Path | None:
    """The seed cases shipped with the source tree (``examples/``), if present."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[4] / "examples", Path.cwd() / "examples"):
        if candidate.is_dir() and any(candidate.glob("*.json")):
            return candidate
    return None


def _secret(data_dir: Path) -> str:
    path = data_dir / SECRET_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    with atomic_text(path, mode=0o600) as handle:
        handle.write(secret)
    return secret


def _synthetic(n: int, seed: int) -> tuple[list[PatientRecord], str]:
    try:
        module = importlib.import_module("icaht.simulate")
    except ImportError:  # the simulator is optional for the demo
        return [], "icaht.simulate is not available: seed cases only"
    generate: Callable[[int, int], Iterator[PatientRecord]] = module.simulate_records
    return list(generate(n, seed)), ""


def _day_numbers(record: PatientRecord) -> bool:
    """True when every time of the record is a day number (so a new infusion date moves it)."""
    moments = [o.time for o in record.observations] + [e.start for e in record.events]
    return all(isinstance(m, int | float) for m in moments)


def live(record: PatientRecord, today: date, cut: float | None = None) -> PatientRecord:
    """The record as if today were its last day with a value on or before day ``cut`` after
    infusion (default: its last day with a value): what comes later is dropped and the infusion
    date moves so that this day is ``today``. A record timed with dates stays as it is."""
    if not _day_numbers(record) or not record.observations:
        return record
    days = sorted(float(o.time) for o in record.observations)  # type: ignore[arg-type]
    # today is the last day with a value on or before the chosen day
    cut = days[-1] if cut is None else max([d for d in days if d < cut + 1] or days[:1])
    end = float(calendar_day(cut) + 1)
    observations = [o for o in record.observations if float(o.time) < end]  # type: ignore[arg-type]
    events = [e for e in record.events if float(e.start) < end]  # type: ignore[arg-type]
    infusion = today - timedelta(days=calendar_day(cut))
    patient = record.patient.model_copy(update={"infusion_date": infusion})
    return record.model_copy(
        update={"patient": patient, "observations": observations, "events": events}
    )


def prepare_demo(
    data_dir: Path,
    *,
    synthetic: int = SYNTHETIC_PATIENTS,
    progress: Callable[[str, int, int], None] | None = None,
    today: date | None = None,
) -> tuple[DemoInfo, StoreSettings, ServiceSettings]:
    """Database, demo patients and demo user in ``data_dir`` (idempotent). The demo is live:
    each seed case ends today, each synthetic patient is on one of ``LIVE_DAYS`` today."""
    store = StoreSettings(data_dir=data_dir, database_url=None)
    engine = make_engine(store.url())
    upgrade(engine)
    records: list[PatientRecord] = []
    folder = examples_folder()
    if folder is not None:
        records += read_records(folder)
    seeds = len(records)
    made, note = _synthetic(synthetic, SYNTHETIC_SEED) if synthetic else ([], "")
    day = today or datetime.now(UTC).date()
    records = [live(r, day) for r in records]
    records += [live(r, day, LIVE_DAYS[i % len(LIVE_DAYS)]) for i, r in enumerate(made)]
    created = 0
    user_created = False
    with Session(engine) as session, session.begin():
        for i, record in enumerate(records):
            source = f"demo patient {record.patient.patient_id}"
            report = import_records(session, [record], source, actor="demo-setup")
            created += report.patients_created
            if progress is not None:
                progress("loading demo patients", i + 1, len(records))
        exists = session.scalars(select(User).where(User.username == DEMO_USER)).first()
        if exists is None:
            create_user(session, DEMO_USER, DEMO_PASSWORD, DEMO_ROLE)
            user_created = True
    engine.dispose()
    if folder is None:
        note = (note + "; " if note else "") + "examples/ not found: no seed cases"
    info = DemoInfo(store.url(), seeds, len(made), created, user_created, note)
    service = ServiceSettings(demo=True, secret_key=_secret(data_dir))
    return info, store, service


def demo_app(store: StoreSettings, service: ServiceSettings) -> FastAPI:
    """The application, with the patient-list rows computed before the first request."""
    app = create_app(service, store)
    cache = new_row_cache()
    with app.state.sessions() as session:
        list_rows(session, cache, load_profile(service.profile))
    app.state.dashboard_rows = cache
    return app


def serve_demo(app: FastAPI, host: str, port: int) -> None:
    """Serve the demo application until interrupted (one process)."""
    uvicorn.run(app, host=host, port=port, http=NoDelayHttpToolsProtocol, log_level="warning")
