"""Time the README's first command's search (``archsearch search`` with its defaults) on digits.

Runs ``archsearch search --space deeparchitect --strategy random`` in a fresh process, exactly
as the README does (default budget and epochs), and records the wall time, the CPU time of the
process (user + system), the best validation accuracy and the machine's load average to
``results/benchmarks/readme_search.json``. The goal: under 3 minutes on 2 CPU cores (the
install takes about 80 s of that) with best validation accuracy > 0.80.

On a busy machine the wall time is noisy (other processes take the cores); the CPU time with
``--threads 1`` approximates the wall time on a quiet machine. Re-run on a quiet machine with
``python benchmarks/readme_search.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = ["archsearch", "search", "--space", "deeparchitect", "--strategy", "random"]


def measure(threads: int | None) -> dict:
    """Run the README search once in a temporary folder; its timings and best accuracy."""
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    exe = shutil.which("archsearch") or str(Path(sys.executable).with_name("archsearch"))
    with tempfile.TemporaryDirectory() as tmp:
        load_before = os.getloadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            [exe, *COMMAND[1:], "--quiet"], cwd=tmp, env=env, capture_output=True, text=True
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"search failed ({proc.returncode}):\n{proc.stderr}")
        (run,) = (Path(tmp) / "results").iterdir()
        best = json.loads((run / "best.json").read_text())
        config = json.loads((run / "run.json").read_text())
    return {
        "command": " ".join(COMMAND),
        "omp_num_threads": threads,
        "budget": config["budget"],
        "epochs": config["epochs"],
        "trials": best["trials"],
        "ok": best["ok"],
        "best_accuracy": best["value"],
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(
            (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1
        ),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    """Measure and write the record."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument(
        "--threads",
        type=int,
        action="append",
        help="measure with this OMP_NUM_THREADS (repeatable; default: unset, as in the README, "
        "then 1)",
    )
    cli.add_argument("--out", default="results/benchmarks/readme_search.json")
    args = cli.parse_args()
    record = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "goal": "search part of the README's first command: < 3 min in all with the ~80 s "
        "install, on 2 CPU cores; best validation accuracy > 0.80",
        "runs": [measure(t) for t in (args.threads or [None, 1])],
        "note": "wall time is noisy when other work shares the cores; with a load average "
        "above the core count, trust cpu_seconds (with --threads 1) as the quiet-machine estimate",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
