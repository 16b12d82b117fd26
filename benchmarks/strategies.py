"""Sample efficiency of every strategy on the NAS-Bench-201 table (CIFAR-10 valid), plus NSGA-II.

Each method searches the ``nb201`` space for ``--budget`` evaluations (150) with ``--seeds``
seeds (20), looking results up in the table (``--table`` or ``ARCHSEARCH_NB201_TABLE``); methods
are interleaved seed by seed. Every proposal counts as one evaluation, repeats included. Reported
per method: mean and population std of the best validation accuracy (percent) after 25, 50, 100
and 150 evaluations; seeds reaching the top 1% of the table (the 156th best value and above) and
the mean of min(first evaluation in the top 1%, budget); seeds finding the optimum; unique
architectures proposed; seconds per run. All strategies run with their default knobs.

The two-objective part runs NSGA-II (and random search, and Optuna's NSGA-II) on (maximize
validation accuracy, minimize the table's training time) and reports the hypervolume of the
front found, with objectives scaled to [0, 1] (accuracy / 100, time / the table's largest time)
and reference point (accuracy 0, time 1), beside the hypervolume of the whole table's front.

    python benchmarks/strategies.py [--table PATH] [--seeds 20] [--budget 150]

Writes ``results/benchmarks/strategies.json`` and ``strategies.md``.
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
from archsearch.spaces.nb201 import from_arch_str  # noqa: E402
from archsearch.spaces.nb201.table import TableEvaluator  # noqa: E402

from archsearch.pareto import hypervolume, pareto_mask  # noqa: E402
from archsearch.registry import get_space, get_strategy  # noqa: E402
from archsearch.strategy import Result  # noqa: E402
from archsearch.testing.conformance import drive  # noqa: E402

METHODS = {
    "random": ("random", {}),
    "mcts": ("mcts", {}),
    "mcts-bisect": ("mcts-bisect", {}),
    "smbo": ("smbo", {}),
    "smbo-ngram": ("smbo-ngram", {}),
    "evolution": ("evolution", {}),
    "nsga2": ("nsga2", {}),
    "optuna-tpe": ("optuna", {"sampler": "tpe"}),
    "dedup(optuna-tpe)": ("dedup", {"strategy": "optuna", "options": {"sampler": "tpe"}}),
}
CHECKPOINTS = (25, 50, 100, 150)
MULTI = {
    "nsga2": ("nsga2", {}),
    "random": ("random", {}),
    "optuna-nsga2": ("optuna", {"sampler": "nsga2"}),
}


def search(name: str, knobs: dict, table: TableEvaluator, seed: int, budget: int, objectives=None):
    """One run: the list of (arch key, result) in proposal order."""
    space = get_space("nb201")
    strategy = get_strategy(name)(space, objectives=objectives, seed=seed, **knobs)
    return [(trial.arch.key, result) for trial, result in drive(strategy, budget, table)]


def summarize(runs: list[list], seconds: list[float], top1: float, optimum: float, budget: int):
    """Statistics of one method over its seeds."""
    curves = []
    for run in runs:
        acc = np.array([r.metrics["accuracy"] * 100 for _, r in run])
        curves.append(np.maximum.accumulate(acc))
    C = np.array(curves)
    first = [int(np.argmax(c >= top1)) + 1 if (c >= top1).any() else budget for c in C]
    row = {
        f"best@{k}": {"mean": float(C[:, k - 1].mean()), "std": float(C[:, k - 1].std())}
        for k in CHECKPOINTS
        if k <= budget
    }
    row.update(
        top1_hits=int(sum((c >= top1).any() for c in C)),
        evals_to_top1=float(np.mean(first)),
        optimum_hits=int(sum(c[-1] >= optimum - 1e-9 for c in C)),
        unique=float(np.mean([len({k for k, _ in run}) for run in runs])),
        seconds_per_run=float(np.median(seconds)),
        curve_mean=[float(v) for v in C.mean(axis=0)],
    )
    return row


def two_objective(table: TableEvaluator, seeds: int, budget: int) -> dict:
    """Hypervolume of the fronts found on (accuracy, training time)."""
    t_max = max(r["train_seconds"] for r in table.rows.values())

    def point(result: Result) -> tuple[float, float]:
        return (result.metrics["accuracy"], -result.cost["train_seconds"] / t_max)

    everything = np.array([point(table(from_arch_str(k))) for k in table.rows])
    ref = [0.0, -1.0]
    out = {"reference": ref, "table_front_hv": hypervolume(everything, ref)}
    out["table_front_size"] = int(pareto_mask(everything).sum())
    for label, (name, knobs) in MULTI.items():
        hv, sizes = [], []
        for seed in range(seeds):
            run = search(name, knobs, table, seed, budget, objectives="accuracy,train_seconds:min")
            F = np.array([point(r) for _, r in run])
            hv.append(hypervolume(F, ref))
            sizes.append(int(pareto_mask(F).sum()))
        out[label] = {
            "hv_mean": float(np.mean(hv)),
            "hv_std": float(np.std(hv)),
            "front_size": float(np.mean(sizes)),
        }
    return out


def markdown(record: dict) -> str:
    """The record as a Markdown page."""
    lines = [
        "# Search strategies on the NAS-Bench-201 table (CIFAR-10 valid)",
        "",
        f"Measured {record['date']} on {record['machine']}; {record['seeds']} seeds, budget "
        f"{record['budget']} evaluations, every proposal counts (repeats included). Default knobs "
        "for every strategy. Table optimum "
        f"{record['optimum']:.4f}; top 1% = {record['top1_threshold']:.4f} and above. Best validation "
        "accuracy found (percent), mean ± population std over seeds (standard error is about "
        "std / 4.5 with 20 seeds). Regenerate with `python benchmarks/strategies.py`.",
        "",
        "| method | best@25 | best@50 | best@100 | best@150 | top 1% by 150 | evals to top 1% "
        "| optimum by 150 | unique archs | s / run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in record["results"].items():
        cells = [
            f"{r[f'best@{k}']['mean']:.3f} ± {r[f'best@{k}']['std']:.3f}"
            if f"best@{k}" in r
            else "–"
            for k in CHECKPOINTS
        ]
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {r['top1_hits']}/{record['seeds']} | {r['evals_to_top1']:.1f} | "
            f"{r['optimum_hits']}/{record['seeds']} | {r['unique']:.0f} | {r['seconds_per_run']:.2f} |"
        )
    mo = record.get("two_objective")
    if mo:
        lines += [
            "",
            "## Two objectives: maximize accuracy, minimize training time",
            "",
            f"Hypervolume with accuracy in [0, 1] and time / largest time, reference point "
            f"{tuple(mo['reference'])} in (accuracy, -time) orientation; budget "
            f"{record['budget']}, {record['seeds']} seeds. The whole table's front "
            f"({mo['table_front_size']} cells) has hypervolume {mo['table_front_hv']:.4f}.",
            "",
            "| method | hypervolume | front size |",
            "|---|---|---|",
        ]
        for label in MULTI:
            r = mo[label]
            lines.append(
                f"| {label} | {r['hv_mean']:.4f} ± {r['hv_std']:.4f} | {r['front_size']:.1f} |"
            )
    lines += ["", "## Notes", ""] + [f"- {n}" for n in record["notes"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark and write its records."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default=None, help="NB201 CSV (default: $ARCHSEARCH_NB201_TABLE)")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--only", default=",".join(METHODS), help="comma-separated subset")
    ap.add_argument("--no-multi", action="store_true", help="skip the two-objective part")
    ap.add_argument("--out", default="results/benchmarks/strategies")
    args = ap.parse_args()
    table = TableEvaluator(args.table)
    accs = np.sort([r["accuracy"] * 100 for r in table.rows.values()])[::-1]
    optimum, top1 = float(accs[0]), float(accs[len(accs) // 100 - 1])
    names = args.only.split(",")
    runs: dict[str, list] = {n: [] for n in names}
    secs: dict[str, list] = {n: [] for n in names}
    start = time.time()
    for seed in range(args.seeds):
        for n in names:
            t0 = time.perf_counter()
            runs[n].append(search(*METHODS[n], table, seed, args.budget))
            secs[n].append(time.perf_counter() - t0)
        print(f"seed {seed} done ({time.time() - start:.0f}s)", flush=True)
    results = {n: summarize(runs[n], secs[n], top1, optimum, args.budget) for n in names}
    record = {
        "benchmark": "strategies",
        "table": Path(table.path).name,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared, noisy)",
        "python": platform.python_version(),
        "seeds": args.seeds,
        "budget": args.budget,
        "optimum": optimum,
        "top1_threshold": top1,
        "results": results,
        "notes": [
            "Accuracy is the table's 200-epoch validation accuracy averaged over seeds; no "
            "training noise is simulated.",
            "Reference from results measured separately on this table (shared/reference/"
            "baselines.md): Optuna 5.0 default TPE 91.578 ± 0.047 at 150, top 1% after 29.1 "
            "evals, optimum on 13/20; random search 91.12 expected; that file's regularized "
            "evolution (population 20, sample 5, no dedup) 91.513.",
            "The strategies here avoid re-proposing architectures where that is cheap "
            "(MCTS rollouts, evolution and SMBO candidates); Optuna's TPE and random search do not. "
            "dedup(optuna-tpe) is TPE inside the Dedup wrapper: a repeat is told its known "
            "result at once and TPE is asked again, so only new architectures cost evaluations.",
            "Timings (s / run) come from a shared 2-core machine under load and are only indicative.",
        ],
        "wall_s": time.time() - start,
    }
    if not args.no_multi:
        record["two_objective"] = two_objective(table, args.seeds, args.budget)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(record))
    print(markdown(record))


if __name__ == "__main__":
    main()
