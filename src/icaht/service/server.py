"""Serving the application with uvicorn, parsing HTTP with httptools (C; h11, uvicorn's pure
Python parser, took a third of a cached request's time).

With ``--workers`` above 1, uvicorn binds the listening socket itself with protocol number 0, and
asyncio only sets ``TCP_NODELAY`` on accepted sockets whose protocol is ``IPPROTO_TCP``. Without
it, Nagle's algorithm holds the response body until the client's delayed ACK of the headers
(about 40 ms per keep-alive request, measured in ``benchmarks/service.py``). The HTTP protocol
below sets ``TCP_NODELAY`` on every TCP connection, whatever the worker count.

Worker start-up: uvicorn starts workers with multiprocessing's ``spawn``, and a spawned child
first imports the parent's main module; only then does it start the thread that answers the
supervisor's health ping. The parent's main module is the ``icaht`` command line, which imports
the whole application (1.4 s on an idle machine, 2-11 s on a busy one), so a replacement worker
could miss uvicorn's 5 s ping deadline and be killed, again and again. While it serves, this
module stands in as the main module for the spawned children (:func:`_light_main`): a child
imports only this module and uvicorn (about 0.2 s) before it answers pings, and imports the
application afterwards, while answering them. The ping deadline is a setting as well
(``ICAHT_WORKER_HEALTHCHECK_SECONDS``).
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (a C parser) with ``TCP_NODELAY`` on the connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


@contextmanager
def _light_main() -> Iterator[None]:
    """This module as the main module that spawned worker processes import first."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = sys.modules[__name__]
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def serve(host: str, port: int, workers: int) -> None:
    """Run the application factory ``icaht.service.app:create_app`` until interrupted."""
    # Imported here, not above: spawned workers import this module first and must stay light.
    from icaht.service.settings import ServiceSettings, proxy_options  # noqa: PLC0415

    settings = ServiceSettings()
    with _light_main():
        uvicorn.run(
            "icaht.service.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http=NoDelayHttpToolsProtocol,
            log_level="warning",
            timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
            **proxy_options(settings),  # X-Forwarded-For only from ICAHT_TRUSTED_PROXIES
        )
