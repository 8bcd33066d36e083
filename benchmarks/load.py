"""HTTP load for the service benchmarks from wrk (a C load generator, so it takes little of the
two cores the server runs on): ``clients`` keep-alive connections, each sending its next request
when the previous one is answered, for a number of seconds; latency percentiles from wrk's own
histogram. ``make bench`` installs wrk (``scripts/bench-deps``)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "errors": %d, "non_2xx": %d, ' ..
    '"p50_ms": %.1f, "p95_ms": %.1f, "p99_ms": %.1f}\\n',
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""

# POST the JSON bodies of the files named after ``--``, in turn (one wrk thread: one sequence).
_POST = """
local bodies = {}
local sent = 0
init = function(args)
  for i, path in ipairs(args) do
    local f = assert(io.open(path, "rb"))
    bodies[i] = f:read("*a")
    f:close()
  end
end
request = function()
  sent = sent + 1
  local body = bodies[(sent - 1) % #bodies + 1]
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""


def run_wrk(
    url: str, clients: int, seconds: int, lua: str, args: list[str], timeout: int = 2
) -> dict[str, Any]:
    """Run wrk (one thread, ``clients`` connections, ``seconds``; a request unanswered after
    ``timeout`` seconds counts as a socket error) with the Lua script ``lua`` and script
    arguments ``args``; the JSON object its ``done`` callback printed last."""
    with tempfile.TemporaryDirectory(prefix="icaht-wrk-") as folder:
        script = Path(folder) / "load.lua"
        script.write_text(lua, encoding="utf-8")
        command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", f"--timeout={timeout}s"]
        command += ["-s", str(script), url]
        if args:
            command += ["--", *args]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def wrk(url: str, clients: int, seconds: int, bodies: list[Path] | None = None) -> dict[str, Any]:
    """Latency percentiles (ms) and the request count of ``clients`` connections for ``seconds``:
    GET ``url``, or POST the given JSON files in turn. Failed or non-2xx requests raise."""
    lua = (_POST if bodies else "") + _REPORT
    row = run_wrk(url, clients, seconds, lua, [str(p) for p in bodies or []])
    if row["errors"] or row["non_2xx"]:
        raise RuntimeError(f"wrk saw failed requests: {row}")
    return row
