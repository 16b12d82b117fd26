"""A small NASNet search on the embedded digits data (8x8x1, 10 classes): minutes on a CPU.

Zoph et al., CVPR 2018: search the cells with a small N @ F on small data (here 1 @ 96, the
space's defaults), then transfer them by stacking. Runs ``archsearch.api.search`` for each
strategy and records every trial's validation accuracy, the best one and the wall time
(chance is 10 %). Wall times depend on the machine and its load.

    python benchmarks/nasnet_search.py [--strategies random,mcts] [--budget 6] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from archsearch.api import search
from archsearch.registry import entries


def main() -> None:
    """Run the searches and write the JSON record."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strategies", default="random,mcts")
    ap.add_argument("--budget", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("results/benchmarks/nasnet_search.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    known = entries("strategy")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.strategies.split(","):
            if name not in known:
                print(f"skipping strategy '{name}': not registered")
                continue
            t0 = time.perf_counter()
            run = search(
                "nasnet",
                name,
                budget=args.budget,
                epochs=args.epochs,
                seed=args.seed,
                out=tmp,
                progress=False,
            )
            wall = time.perf_counter() - t0
            accs = [r.result.metrics.get("accuracy") for r in run.records()]
            best = max(a for a in accs if a is not None)
            runs.append(
                {
                    "strategy": name,
                    "wall_seconds": round(wall, 1),
                    "accuracies": [None if a is None else round(a, 4) for a in accs],
                    "best_accuracy": round(best, 4),
                    "best_arch": json.loads((run.path / "best.json").read_text())["arch"],
                }
            )
            print(f"{name}: best accuracy {best:.3f} of {len(accs)} trials in {wall:.0f} s")
    record = {
        "benchmark": "nasnet_search",
        "dataset": "digits (8x8x1, 10 classes; chance 0.10)",
        "space_options": "defaults: cells=1, filters=96, layout=cifar, concat=released",
        "budget": args.budget,
        "epochs": args.epochs,
        "seed": args.seed,
        "torch_threads": args.threads,
        "note": "wall times measured on a shared 2-core CPU under heavy load (noisy)",
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
