"""The server's HTTP protocol sets TCP_NODELAY on every TCP connection (uvicorn's worker sockets
lacked it, so Nagle's algorithm delayed every keep-alive response by the client's delayed ACK);
spawned workers start light enough to answer uvicorn's health ping."""

from __future__ import annotations

import asyncio
import multiprocessing.spawn
import socket
import subprocess
import sys
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from icaht.service import server
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


def test_spawned_workers_import_only_the_server_module_before_answering_pings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 18, item 5: a spawned worker imports the parent's main module before it answers
    uvicorn's health ping; while icaht serves, that module is ``icaht.service.server`` (light),
    not the command line (the whole application, 2-11 s on a busy machine), and the ping
    deadline is the setting ``ICAHT_WORKER_HEALTHCHECK_SECONDS``."""
    seen: dict[str, Any] = {}

    def run(*_: Any, **options: Any) -> None:
        seen["main"] = multiprocessing.spawn.get_preparation_data("worker").get(
            "init_main_from_name"
        )
        seen["healthcheck"] = options.get("timeout_worker_healthcheck")

    monkeypatch.setenv("ICAHT_WORKER_HEALTHCHECK_SECONDS", "17")
    monkeypatch.setattr(server.uvicorn, "run", run)
    main = sys.modules["__main__"]
    server.serve("127.0.0.1", 0, 2)
    assert seen == {"main": "icaht.service.server", "healthcheck": 17}
    assert sys.modules["__main__"] is main


def test_the_server_module_imports_no_application() -> None:
    """What a spawned worker imports first stays small (no FastAPI, database or rules)."""
    code = (
        "import sys, icaht.service.server; "
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'icaht.service.app', 'icaht.cli') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
