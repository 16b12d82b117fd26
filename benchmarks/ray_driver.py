"""The Ray driver's bookkeeping cost per trial stays flat as a run grows (Optuna TPE, 500 trials).

One search through ``archsearch.api.search`` with ``executor="ray"`` (a local Ray instance,
concurrency 2) and a no-op evaluator, Optuna's TPE as the strategy. The driver's own work per
trial is timed where it happens: in ``Loop.finish`` (journal append, throttled snapshot,
``on_record``) minus the strategy's ``tell``, plus the searcher's hand-out of a trial
(``Ledger.next_trial``) minus the strategy's ``ask``, plus the rewrite of ``inflight.json``.
The strategy's own ask/tell time is reported beside it (TPE's grows with the trials it has
seen; that is the sampler, not the driver). Goal: median driver cost in trials 401-500 at most
1.2x that of trials 1-100.

    python benchmarks/ray_driver.py [--trials 500]

Writes ``results/benchmarks/ray_driver.json``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from archsearch import FunctionSpace  # noqa: E402
from archsearch.api import search  # noqa: E402
from archsearch.evaluate import ray_searcher  # noqa: E402
from archsearch.loop import Loop  # noqa: E402


def bench_space(choose):
    """A flat space big enough that TPE rarely repeats."""
    for i in range(8):
        choose(f"x{i}", list(range(10)))


SPACE = FunctionSpace(bench_space, name="bench")


def noop(arch):
    """An evaluator that costs nothing."""
    return {"accuracy": sum(arch[f"x{i}"] for i in range(8)) / 72.0}


class Timers:
    """Per-trial driver and strategy seconds, filled by the wrappers below."""

    def __init__(self) -> None:
        self.driver: dict[int, float] = {}
        self.strategy: dict[int, float] = {}

    def add(self, number: int, driver: float, strategy: float) -> None:
        self.driver[number] = self.driver.get(number, 0.0) + driver
        self.strategy[number] = self.strategy.get(number, 0.0) + strategy


def instrument(timers: Timers) -> None:
    """Wrap the loop's and the ledger's methods to time the driver's work per trial."""
    finish, next_trial = Loop.finish, ray_searcher.Ledger.next_trial
    write = ray_searcher.Ledger._write_inflight

    def timed_finish(self, trial, result, seconds):
        tell = self.strategy.tell
        spent = [0.0]

        def timed_tell(t, r):
            s = time.perf_counter()
            tell(t, r)
            spent[0] += time.perf_counter() - s

        self.strategy.tell = timed_tell
        s = time.perf_counter()
        try:
            return finish(self, trial, result, seconds)
        finally:
            total = time.perf_counter() - s
            del self.strategy.tell
            timers.add(trial.number, total - spent[0], spent[0])

    def timed_next(self, tune_id):
        ask = self.strategy.ask
        spent = [0.0]

        def timed_ask():
            s = time.perf_counter()
            try:
                return ask()
            finally:
                spent[0] += time.perf_counter() - s

        self.strategy.ask = timed_ask
        s = time.perf_counter()
        try:
            trial = next_trial(self, tune_id)
        finally:
            total = time.perf_counter() - s
            del self.strategy.ask
        if trial is not None:
            timers.add(trial.number, total - spent[0], spent[0])
        return trial

    def timed_write(self):
        s = time.perf_counter()
        write(self)
        timers.add(-1, time.perf_counter() - s, 0.0)

    Loop.finish, ray_searcher.Ledger.next_trial = timed_finish, timed_next
    ray_searcher.Ledger._write_inflight = timed_write


def window(values: dict[int, float], lo: int, hi: int) -> dict[str, float]:
    """Median and mean (ms) over trials ``lo <= number < hi``."""
    xs = [v * 1e3 for k, v in values.items() if lo <= k < hi]
    return {"median_ms": round(statistics.median(xs), 3), "mean_ms": round(statistics.mean(xs), 3)}


def main() -> None:
    """Run the benchmark and write its record."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=500)
    ap.add_argument("--out", default="results/benchmarks/ray_driver.json")
    args = ap.parse_args()
    timers = Timers()
    instrument(timers)
    load_before = os.getloadavg()
    from archsearch.evaluate.ray_local import local_cluster

    with (
        local_cluster(num_cpus=2, include_dashboard=False, log_to_driver=False),
        tempfile.TemporaryDirectory() as tmp,
    ):
        start = time.perf_counter()
        search(
            SPACE,
            "optuna",
            strategy_options={"sampler": "tpe"},
            evaluator=noop,
            budget=args.trials,
            executor="ray",
            executor_options={"concurrency": 2},
            out=tmp,
            run_id="tpe",
            progress=False,
            report=False,
        )
        wall = time.perf_counter() - start
    inflight = timers.driver.pop(-1, 0.0)
    first, late = window(timers.driver, 0, 100), window(timers.driver, 400, 500)
    record = {
        "what": "Ray driver bookkeeping per trial (journal, snapshot, searcher hand-out), TPE",
        "trials": args.trials,
        "wall_seconds": round(wall, 2),
        "driver_trials_1_100": first,
        "driver_trials_401_500": late,
        "ratio_median_401_500_over_1_100": round(late["median_ms"] / first["median_ms"], 3),
        "goal": "ratio <= 1.2",
        "inflight_rewrites_total_seconds": round(inflight, 3),
        "strategy_trials_1_100": window(timers.strategy, 0, 100),
        "strategy_trials_401_500": window(timers.strategy, 400, 500),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
