"""The foundation's quick search: random search on the DeepArchitect space, digits, defaults.

Issue 2's "must show": the default search (random strategy, ``deeparchitect`` space, the
embedded digits data, default budget and epochs) finishes in under 3 minutes on 2 CPU cores
with a best validation accuracy above 0.80. Writes ``results/benchmarks/quick_search.json``
with the wall and CPU time, the best accuracy and the per-trial seconds.

Run: ``python benchmarks/quick_search.py [--budget 20] [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from archsearch.api import search
from archsearch.strategy import count_statuses


def main(argv: list[str] | None = None) -> dict:
    """Run the default search once and write its record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", default="results/benchmarks/quick_search.json")
    args = parser.parse_args(argv)
    start, cpu0 = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        run = search(budget=args.budget, epochs=args.epochs, out=tmp, progress=False)
        cfg, records = run.config, run.records()
        best = run.best()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    record = {
        "benchmark": "default search: random strategy, deeparchitect space, digits",
        "space": cfg["space"],
        "strategy": cfg["strategy"],
        "budget": cfg["budget"],
        "epochs": cfg["epochs"],
        "trials_ok": count_statuses(r.result for r in records)["ok"],
        "best_accuracy": best.result.metrics["accuracy"] if best else None,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "trial_seconds": [round(r.seconds, 2) for r in records],
        "goal": "wall_s < 180 on 2 CPU cores and best_accuracy > 0.80",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        },
        "note": "a shared machine: with a high load average the wall time is noisy; re-run quiet",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
