"""What a resume costs at 1,000 journaled trials, for each strategy: state load or replay.

For each strategy a run of ``--trials`` trials (1,000 by default) is made through
``archsearch.api.search`` on the NASNet space with a cheap deterministic evaluator (a hash of the
architecture: no training), then resumed with ``--budget trials + 1``. The record gives, per
strategy, the wall time of the resume up to its first new trial (journal read and check,
snapshot load or replay) split into its parts, and how the strategy came back: ``state`` (its
JSON snapshot matched) or ``replay`` (the journal was replayed into a fresh strategy). It also
checks that the resumed trial equals the one the uninterrupted run makes.

    python benchmarks/resume_cost.py [--trials 1000] [--only random,mcts]

Writes ``results/benchmarks/resume_cost.json``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from archsearch import snapshot  # noqa: E402
from archsearch.api import search  # noqa: E402
from archsearch.plan import prepare  # noqa: E402

STRATEGIES = {
    "random": {},
    "mcts": {},
    "mcts-bisect": {},
    "smbo": {},
    "smbo-ngram": {},
    "evolution": {},
    "nsga2": {},
    "optuna": {"sampler": "tpe"},
}


def score(arch) -> dict[str, float]:
    """A deterministic pseudo-accuracy of the architecture (no training)."""
    h = hashlib.sha256(arch.key.encode()).digest()
    return {"accuracy": int.from_bytes(h[:4], "big") / 2**32}


def measure(name: str, options: dict, trials: int, root: Path) -> dict:
    """Run ``trials`` trials, then time a resume's preparation and restore."""
    common = dict(evaluator=score, progress=False, report=False)
    t0 = time.perf_counter()
    run = search(
        "nasnet", name, budget=trials, out=root, run_id=name, strategy_options=options, **common
    )
    run_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    plan = prepare(resume=run.path, budget=trials + 1, evaluator=score)
    t2 = time.perf_counter()
    resumed, journal = plan.open()
    t3 = time.perf_counter()
    resumed.close()
    how = "state" if (run.path / snapshot.SNAPSHOT).exists() else "replay"
    whole = search(
        "nasnet",
        name,
        budget=trials + 1,
        out=root,
        run_id=name + "-whole",
        strategy_options=options,
        **common,
    )
    nxt = search(resume=run.path, budget=trials + 1, **common).records()[-1].trial.arch
    return {
        "trials": len(journal),
        "restored_by": how,
        "snapshot_bytes": (run.path / snapshot.SNAPSHOT).stat().st_size if how == "state" else 0,
        "prepare_seconds": round(t2 - t1, 4),
        "open_seconds": round(t3 - t2, 4),
        "resume_seconds": round(t3 - t1, 4),
        "run_seconds": round(run_seconds, 3),
        "resumed_trial_equals_uninterrupted": nxt == whole.records()[-1].trial.arch,
    }


def main() -> None:
    """Run the benchmark and write its record."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--only", default=",".join(STRATEGIES))
    ap.add_argument("--out", default="results/benchmarks/resume_cost.json")
    args = ap.parse_args()
    load_before = os.getloadavg()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            row = measure(name, STRATEGIES[name], args.trials, Path(tmp))
            rows[name] = row
            print(name, row, flush=True)
    record = {
        "what": "resume cost at N journaled trials: prepare (config, space, strategy) + open "
        "(lock, journal read and check, snapshot load or journal replay)",
        "space": "nasnet",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "strategies": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
