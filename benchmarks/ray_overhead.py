"""Overhead of the Ray executor: per-trial time, concurrency speed-up, driver memory.

Three measurements, all through ``archsearch.api.search`` on one local Ray instance
(``ray.init(num_cpus=2)``), with evaluators that do a known amount of work:

(a) per-trial overhead for 1-second trials (``time.sleep(1)``, one epoch report), Ray with one
    trial at a time against the local executor: ``overhead = t_ray / t_local - 1`` where ``t`` is
    the makespan of the trials (first start to last end) over their number, and Ray's one-time
    start (Tune set-up to the first trial's start; ``ray.init`` apart) is reported separately.
    Goal: under 15 % (Ray's own scalability test for 1-second trials).
(b) speed-up of 2 concurrent CPU-bound trials (a pure-Python loop of fixed length, ~1 s on an
    idle core) over 1: ``t(concurrency=1) / t(concurrency=2)`` for the same trials. Ideal: 2.
(c) driver RSS (``VmRSS``) after 100 and after 2,000 no-op trials (concurrency 2).
    Goal: flat, under 100 MB of growth.

Usage: ``python benchmarks/ray_overhead.py [--quick] [--out results/benchmarks/ray_overhead.json]``.
``--quick`` runs fewer trials (for a noisy machine or a smoke test); the record says which.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from archsearch import FunctionSpace, Result
from archsearch.api import search
from archsearch.evaluate.ray_local import local_cluster


def bench_space(choose):
    """A flat space big enough that random search rarely repeats."""
    for i in range(8):
        choose(f"x{i}", list(range(10)))


SPACE = FunctionSpace(bench_space, name="bench")


class Sleep:
    """One report after ``seconds`` of sleep (a trial whose cost is pure waiting)."""

    epochs = 1

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, arch, report=None):
        start = time.time()
        if self.seconds:
            time.sleep(self.seconds)
        if report is not None:
            report(1, {"accuracy": 0.5})
        return Result(metrics={"accuracy": 0.5}, cost={"start": start, "end": time.time()})


class Spin:
    """A fixed amount of single-threaded CPU work (a pure-Python loop)."""

    epochs = 1

    def __init__(self, iterations: int) -> None:
        self.iterations = iterations

    def __call__(self, arch, report=None):
        start = time.time()
        acc = 0
        for i in range(self.iterations):
            acc = (acc + i * i) % 1000003
        if report is not None:
            report(1, {"accuracy": acc / 1000003})
        cost = {"start": start, "end": time.time()}
        return Result(metrics={"accuracy": acc / 1000003}, cost=cost)


def rss_mb() -> float:
    """This process's resident set size in MB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_search(root: Path, name: str, evaluator, budget: int, executor: str, **options):
    """Run one search; returns (wall seconds, seconds per trial, seconds to the first trial).

    Seconds per trial is the makespan of the trials themselves (first start to last end, as
    the evaluator saw them) over their number: start-up is left out, while every gap between
    trials (Tune's scheduling, the journal, actor resets) is in.
    """
    start_wall = time.time()
    start = time.perf_counter()
    run = search(
        SPACE,
        "random",
        evaluator=evaluator,
        budget=budget,
        executor=executor,
        executor_options=options or None,
        out=root,
        run_id=name,
        progress=False,
        report=False,
    )
    wall = time.perf_counter() - start
    spans = [(r.result.cost["start"], r.result.cost["end"]) for r in run.records()]
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    return wall, (last - first) / len(spans), first - start_wall


def calibrate(target: float) -> int:
    """Loop length that takes ``target`` seconds here and now."""
    n = 200_000
    while True:
        t = time.perf_counter()
        Spin(n)(None)
        dt = time.perf_counter() - t
        if dt > 0.2:
            return int(n * target / dt)
        n *= 2


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and write the record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials (noisy machine)")
    parser.add_argument("--out", default="results/benchmarks/ray_overhead.json")
    args = parser.parse_args(argv)
    import ray

    n_sleep, n_spin, n_noop = (6, 6, 600) if args.quick else (20, 12, 2000)
    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="archsearch-ray-bench-"))
    t0 = time.perf_counter()
    # The executor's own start-up: token authentication on, a private token.
    session = local_cluster(num_cpus=2, include_dashboard=False, log_to_driver=False)
    session.__enter__()
    init_s = time.perf_counter() - t0
    record: dict = {
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "ray": ray.__version__,
            "load_average_before": [round(x, 2) for x in load_before],
        },
        "ray_init_seconds": round(init_s, 2),
    }

    # (a) 1-second trials, one at a time.
    local = timed_search(root, "a-local", Sleep(1.0), n_sleep, "local")
    remote = timed_search(root, "a-ray", Sleep(1.0), n_sleep, "ray", concurrency=1)
    record["a_per_trial_overhead"] = {
        "trials": n_sleep,
        "local_seconds_per_trial": round(local[1], 4),
        "ray_seconds_per_trial": round(remote[1], 4),
        "overhead": round(remote[1] / local[1] - 1, 4),
        "goal": "< 0.15",
        "ray_start_seconds": round(remote[2], 2),
        "local_wall_seconds": round(local[0], 2),
        "ray_wall_seconds": round(remote[0], 2),
    }
    print("(a)", record["a_per_trial_overhead"], flush=True)

    # (b) CPU-bound trials, 1 vs 2 at a time.
    spin = Spin(calibrate(1.0))
    one = timed_search(root, "b-1", spin, n_spin, "ray", concurrency=1)
    two = timed_search(root, "b-2", spin, n_spin, "ray", concurrency=2)
    record["b_concurrency_speedup"] = {
        "trials": n_spin,
        "loop_iterations": spin.iterations,
        "seconds_per_trial_1": round(one[1], 4),
        "seconds_per_trial_2": round(two[1], 4),
        "speedup": round(one[1] / two[1], 3),
        "ideal": 2.0,
    }
    print("(b)", record["b_concurrency_speedup"], flush=True)

    # (c) driver memory over many no-op trials.
    marks = {1: None, 100: None, n_noop: None}
    count = [0]

    def watch(_record) -> None:
        count[0] += 1
        if count[0] in marks:
            marks[count[0]] = rss_mb()

    before = rss_mb()
    start = time.perf_counter()
    search(
        SPACE,
        "random",
        evaluator=Sleep(0.0),
        budget=n_noop,
        executor="ray",
        executor_options={"concurrency": 2},
        out=root,
        run_id="c-noop",
        progress=False,
        report=False,
        on_record=watch,
    )
    wall = time.perf_counter() - start
    record["c_driver_memory"] = {
        "trials": n_noop,
        "rss_mb_before_search": round(before, 1),
        "rss_mb_after_1": round(marks[1], 1),
        "rss_mb_after_100": round(marks[100], 1),
        f"rss_mb_after_{n_noop}": round(marks[n_noop], 1),
        "growth_mb_100_to_last": round(marks[n_noop] - marks[100], 1),
        "kb_per_trial": round((marks[n_noop] - marks[100]) * 1024 / (n_noop - 100), 1),
        "rss_mb_after_search": round(rss_mb(), 1),
        "seconds_per_noop_trial": round(wall / n_noop, 4),
        "goal": "growth < 100 MB over 2,000 trials",
    }
    print("(c)", record["c_driver_memory"], flush=True)
    session.__exit__(None, None, None)
    shutil.rmtree(root, ignore_errors=True)
    record["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    record["note"] = (
        "Measured on a shared 2-core machine; the load averages above show how busy it was. "
        "Re-run on a quiet machine for figures to quote."
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
