"""A bounded, thread-safe cache of results per patient and data version (``store.versions``):
an entry is served only while the patient's data are unchanged, so a cached assessment equals a
fresh one. Each server process keeps its own."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from icaht.lru import LruCache

T = TypeVar("T")


class VersionedCache(LruCache[Hashable, T]):
    """Least-recently-used entries keyed by (key, version)."""
