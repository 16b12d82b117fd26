"""Start-up time of the ``archsearch`` command line: listing names must not import the families.

Runs ``archsearch strategies``, ``archsearch spaces`` and ``archsearch --help``, each in a fresh
subprocess ``--repeat`` times (default 7), and records the median and every wall time, the
load average of the machine before and after (``os.getloadavg``), and whether the goal
(``archsearch strategies`` <= 0.5 s median) is met. Writes ``results/benchmarks/cli_startup.json``:
``python benchmarks/cli_startup.py [--repeat 7]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["strategies"], ["spaces"], ["--help"])
GOAL_S = 0.5
OUT = Path("results/benchmarks/cli_startup.json")


def time_command(argv: list[str], repeat: int) -> list[float]:
    """Wall seconds of ``archsearch ARGV`` in ``repeat`` fresh processes."""
    code = "import sys; from archsearch.cli import main; sys.exit(main(sys.argv[1:]))"
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, *argv], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    """Time every command, print a table and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="fresh processes per command")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        raise ValueError(f"--repeat must be >= 1, got {args.repeat}")
    load_before = os.getloadavg()
    rows = {}
    for command in COMMANDS:
        times = time_command(command, args.repeat)
        rows[" ".join(["archsearch", *command])] = {
            "median_s": round(statistics.median(times), 4),
            "times_s": [round(t, 4) for t in times],
        }
    record = {
        "repeat": args.repeat,
        "goal": f"archsearch strategies <= {GOAL_S} s (median)",
        "goal_met": rows["archsearch strategies"]["median_s"] <= GOAL_S,
        "commands": rows,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(record, indent=2) + "\n")
    for name, row in rows.items():
        print(f"{name:<24} median {row['median_s']:.3f} s")
    print(f"load average {record['loadavg_before']} -> {record['loadavg_after']}; wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
