"""Per-trial overhead of every strategy (ask + tell) on the NASNet space, beside Optuna's TPE.

All strategies run in one process, interleaved trial by trial, for ``--trials`` trials each
(1,000 by default) with a pseudo-random score per trial, so machine noise hits them alike. The
record gives the median and the largest ask+tell CPU time (ms; process time, so that other
processes on a shared machine do not inflate it the way they inflate wall time) in the windows
1-100, 401-500 and 901-1000 (the largest shows refit stalls), the ratio of the last window's median to the first's
(flat = about 1), the total, and each strategy's total relative to TPE's. Strategies not
registered in the tree are skipped and listed.

    python benchmarks/strategy_overhead.py [--trials 1000] [--space nasnet]

Writes ``results/benchmarks/strategy_overhead.json`` and ``.md``. Linear algebra is pinned to one thread
(set before numpy loads): BLAS threads only thrash at these matrix sizes.
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

from archsearch.registry import get_space, get_strategy  # noqa: E402
from archsearch.strategy import Result  # noqa: E402

STRATEGIES = {
    "random": ("random", {}),
    "mcts": ("mcts", {}),
    "mcts-bisect": ("mcts-bisect", {}),
    "smbo": ("smbo", {}),
    "smbo-ngram": ("smbo-ngram", {}),
    "evolution": ("evolution", {}),
    "nsga2": ("nsga2", {}),
    "local-search": ("local-search", {}),
    "bananas": ("bananas", {}),
    "optuna-tpe": ("optuna", {"sampler": "tpe"}),
}
WINDOWS = ((0, 100), (400, 500), (900, 1000))


def main() -> None:
    """Run the benchmark and write its record."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--space", default="nasnet")
    ap.add_argument("--only", default=",".join(STRATEGIES), help="comma-separated subset")
    ap.add_argument("--out", default="results/benchmarks/strategy_overhead.json")
    args = ap.parse_args()
    space = get_space(args.space)
    from archsearch.registry import entries

    available = set(entries("strategy"))
    names = [n for n in args.only.split(",") if STRATEGIES[n][0] in available]
    strategies = {
        n: get_strategy(STRATEGIES[n][0])(space, seed=0, **STRATEGIES[n][1]) for n in names
    }
    times = {n: np.zeros(args.trials) for n in names}
    values = np.random.default_rng(0).random(args.trials)
    start = time.time()
    for i in range(args.trials):
        result = Result(metrics={"accuracy": float(values[i])})
        for n, s in strategies.items():
            t0 = time.process_time()
            trial = s.ask()
            s.tell(trial, result)
            times[n][i] = time.process_time() - t0
    rows = {}
    for n in names:
        t = times[n] * 1000
        rows[n] = {
            f"median_ms_{a + 1}_{b}": float(np.median(t[a:b])) for a, b in WINDOWS if b <= len(t)
        }
        rows[n].update(
            {f"max_ms_{a + 1}_{b}": float(t[a:b].max()) for a, b in WINDOWS if b <= len(t)}
        )
        first, last = WINDOWS[0], WINDOWS[-1]
        if last[1] <= len(t):
            rows[n]["last_over_first"] = float(
                np.median(t[last[0] : last[1]]) / np.median(t[first[0] : first[1]])
            )
        rows[n]["total_s"] = float(times[n].sum())
        rows[n]["mean_ms"] = float(t.mean())
    if "optuna-tpe" in rows:
        tpe = rows["optuna-tpe"]["total_s"]
        for n in names:
            rows[n]["tpe_over_this"] = tpe / rows[n]["total_s"]
    record = {
        "benchmark": "strategy_overhead",
        "space": args.space,
        "trials": args.trials,
        "decisions_per_trial": len(space.sample(np.random.default_rng(0))),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared, noisy)",
        "python": platform.python_version(),
        "wall_s": time.time() - start,
        "note": "ask+tell CPU time (process time) per trial, pseudo-random scores, strategies "
        "interleaved trial by trial; a shared, loaded machine: CPU time is robust to "
        "preemption, not to cache and frequency effects",
        "not_registered": [n for n in args.only.split(",") if n not in names],
        "results": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"# Per-trial cost of every strategy on `{args.space}` ({args.trials} trials)",
        "",
        f"Measured {record['date']} on {record['machine']}; {record['note']}. "
        "ms = ask + tell CPU time; median (largest) per window. Regenerate with "
        "`python benchmarks/strategy_overhead.py`.",
        "",
        "| strategy | 1-100 | 401-500 | 901-1000 | 901-1000 / 1-100 | total s | TPE / this |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in names:
        r = rows[n]
        cells = [
            f"{r[f'median_ms_{a + 1}_{b}']:.2f} ({r[f'max_ms_{a + 1}_{b}']:.1f})"
            for a, b in WINDOWS
            if f"median_ms_{a + 1}_{b}" in r
        ]
        lines.append(
            f"| {n} | " + " | ".join(cells) + f" | {r.get('last_over_first', float('nan')):.2f} | "
            f"{r['total_s']:.2f} | {r.get('tpe_over_this', float('nan')):.1f} |"
        )
    if record["not_registered"]:
        lines += ["", f"Not registered in this tree: {', '.join(record['not_registered'])}."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    width = max(len(n) for n in names)
    for n in names:
        r = rows[n]
        cells = "  ".join(f"{k[10:]}={v:7.2f}" for k, v in r.items() if k.startswith("median"))
        ratio = f"  TPE/this={r['tpe_over_this']:.1f}x" if "tpe_over_this" in r else ""
        print(f"{n:<{width}}  {cells}  total={r['total_s']:.2f}s{ratio}")


if __name__ == "__main__":
    main()
