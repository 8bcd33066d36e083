"""``icaht demo`` preparation: database, demo patients and demo user, idempotent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icaht.knowledge.profile import load_profile
from icaht.service.dashboard.demo import DEMO_PASSWORD, LIVE_DAYS, demo_app, prepare_demo
from icaht.service.dashboard.rows import list_rows, new_row_cache, real_day
from icaht.service.sessions import DEMO_USER
from icaht.store.database import make_engine
from icaht.store.tables import Patient
from icaht.store.users import authenticate


def test_prepare_demo_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    info, store, service = prepare_demo(tmp_path, synthetic=3)
    assert service.demo
    assert info.seed_cases == 5
    assert info.created == info.seed_cases + info.synthetic
    assert info.user_created
    again, _, service_again = prepare_demo(tmp_path, synthetic=3)
    assert again.created == 0
    assert not again.user_created
    assert service_again.secret_key == service.secret_key  # kept in the data folder
    assert oct((tmp_path / "demo-session-secret").stat().st_mode & 0o777) == "0o600"
    engine = make_engine(store.url())
    with Session(engine) as session:
        patients = session.scalar(select(func.count()).select_from(Patient))
        assert patients == info.created
        assert authenticate(session, DEMO_USER, DEMO_PASSWORD) is not None
    engine.dispose()
    with TestClient(demo_app(store, service)) as client:
        page = client.get("/patients")
        assert page.status_code == 200
        assert "baur-2021" in page.text


def test_the_demo_is_live(tmp_path: Path) -> None:
    """Issue 16, "Demo data is live": on the day the demo runs there are patients early after
    infusion (in hospital), in the prolonged and in the late phase, and the list reads their
    day today ("Day 12"), not "Day 365, today 1829"."""
    today = date(2031, 5, 20)
    _, store, service = prepare_demo(tmp_path, synthetic=len(LIVE_DAYS), today=today)
    engine = make_engine(store.url())
    with Session(engine) as session:
        rows = list_rows(session, new_row_cache(), load_profile(service.profile))
    engine.dispose()
    assert {"early", "prolonged", "late"} <= {row.phase for row in rows}
    assert any(row.day is not None and row.day <= 12 for row in rows)
    for row in rows:
        assert row.day == real_day(row, today), row.key
