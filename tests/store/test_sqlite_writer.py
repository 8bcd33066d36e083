"""The SQLite writer lock (``store.sqlite_writer``): held from a connection's first write to the
end of its transaction, never for reads, released on commit, rollback and close, and a waiter
gives up with SQLite's own error after the timeout."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from icaht.store.database import make_engine
from icaht.store.sqlite_writer import WriterLockedConnection, lock_path, take_if_free


@contextmanager
def other_holder(database: Path) -> Iterator[None]:
    """Another process-level holder of the lock (a separate open file description)."""
    fd = os.open(lock_path(str(database)), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def lock_is_free(database: Path) -> bool:
    try:
        with other_holder(database):
            return True
    except BlockingIOError:
        return False


def test_held_from_first_write_until_commit(tmp_path: Path) -> None:
    database = tmp_path / "icaht.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.commit()
        assert lock_is_free(database)
        connection.execute(text("SELECT count(*) FROM t")).scalar_one()
        assert lock_is_free(database)  # a read does not take it
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert not lock_is_free(database)
        connection.execute(text("INSERT INTO t VALUES (2)"))  # already held: no second wait
        connection.commit()
        assert lock_is_free(database)
        connection.execute(text("INSERT INTO t VALUES (3)"))
        assert not lock_is_free(database)
        connection.rollback()
        assert lock_is_free(database)
        assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
    engine.dispose()


def test_reads_run_while_another_writer_holds_it(tmp_path: Path) -> None:
    database = tmp_path / "icaht.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    with other_holder(database), engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    engine.dispose()


def test_a_waiting_writer_gives_up_with_sqlites_error(tmp_path: Path) -> None:
    database = tmp_path / "icaht.db"
    connection = sqlite3.connect(database, factory=WriterLockedConnection, timeout=0.05)
    try:
        with other_holder(database), pytest.raises(sqlite3.OperationalError, match="locked"):
            connection.before("INSERT INTO t VALUES (1)")
        connection.before("INSERT INTO t VALUES (1)")  # free again: taken at once
        assert not lock_is_free(database)
    finally:
        connection.close()
    assert lock_is_free(database)  # closing releases it


def test_in_memory_databases_have_no_lock_file(tmp_path: Path) -> None:
    engine = make_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    engine.dispose()
    assert not list(tmp_path.iterdir())
    assert not Path(lock_path(":memory:")).exists()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    database = tmp_path / "icaht.db"
    first = sqlite3.connect(database, factory=WriterLockedConnection, check_same_thread=False)
    second = sqlite3.connect(database, factory=WriterLockedConnection, check_same_thread=False)
    first.execute("CREATE TABLE t (x INTEGER)")
    first.commit()
    first.before("INSERT INTO t VALUES (1)")
    first.execute("INSERT INTO t VALUES (1)")
    waited = threading.Event()
    done = threading.Event()

    def write() -> None:
        waited.set()
        second.before("INSERT INTO t VALUES (2)")  # waits for first's commit
        second.execute("INSERT INTO t VALUES (2)")
        second.commit()
        done.set()

    worker = threading.Thread(target=write)
    worker.start()
    assert waited.wait(5)
    assert not done.wait(0.2)  # still waiting while the first transaction is open
    first.commit()
    worker.join(10)
    assert done.is_set()
    assert sorted(r[0] for r in first.execute("SELECT x FROM t")) == [1, 2]
    first.close()
    second.close()
    assert lock_is_free(database)


def test_one_thread_writing_through_two_connections_times_out(tmp_path: Path) -> None:
    database = tmp_path / "icaht.db"
    first = sqlite3.connect(database, factory=WriterLockedConnection, timeout=0.05)
    second = sqlite3.connect(database, factory=WriterLockedConnection, timeout=0.05)
    try:
        first.before("INSERT INTO t VALUES (1)")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            second.before("INSERT INTO t VALUES (2)")
        first.rollback()
        second.before("INSERT INTO t VALUES (2)")  # free again
    finally:
        first.close()
        second.close()


def test_take_if_free_takes_a_free_lock_and_never_waits(tmp_path: Path) -> None:
    database = tmp_path / "icaht.db"
    connection = sqlite3.connect(database, factory=WriterLockedConnection, timeout=5)
    other = sqlite3.connect(database, factory=WriterLockedConnection, timeout=5)
    try:
        with other_holder(database):  # another process writes: refused at once, not waited
            assert not connection.take_if_free()
        other.before("INSERT INTO t VALUES (1)")  # another connection of this process writes
        assert not connection.take_if_free()
        other.rollback()
        assert connection.take_if_free()  # free: taken, and held until the transaction ends
        assert not lock_is_free(database)
        assert connection.take_if_free()  # held already
        connection.execute("CREATE TABLE t (x INTEGER)")
        connection.commit()
        assert lock_is_free(database)
    finally:
        connection.close()
        other.close()


def test_a_session_can_write_now_unless_another_writer_holds_the_database(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert take_if_free(session)  # PostgreSQL: no lock to take; SQLite: taken
    if database_url.startswith("sqlite"):
        database = Path(database_url.removeprefix("sqlite:///"))
        with other_holder(database), Session(engine) as session:
            assert not take_if_free(session)
        memory = make_engine("sqlite://")
        with other_holder(database), Session(memory) as session:
            assert take_if_free(session)  # in memory: no lock file
        memory.dispose()
    engine.dispose()
