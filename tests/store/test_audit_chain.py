"""Issue 18 item 15, tamper evidence, on SQLite and PostgreSQL: every audit entry's hash is
chained to the previous one, a trigger refuses UPDATE and DELETE, ``verify_chain`` (and
``icaht audit verify``) names the first broken link, and concurrent writers keep one chain."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from icaht.cli import app
from icaht.store.audit import audit, verify_chain


def _write(engine: Engine, count: int, actor: str = "ana") -> None:
    for i in range(count):
        with Session(engine) as session, session.begin():
            audit(session, actor=actor, action="read", patient_key=f"p{i}", detail={"n": i})


def _check(engine: Engine) -> tuple[int | None, str]:
    with Session(engine) as session:
        result = verify_chain(session)
    return result.broken_at, result.reason


def _without_guard(engine: Engine, statement: str) -> None:
    """What someone with the database's owner rights could do: lift the trigger, then edit."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(text(statement))
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))
            connection.execute(text(statement))


def test_an_intact_log_verifies(engine: Engine) -> None:
    _write(engine, 3)
    assert _check(engine) == (None, "")


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET actor = 'mallory' WHERE id = 2", "DELETE FROM audit_log WHERE id = 2"],
)
def test_the_database_refuses_to_change_the_log(engine: Engine, statement: str) -> None:
    _write(engine, 3)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    assert _check(engine) == (None, "")


def test_a_changed_entry_is_the_first_broken_link(engine: Engine) -> None:
    _write(engine, 4)
    _without_guard(engine, "UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    assert _check(engine) == (2, "its content was changed")


def test_a_removed_entry_breaks_the_next_link(engine: Engine) -> None:
    _write(engine, 4)
    _without_guard(engine, "DELETE FROM audit_log WHERE id = 2")
    assert _check(engine) == (3, "it does not follow the entry before it")


def test_removed_newest_entries_are_detected(engine: Engine) -> None:
    _write(engine, 4)
    _without_guard(engine, "DELETE FROM audit_log WHERE id >= 3")
    broken_at, reason = _check(engine)
    assert broken_at == 3
    assert "missing at the end" in reason


def test_concurrent_writers_keep_one_chain(engine: Engine) -> None:
    threads = [threading.Thread(target=_write, args=(engine, 5, f"w{i}")) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        result = verify_chain(session)
    assert (result.broken_at, result.entries) == (None, 30)


def test_icaht_audit_verify_reports_the_first_broken_link(engine: Engine) -> None:
    _write(engine, 3)
    env = {"ICAHT_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    runner = CliRunner()
    intact = runner.invoke(app, ["audit", "verify"], env=env)
    assert intact.exit_code == 0, intact.output
    assert "3 entries" in intact.output
    _without_guard(engine, "UPDATE audit_log SET detail = '{\"n\": 9}' WHERE id = 2")
    broken = runner.invoke(app, ["audit", "verify"], env=env)
    assert broken.exit_code == 1
    assert "entry 2" in broken.output
