"""Serving the application with uvicorn, parsing HTTP with httptools (C; h11, uvicorn's pure
Python parser, took a third of a cached request's time).

With ``--workers`` above 1, uvicorn binds the listening socket itself with protocol number 0, and
asyncio only sets ``TCP_NODELAY`` on accepted sockets whose protocol is ``IPPROTO_TCP``. Without
it, Nagle's algorithm holds the response body until the client's delayed ACK of the headers
(about 40 ms per keep-alive request, measured in ``benchmarks/service.py``). The HTTP protocol
below sets ``TCP_NODELAY`` on every TCP connection, whatever the worker count.
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from icaht.service.settings import ServiceSettings, proxy_options


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (a C parser) with ``TCP_NODELAY`` on the connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def serve(host: str, port: int, workers: int) -> None:
    """Run the application factory ``icaht.service.app:create_app`` until interrupted."""
    uvicorn.run(
        "icaht.service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=NoDelayHttpToolsProtocol,
        log_level="warning",
        **proxy_options(ServiceSettings()),  # X-Forwarded-For only from ICAHT_TRUSTED_PROXIES
    )
