"""The per-process result cache: bounded, least recently used first out."""

from __future__ import annotations

from icaht.service.versioned_cache import VersionedCache


def test_the_least_recently_used_entry_leaves_first() -> None:
    cache: VersionedCache[str] = VersionedCache(2)
    cache.put(("a", 1), "a1")
    cache.put(("b", 1), "b1")
    assert cache.get(("a", 1)) == "a1"  # a is now the most recent
    cache.put(("c", 1), "c1")
    assert cache.get(("b", 1)) is None
    assert (cache.get(("a", 1)), cache.get(("c", 1))) == ("a1", "c1")
    assert cache.get(("a", 2)) is None  # another data version is another entry
    cache.clear()
    assert cache.get(("a", 1)) is None
