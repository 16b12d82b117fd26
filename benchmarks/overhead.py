"""Per-trial overhead of the search loop with a no-op evaluator (issue 2's "must show").

Times each step of the local loop, ``ask -> evaluate (no-op) -> journal append -> tell ->
snapshot``, for ``--trials`` random-search trials on the DeepArchitect example space (the
registered ``deeparchitect`` space), then the whole ``archsearch.api.search`` call end to end
with a snapshot after every trial and with the default snapshot cadence. Writes ``results/benchmarks/overhead.json``.

Run: ``python benchmarks/overhead.py [--trials 1000] [--out results/benchmarks/overhead.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from archsearch import snapshot
from archsearch.api import search
from archsearch.evaluate.base import call_evaluator
from archsearch.registry import get_space
from archsearch.results import Record, Run
from archsearch.space import Space
from archsearch.strategies.random import RandomSearch
from archsearch.strategy import Result


def noop(arch) -> Result:
    """The no-op evaluator: a constant result."""
    return Result(metrics={"accuracy": 0.5})


def stats_us(xs: list[float]) -> dict[str, float]:
    """Mean, median and 95th percentile in microseconds."""
    s = sorted(xs)
    return {
        "mean_us": round(1e6 * statistics.fmean(s), 1),
        "median_us": round(1e6 * s[len(s) // 2], 1),
        "p95_us": round(1e6 * s[int(0.95 * (len(s) - 1))], 1),
    }


def components(space: Space, trials: int, root: Path) -> dict[str, dict[str, float]]:
    """Time each step of the loop separately (a snapshot after every trial)."""
    strategy = RandomSearch(space, seed=0)
    run = Run.create(root, "components", {"objectives": ["accuracy:max"]})
    steps: dict[str, list[float]] = {
        k: [] for k in ("ask", "evaluate", "append", "tell", "snapshot")
    }
    for _ in range(trials):
        t0 = time.perf_counter()
        trial = strategy.ask()
        t1 = time.perf_counter()
        result = call_evaluator(noop, trial)
        t2 = time.perf_counter()
        run.append(Record(trial, result, finished=time.time()))
        t3 = time.perf_counter()
        strategy.tell(trial, result)
        t4 = time.perf_counter()
        snapshot.save(run, strategy, len(steps["ask"]) + 1, "")
        t5 = time.perf_counter()
        for k, a, b in (
            ("ask", t0, t1),
            ("evaluate", t1, t2),
            ("append", t2, t3),
            ("tell", t3, t4),
            ("snapshot", t4, t5),
        ):
            steps[k].append(b - a)
    return {k: stats_us(v) for k, v in steps.items()}


def end_to_end(space: Space, trials: int, root: Path, snapshot_seconds: float) -> dict[str, float]:
    """Wall time of ``search`` per trial (includes run folder set-up and the summary)."""
    t0 = time.perf_counter()
    run = search(
        space,
        "random",
        evaluator=noop,
        budget=trials,
        out=root,
        run_id=f"e2e-{snapshot_seconds}",
        progress=False,
        executor_options={"snapshot_seconds": snapshot_seconds},
    )
    total = time.perf_counter() - t0
    assert len(run.records()) == trials
    return {
        "snapshot_seconds": snapshot_seconds,
        "total_s": round(total, 3),
        "per_trial_ms": round(1e3 * total / trials, 3),
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and write its record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--out", default="results/benchmarks/overhead.json")
    args = parser.parse_args(argv)
    space = get_space("deeparchitect")
    with tempfile.TemporaryDirectory() as tmp:
        comp = components(space, args.trials, Path(tmp))
        e2e = [end_to_end(space, args.trials, Path(tmp), s) for s in (0.0, 1.0)]
    loop_us = sum(v["mean_us"] for v in comp.values())
    record = {
        "benchmark": "per-trial overhead of the search loop, no-op evaluator, random search",
        "space": space.name,
        "space_source": "registry",
        "trials": args.trials,
        "components": comp,
        "loop_mean_ms": round(loop_us / 1e3, 3),
        "end_to_end": e2e,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "note": (
            "measured on a shared machine with other jobs running: timings are noisy; "
            "append and snapshot are dominated by fsync; re-run on a quiet machine"
        ),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
