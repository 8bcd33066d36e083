"""Short database writes of a request served on the event loop (CDS Hooks calls).

A CDS Hooks call does its work on the server process's event loop (``service.cds_hooks``): its
writes (a token's ``jti``, the audit of the cards shown) are a few small rows, done in well under
a millisecond. They must never hold the loop while another writer holds the database, so a write
runs on the loop only when it can start at once (SQLite: its connection takes the writer lock,
``store.sqlite_writer``; PostgreSQL orders writers itself) and otherwise waits in a worker thread
while the loop serves other connections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from icaht.store import sqlite_writer

T = TypeVar("T")


async def write_soon(session: Session, write: Callable[[], T]) -> T:
    """``write()`` (which writes with ``session`` and commits): on the event loop when the
    database can be written now, else in a worker thread."""
    if sqlite_writer.take_if_free(session):
        return write()
    return await run_in_threadpool(write)
