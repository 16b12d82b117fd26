"""Local search and BANANAS: per-trial cost, and a quick check on the NAS-Bench-201 table.

Cost: each strategy runs ``--trials`` (500) trials on ``nb201`` and on ``nasnet`` with a
pseudo-random score per trial; the record gives the median and the mean ask+tell wall time (ms)
over trials 91-100 and 491-500 (the mean includes BANANAS's scheduled refits), and the slowest
single trial. Random search runs beside them, interleaved trial by trial.

Quality: ``--seeds`` seeds (100-104: a group no default was tuned on) of ``--budget`` (150)
evaluations on the CIFAR-10 valid table (``--table`` or ``ARCHSEARCH_NB201_TABLE``), every
proposal counting as one evaluation: mean and std of the best validation accuracy (percent)
after 50, 100 and 150 evaluations and the seeds that found the table's optimum, for
``local-search`` (both moves), ``bananas`` and ``random``. The full side-by-side benchmark of
every strategy is ``benchmarks/strategies.py``.

    python benchmarks/local_search_bananas.py [--table PATH] [--seeds 5] [--budget 150]

Writes ``results/benchmarks/local_search_bananas.json`` and ``.md``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from archsearch.spaces.nb201.table import TableEvaluator  # noqa: E402

from archsearch.registry import get_space, get_strategy  # noqa: E402
from archsearch.strategy import Result  # noqa: E402
from archsearch.testing.conformance import drive  # noqa: E402

COST = ("random", "local-search", "bananas")
QUALITY = {
    "random": ("random", {}),
    "local-search": ("local-search", {}),
    "local-search (move=best)": ("local-search", {"move": "best"}),
    "bananas": ("bananas", {}),
}
WINDOWS = ((90, 100), (490, 500))
CHECKPOINTS = (50, 100, 150)


def cost(space_name: str, trials: int) -> dict:
    """Per-trial ask+tell times of the :data:`COST` strategies, interleaved."""
    space = get_space(space_name)
    strategies = {n: get_strategy(n)(space, seed=0) for n in COST}
    times = {n: np.zeros(trials) for n in COST}
    values = np.random.default_rng(0).random(trials)
    for i in range(trials):
        for n, s in strategies.items():
            t0 = time.perf_counter()
            trial = s.ask()
            s.tell(trial, Result(metrics={"accuracy": float(values[i])}))
            times[n][i] = (time.perf_counter() - t0) * 1000
    out = {}
    for n, t in times.items():
        row = {}
        for lo, hi in WINDOWS:
            if hi <= trials:
                w = t[lo:hi]
                row[f"trials {lo + 1}-{hi}"] = {
                    "median_ms": float(np.median(w)),
                    "mean_ms": float(w.mean()),
                }
        row["max_ms"], row["total_s"] = float(t.max()), float(t.sum() / 1000)
        out[n] = row
    return out


def quality(table: TableEvaluator, seeds: list[int], budget: int) -> dict:
    """Best-so-far statistics per method over ``seeds`` on the table."""
    optimum = max(r["accuracy"] for r in table.rows.values()) * 100
    out = {}
    space = get_space("nb201")
    for label, (name, knobs) in QUALITY.items():
        curves, seconds = [], []
        for seed in seeds:
            t0 = time.perf_counter()
            run = drive(get_strategy(name)(space, seed=seed, **knobs), budget, table)
            seconds.append(time.perf_counter() - t0)
            curves.append(np.maximum.accumulate([r.metrics["accuracy"] * 100 for _, r in run]))
        C = np.array(curves)
        row = {
            f"best@{k}": {"mean": float(C[:, k - 1].mean()), "std": float(C[:, k - 1].std())}
            for k in CHECKPOINTS
            if k <= budget
        }
        row["optimum_hits"] = int(np.sum(np.isclose(C[:, -1], optimum)))
        row["seconds_per_run"] = float(np.mean(seconds))
        out[label] = row
    return {"optimum": optimum, "seeds": seeds, "budget": budget, "methods": out}


def markdown(record: dict) -> str:
    """The record as tables."""
    lines = ["# Local search and BANANAS", "", "## Per-trial cost (ask + tell, ms)", ""]
    for space, rows in record["cost"].items():
        lines += [f"`{space}`, {record['trials']} trials, pseudo-random scores:", ""]
        heads = [w for w in next(iter(rows.values())) if w.startswith("trials")]
        lines.append(
            "| strategy | " + " | ".join(f"{h} median / mean" for h in heads) + " | max |"
        )
        lines.append("|---" * (len(heads) + 2) + "|")
        for n, row in rows.items():
            cells = [f"{row[h]['median_ms']:.2f} / {row[h]['mean_ms']:.2f}" for h in heads]
            lines.append(f"| {n} | " + " | ".join(cells) + f" | {row['max_ms']:.1f} |")
        lines.append("")
    q = record["quality"]
    ks = [k for k in CHECKPOINTS if k <= q["budget"]]
    lines += [
        f"## NAS-Bench-201 CIFAR-10 valid, {q['budget']} evaluations, seeds {q['seeds']}",
        "",
        f"Table optimum {q['optimum']:.3f}.",
        "",
        "| method | " + " | ".join(f"best@{k}" for k in ks) + " | optimum hits | s/run |",
        "|---" * (len(ks) + 3) + "|",
    ]
    for label, row in q["methods"].items():
        cells = [f"{row[f'best@{k}']['mean']:.3f} ± {row[f'best@{k}']['std']:.3f}" for k in ks]
        lines.append(
            f"| {label} | "
            + " | ".join(cells)
            + f" | {row['optimum_hits']}/{len(q['seeds'])} | {row['seconds_per_run']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark and write its record."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default=None)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--trials", type=int, default=500)
    ap.add_argument("--out", default="results/benchmarks/local_search_bananas.json")
    args = ap.parse_args()
    table = TableEvaluator(args.table)
    start = time.time()
    record = {
        "quality": quality(table, list(range(100, 100 + args.seeds)), args.budget),
        "trials": args.trials,
        "cost": {s: cost(s, args.trials) for s in ("nb201", "nasnet")},
        "seconds": None,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), python "
        f"{platform.python_version()}",
    }
    record["seconds"] = round(time.time() - start, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(record))
    print(markdown(record))


if __name__ == "__main__":
    main()
