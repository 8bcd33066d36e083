"""One SQLite writer at a time across processes, without SQLite's back-off sleeps.

SQLite admits one writer; a second one waits in SQLite's busy handler, which sleeps 1, 2, 5, 10,
... up to 100 ms between attempts. With two server workers that each commit an audit entry per
request, those sleeps dominated the latency tail. Here every connection takes an exclusive OS
lock (``flock``) on a file beside the database before its first writing statement and releases it
after its commit or rollback, so writers queue on the lock and the next one starts as soon as the
previous one finished. Within a process, writers first queue on a thread lock (waiting on it costs
nothing), so at most one thread per process polls the file lock, every :data:`POLL_S`. Both waits
give up after the busy timeout with SQLite's own "database is locked" error, so a stuck writer
cannot hang the others.

Reads (``SELECT`` and ``PRAGMA``) never take the lock: WAL lets them run beside the writer. The
lock only orders writers; SQLite's own locking still guarantees correctness (a writer that does not
use this lock, such as the ``sqlite3`` shell, is waited for by the busy timeout as before).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

POLL_S = 0.0005  # project default: how often a waiting writer retries the lock
_READS = ("SELECT", "PRAGMA")
_FLAGS = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC


def lock_path(database: str) -> str:
    """The lock file of a database file."""
    return f"{database}-writer.lock"


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: str) -> threading.Lock:
    """The one thread lock of this process for a lock file."""
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(os.path.realpath(path), threading.Lock())


class WriterLockedConnection(sqlite3.Connection):
    """A ``sqlite3`` connection (pass as ``factory=``) that holds the database's writer lock from
    its first writing statement (:func:`install` tells it of each statement) to the end of that
    transaction."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._timeout_s = float(kwargs.get("timeout", args[0] if args else 5.0))
        in_memory = database == ":memory:" or kwargs.get("uri", False)
        self._lock_fd = None if in_memory else os.open(lock_path(database), _FLAGS, 0o600)
        self._in_process = None if in_memory else _thread_lock(lock_path(database))
        self._holding = False

    def before(self, statement: str) -> None:
        """Take the writer lock before a statement that may write (if not already held)."""
        if self._lock_fd is None or self._holding or statement.lstrip()[:6].upper() in _READS:
            return
        assert self._in_process is not None
        deadline = time.monotonic() + self._timeout_s
        if not self._in_process.acquire(timeout=self._timeout_s):
            raise sqlite3.OperationalError("database is locked")
        while not self._try_file_lock():
            if time.monotonic() >= deadline:
                self._in_process.release()
                raise sqlite3.OperationalError("database is locked")
            time.sleep(POLL_S)

    def take_if_free(self) -> bool:
        """Take the writer lock now if no other writer holds it, without waiting. True when this
        connection holds it (or needs none: in memory), False when a writer holds it."""
        if self._lock_fd is None or self._holding:
            return True
        assert self._in_process is not None
        if not self._in_process.acquire(blocking=False):
            return False
        if self._try_file_lock():
            return True
        self._in_process.release()
        return False

    def _try_file_lock(self) -> bool:
        """The file lock taken (this process's thread lock is held), or False if another
        process holds it."""
        assert self._lock_fd is not None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._holding = True
        return True

    def _release(self) -> None:
        if self._holding and self._lock_fd is not None and self._in_process is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            self._in_process.release()
        self._holding = False

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def _before_execute(
    connection: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
) -> None:
    dbapi = connection.connection.dbapi_connection
    if isinstance(dbapi, WriterLockedConnection):
        dbapi.before(statement)


def install(engine: Engine) -> None:
    """Make every statement of ``engine`` (whose connections are :class:`WriterLockedConnection`)
    take the writer lock when it may write."""
    event.listen(engine, "before_cursor_execute", _before_execute)


def take_if_free(session: Session) -> bool:
    """Whether the session can write now without waiting for another writer: its connection
    takes the writer lock if it is free (kept until the transaction ends). Always True for a
    database without this lock (PostgreSQL orders its writers itself)."""
    dbapi = session.connection().connection.dbapi_connection
    return dbapi.take_if_free() if isinstance(dbapi, WriterLockedConnection) else True
