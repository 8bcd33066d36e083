"""An import killed mid-way (SIGKILL) leaves the database consistent, and simply re-running it
completes the import, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from icaht.store.tables import EventRow, ObservationRow, Patient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PATIENTS = 400


def _records(folder: Path) -> Path:
    folder.mkdir()
    data = json.loads((EXAMPLES / "baur.json").read_text(encoding="utf-8"))
    for i in range(PATIENTS):
        data["patient"]["patient_id"] = f"p{i:04d}"
        (folder / f"p{i:04d}.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def _writing(engine: Engine, database_url: str) -> bool:
    """Whether the importer's transaction has started writing rows."""
    if database_url.startswith("sqlite"):
        wal = Path(database_url.removeprefix("sqlite:///") + "-wal")
        return wal.exists() and wal.stat().st_size > 1_000_000
    with engine.connect() as connection:
        busy = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND query ILIKE 'INSERT INTO observations%'"
            )
        ).scalar()
    return bool(busy)


def _counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(Patient)) or 0,
            session.scalar(select(func.count()).select_from(ObservationRow)) or 0,
            session.scalar(select(func.count()).select_from(EventRow)) or 0,
        )


def test_a_killed_import_leaves_nothing_half_written(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    folder = _records(tmp_path / "records")
    env = {**os.environ, "ICAHT_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "icaht.cli", "db", "import", str(folder)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not _writing(engine, database_url):
        assert process.poll() is None, "the import finished before it could be killed"
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    assert _counts(engine) == (0, 0, 0)  # one transaction: nothing of it is visible
    if database_url.startswith("sqlite"):
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    patients, observations, events = _counts(engine)
    assert patients == PATIENTS
    baur = json.loads((EXAMPLES / "baur.json").read_text(encoding="utf-8"))
    assert observations == PATIENTS * len(baur["observations"])
    assert events == PATIENTS * len(baur["events"])
