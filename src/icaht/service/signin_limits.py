"""Failed sign-ins: rate limit and temporary lockout per user name and per address.

Each failed sign-in is counted for the user name tried and for the client address, in a sliding
window (``ICAHT_SIGNIN_WINDOW_SECONDS``). When a name reaches ``ICAHT_SIGNIN_ACCOUNT_FAILURES``
or an address ``ICAHT_SIGNIN_ADDRESS_FAILURES`` failures in the window, it is locked for
``ICAHT_SIGNIN_LOCKOUT_SECONDS``: sign-ins with that name or from that address are refused
without checking the password, even the right one. Names are counted whether or not such a user
exists, so a lockout says nothing about which names exist. A successful sign-in clears its
name's failures.

The counts live in the database (``store.signin_failures``), so every worker process of a
server, and every server on the same database, shares them: N workers allow no more failures
than one.
"""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from icaht.service.settings import ServiceSettings
from icaht.store import signin_failures
from icaht.store.signin_failures import Limit

NAME, ADDRESS = "name", "address"


def now() -> float:
    """Wall-clock seconds: the one clock every process shares (tests replace it)."""
    return time.time()


class SignInLimiter:
    """Counts failed sign-ins per user name and per address, in the caller's transaction."""

    def __init__(self, settings: ServiceSettings) -> None:
        window, lockout = settings.signin_window_seconds, settings.signin_lockout_seconds
        self._limits = {
            NAME: Limit(settings.signin_account_failures, window, lockout),
            ADDRESS: Limit(settings.signin_address_failures, window, lockout),
        }

    @staticmethod
    def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
        return [(NAME, username)] + ([(ADDRESS, address)] if address else [])

    def locked_seconds(self, db: Session, username: str, address: str | None) -> float:
        """Seconds until sign-ins with this name from this address are accepted again (0: now)."""
        until = max(signin_failures.locked_until(db, *key) for key in self._keys(username, address))
        return max(0.0, until - now())

    def failed(self, db: Session, username: str, address: str | None) -> None:
        at = now()
        for kind, key in self._keys(username, address):
            signin_failures.count_failure(db, kind, key, at, self._limits[kind])

    def succeeded(self, db: Session, username: str) -> None:
        signin_failures.clear(db, NAME, username)
