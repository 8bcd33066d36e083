"""A bounded, thread-safe cache of results per patient and data version (``store.versions``):
an entry is served only while the patient's data are unchanged, so a cached assessment equals a
fresh one. Each server process keeps its own."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class VersionedCache(Generic[T]):
    """Least-recently-used entries keyed by (key, version)."""

    def __init__(self, max_entries: int) -> None:
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
