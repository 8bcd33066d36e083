"""The ``icaht`` command run as a server process, for tests and benchmarks: started on a loopback
port, ready once ``/api/v1/health`` answers, everything it writes kept in a log file."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.utils.postgres_harness import free_port


@dataclass
class IcahtProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """What the process wrote so far (stdout and stderr)."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> str:
        """Stop the process (if still running) and return everything it wrote."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()


def start(
    args: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    port: int | None = None,
    startup_seconds: float = 60.0,
) -> IcahtProcess:
    """Run ``icaht ARGS --port PORT`` and wait until it serves; RuntimeError with its output
    when it exits or does not answer in time."""
    port = port or free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "icaht.cli", *args, "--port", str(port)],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = IcahtProcess(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + startup_seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"icaht {' '.join(args)} exited:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/api/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"icaht {' '.join(args)} did not start:\n{server.stop()}")
        time.sleep(0.1)


@contextmanager
def running(
    args: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    port: int | None = None,
    startup_seconds: float = 60.0,
) -> Iterator[IcahtProcess]:
    """:func:`start`, stopped on leaving the block."""
    server = start(args, env, log, port, startup_seconds)
    try:
        yield server
    finally:
        server.stop()
