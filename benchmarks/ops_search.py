"""A search on digits over a cnn space that mixes the op library's blocks with mbconv.

Random search on the ``cnn`` space with block types ``hornet``, ``dilated-reparam``,
``ulsam-mbconv`` and ``mbconv`` (two stages, widths 16 / 32), on the embedded digits data,
one torch thread. Records per trial the blocks, validation accuracy, params and FLOPs (the
space's analytic count, equal to fvcore's), the best trial, its params in the deploy form
(after :func:`archsearch.ops.reparameterize`) and the wall time. Writes
``results/benchmarks/ops_search.json``.

Run: ``OMP_NUM_THREADS=1 nice python benchmarks/ops_search.py [--budget 12] [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from archsearch.api import search
from archsearch.ops import reparameterize
from archsearch.registry import get_space
from archsearch.space import Task

SPACE_OPTIONS = {
    "blocks": ["hornet", "dilated-reparam", "ulsam-mbconv", "mbconv"],
    "stages": 2,
    "widths": [16, 32],
    "depths": [1, 2],
    "stem_widths": [16],
}


def main(argv: list[str] | None = None) -> dict:
    """Run the search once and write its record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/benchmarks/ops_search.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run = search(
            "cnn", "random", budget=args.budget, epochs=args.epochs, seed=args.seed,
            dataset="digits", space_options=SPACE_OPTIONS, out=tmp, progress=False,
        )
        records, best = run.records(), run.best()
    wall = time.perf_counter() - start
    space = get_space("cnn", **SPACE_OPTIONS)
    task = Task((1, 8, 8), 10)
    trials = []
    for r in records:
        d = r.trial.arch.decisions
        m = r.result.metrics
        trials.append({
            "trial": r.trial.number,
            "blocks": [d[f"stage{i}/block"] for i in (1, 2)],
            "status": r.result.status,
            "accuracy": m.get("accuracy"),
            "params": r.result.value("params"),
            "flops": r.result.value("flops"),
            "seconds": round(r.seconds, 2),
        })
    best_row = None
    if best is not None:
        arch = best.trial.arch
        model = space.build(arch, task).eval()
        train_params = sum(p.numel() for p in model.parameters())
        switched = reparameterize(model)
        best_row = {
            "trial": best.trial.number,
            "blocks": [arch.decisions[f"stage{i}/block"] for i in (1, 2)],
            "accuracy": best.result.metrics["accuracy"],
            "params_train_form": train_params,
            "params_deploy_form": sum(p.numel() for p in model.parameters()),
            "modules_reparameterized": switched,
            "flops": best.result.value("flops"),
        }
    record = {
        "benchmark": "random search on digits over cnn blocks hornet / dilated-reparam / "
        "ulsam-mbconv / mbconv",
        "space_options": SPACE_OPTIONS,
        "budget": args.budget,
        "epochs": args.epochs,
        "seed": args.seed,
        "best": best_row,
        "trials": trials,
        "wall_s": round(wall, 1),
        "machine": {
            "python": platform.python_version(),
            "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "note": "a shared machine: with a high load average the wall time is noisy",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
