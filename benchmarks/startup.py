"""``make bench``: how fast the ``icaht`` command starts (issue 20, "CLI start in a blink").

Times, as new processes, ``icaht --help``, ``icaht assess examples/baur.json`` and ``icaht grade``
of the three-patient long table ``examples/long-table/anc.csv`` (wall time, median of
``--repeat`` runs, default 10, after one warm-up run so the file cache is warm), with hyperfine
when it is installed (``scripts/bench-deps``) or else repeated subprocess runs, and the peak
resident memory of one run of each. Bytecode is cached as in an installed package (the warm-up
writes it; ``PYTHONDONTWRITEBYTECODE`` is ignored and the cache goes to a temporary
``PYTHONPYCACHEPREFIX``), so a checkout that never writes ``.pyc`` files is not measured
compiling its sources. Targets: ``--help`` <= 0.3 s, ``assess`` <= 0.6 s; ``grade`` has none.
Writes ``benchmarks/results/startup.json`` and appends a line to ``benchmarks/results/README.md``.
A measurement, not a test: the machine is shared and noisy, so compare medians over runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_log import RESULTS, ROOT, add_row, commit_id

LONG_TABLE = ROOT / "examples" / "long-table" / "anc.csv"
#: Command (arguments after ``icaht``; ``OUT`` = a temporary file) -> target median wall seconds.
COMMANDS: dict[str, tuple[list[str], float | None]] = {
    "help": (["--help"], 0.3),
    "assess": (["assess", str(ROOT / "examples" / "baur.json")], 0.6),
    "grade": (["grade", str(LONG_TABLE), "--unit", "cells/uL", "--out", "OUT"], None),
}
SECTION = "## CLI start-up (`benchmarks/startup.py`)"
HEADER = f"""{SECTION}

New processes of `icaht --help`, `icaht assess examples/baur.json` and `icaht grade` of the
three-patient `examples/long-table/anc.csv`: median wall time of `--repeat` runs after a warm-up
(hyperfine when installed, else repeated subprocess runs; bytecode cached as when installed,
from 2026-12-07) and the peak RSS of one run. Targets: `--help` <= 0.3 s, `assess` <= 0.6 s
(issue 20).

| date (UTC) | commit | cpus | tool | help s | help MB | assess s | assess MB | grade s \
| grade MB | targets met |
|---|---|---|---|---|---|---|---|---|---|---|
"""


def _icaht() -> list[str]:
    """The console script next to this interpreter, else ``python -m icaht.cli``."""
    script = Path(sys.executable).with_name("icaht")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "icaht.cli"]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "icaht-startup-pycache")
    return env


def _hyperfine(command: list[str], repeat: int) -> float:
    """Median wall seconds measured by hyperfine."""
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "h.json"
        subprocess.run(
            [
                "hyperfine",
                "--warmup",
                "1",
                "--runs",
                str(repeat),
                "--style",
                "none",
                "--export-json",
                str(export),
                subprocess.list2cmdline(command),
            ],
            check=True,
            env=_environment(),
            stdout=subprocess.DEVNULL,
        )
        return float(json.loads(export.read_text(encoding="utf-8"))["results"][0]["median"])


def _repeated(command: list[str], repeat: int) -> float:
    """Median wall seconds of ``repeat`` runs after one warm-up run."""
    times = []
    for run in range(repeat + 1):
        started = time.perf_counter()
        subprocess.run(command, check=True, env=_environment(), capture_output=True)
        if run:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def _peak_mb(command: list[str]) -> float:
    """Peak RSS (MB) of one run: the maximum over the children waited for so far, so commands
    are measured from the smallest up (``--help`` first)."""
    subprocess.run(command, check=True, env=_environment(), capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _measured(
    arguments: list[str], target: float | None, repeat: int, tool: str, out: Path
) -> dict[str, float | bool | None]:
    command = [*_icaht(), *(str(out) if a == "OUT" else a for a in arguments)]
    measure = _hyperfine if tool == "hyperfine" else _repeated
    seconds = measure(command, repeat)
    print(f"icaht {arguments[0]}: {seconds:.3f} s" + (f" (target {target} s)" if target else ""))
    return {
        "median_s": round(seconds, 3),
        "peak_mb": round(_peak_mb(command), 1),
        "target_s": target,
        "met": None if target is None else seconds <= target,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    tool = "hyperfine" if shutil.which("hyperfine") else "subprocess"
    with tempfile.TemporaryDirectory() as folder:
        found = {
            name: _measured(arguments, target, args.repeat, tool, Path(folder) / "grades.csv")
            for name, (arguments, target) in COMMANDS.items()
        }
    met = all(v["met"] is not False for v in found.values())
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    summary = {"date": when, "commit": commit_id(), "cpus": os.cpu_count(), "tool": tool}
    summary["load_average"] = os.getloadavg()
    (RESULTS / "startup.json").write_text(
        json.dumps({**summary, "commands": found}, indent=1) + "\n", encoding="utf-8"
    )
    cells = [when, str(summary["commit"]), str(summary["cpus"]), tool]
    cells += [str(found[name][key]) for name in COMMANDS for key in ("median_s", "peak_mb")]
    add_row(SECTION, HEADER, "| " + " | ".join([*cells, "yes" if met else "no"]) + " |\n")


if __name__ == "__main__":
    main()
