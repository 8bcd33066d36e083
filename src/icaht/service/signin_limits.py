"""Failed sign-ins: rate limit and temporary lockout per user name and per address.

Each failed sign-in is counted for the user name tried and for the client address, in a sliding
window (``ICAHT_SIGNIN_WINDOW_SECONDS``). When a name reaches ``ICAHT_SIGNIN_ACCOUNT_FAILURES``
or an address ``ICAHT_SIGNIN_ADDRESS_FAILURES`` failures in the window, it is locked for
``ICAHT_SIGNIN_LOCKOUT_SECONDS``: sign-ins with that name or from that address are refused
without checking the password, even the right one. Names are counted whether or not such a user
exists, so a lockout says nothing about which names exist. A successful sign-in clears its
name's failures.

The counts live in each server process (a server with N worker processes allows up to N times
the failures before every process has locked a name); memory is bounded by
:data:`MAX_TRACKED` names and addresses, the least recently failed forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from icaht.service.settings import ServiceSettings

#: Project default: user names and addresses whose failures are remembered (each, per process).
MAX_TRACKED = 10_000


@dataclass(slots=True)
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class _Counter:
    """Failures of one kind of key (names or addresses), with their lockouts."""

    def __init__(self, limit: int, window: float, lockout: float) -> None:
        self.limit, self.window, self.lockout = limit, window, lockout
        self.keys: OrderedDict[str, _Failures] = OrderedDict()

    def locked(self, key: str, now: float) -> float:
        found = self.keys.get(key)
        return max(0.0, found.locked_until - now) if found is not None else 0.0

    def fail(self, key: str, now: float) -> None:
        found = self.keys.pop(key, None) or _Failures()
        self.keys[key] = found  # the most recent last
        found.times.append(now)
        while found.times and found.times[0] <= now - self.window:
            found.times.popleft()
        if len(found.times) >= self.limit:
            found.locked_until = now + self.lockout
            found.times.clear()
        while len(self.keys) > MAX_TRACKED:
            self.keys.popitem(last=False)

    def clear(self, key: str) -> None:
        self.keys.pop(key, None)


class SignInLimiter:
    """Counts failed sign-ins per user name and per address (thread-safe)."""

    def __init__(self, settings: ServiceSettings) -> None:
        window, lockout = settings.signin_window_seconds, settings.signin_lockout_seconds
        self._names = _Counter(settings.signin_account_failures, window, lockout)
        self._addresses = _Counter(settings.signin_address_failures, window, lockout)
        self._lock = threading.Lock()

    def locked_seconds(self, username: str, address: str | None) -> float:
        """Seconds until sign-ins with this name from this address are accepted again (0: now)."""
        now = time.monotonic()
        with self._lock:
            by_name = self._names.locked(username, now)
            by_address = self._addresses.locked(address, now) if address else 0.0
        return max(by_name, by_address)

    def failed(self, username: str, address: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            self._names.fail(username, now)
            if address:
                self._addresses.fail(address, now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._names.clear(username)
