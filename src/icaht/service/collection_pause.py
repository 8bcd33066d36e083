"""Python's cyclic garbage collector paused while a CDS Hooks call is answered.

A large prefetch (5,000 lab Observations, 4.3 MB) parses into some 300,000 dicts and lists that
live until the call is answered. The collector moves them towards its oldest generation, and
once they outnumber a quarter of the objects that survived its last full collection (the
validated resources and mappings cached by this process: ``io.fhir.resource_cache``) it makes a
full collection, walking every object of the process, once or more per call: a third of a
repeated 5,000-lab call's time, and more of a first call's (``benchmarks/fhir_exchange.py``).
Reference counting frees almost all of a call's objects when the call ends (three 5,000-lab
calls left some 5,000 objects in reference cycles), so the collector is paused for the call and
resumed after: from reading its body until its answer is sent and its dependencies have closed
(the database dependency holds the request, and with it the parsed body, until then; resumed
earlier, the collector walked the 45,000 containers of the body still alive, 70 ms). Overlapping
calls resume it when the last one ends; cycles made meanwhile (by any request) are collected
then, nothing is lost. The process's start-up objects are frozen out of the collector's walk as
well (``service.app``).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import Receive, Scope, Send

from icaht.service.json_route import OrjsonRoute

_lock = threading.Lock()
_state = {"paused": 0, "was_enabled": 1}


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector until the last overlapping pause ends (then resume it
    if it was running before the first)."""
    with _lock:
        if _state["paused"] == 0:
            _state["was_enabled"] = int(gc.isenabled())
            gc.disable()
        _state["paused"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["paused"] -= 1
            if _state["paused"] == 0 and _state["was_enabled"]:
                gc.enable()


class PausedCollectionRoute(OrjsonRoute):
    """An orjson route (``service.json_route``) answered with the collector paused, from
    reading its body until its answer is sent and its dependencies have closed (they hold the
    request, and with it the parsed body, until then)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        with collection_paused():
            await super().handle(scope, receive, send)
