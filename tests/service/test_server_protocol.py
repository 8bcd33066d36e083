"""The server's HTTP protocol sets TCP_NODELAY on every TCP connection (uvicorn's worker sockets
lacked it, so Nagle's algorithm delayed every keep-alive response by the client's delayed ACK)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from icaht.service.server import NoDelayHttpToolsProtocol


class _Transport(asyncio.Transport):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "socket":
            return self._sock
        if name in ("peername", "sockname"):
            return self._sock.getpeername() if name == "peername" else self._sock.getsockname()
        return default

    def is_closing(self) -> bool:
        return False


def test_accepted_tcp_connections_get_tcp_nodelay() -> None:
    async def scenario() -> int:
        config = Config(app=lambda *_: None, http=NoDelayHttpToolsProtocol)
        config.load()
        listener = socket.create_server(("127.0.0.1", 0))
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        try:
            accepted.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
            protocol = NoDelayHttpToolsProtocol(config, ServerState(), app_state={})
            protocol.connection_made(_Transport(accepted))
            return accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            for s in (client, accepted, listener):
                s.close()

    assert asyncio.run(scenario()) != 0
