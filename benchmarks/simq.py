"""SimQ-NAS on digits: hypervolume against validated evaluations for LINAS, NSGA-II and random.

Sridhar et al., "SimQ-NAS" (arXiv 2312.13301) search a trained super-network jointly over the
sub-network and its per-layer INT8/FP32 policy with LINAS (NSGA-II on ridge/SVR predictors) and
report up to 4.80x lower latency and 3.44x smaller models than the all-INT8 baseline at equal
accuracy. This script reproduces the pipeline at digits scale on CPU:

1. train the ``simq-resnet`` super-network once (sandwich rule) and build the latency table;
2. for each objective pair, method and seed, run ``budget`` validated evaluations (evaluations
   are deterministic, so one cache serves every method) and record the hypervolume of the
   running front after each one, with the fixed reference (accuracy 0, FP32 full network);
3. report each method's final hypervolume, the evaluations LINAS needs to reach NSGA-II's final
   hypervolume (per seed), and the best validated point at or above the all-INT8 full network's
   accuracy: its latency and size ratios to that baseline.

Writes ``results/benchmarks/simq.json`` and ``simq.md``. ``python benchmarks/simq.py`` takes
minutes on 2 CPU cores (``--budget``, ``--seeds``, ``--epochs`` make it shorter or longer).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from archsearch.data import load_data
from archsearch.pareto import hypervolume
from archsearch.registry import get_space, get_strategy
from archsearch.strategy import objectives_from

METHODS = ("linas", "nsga2", "random")
#: Extra rows: LINAS with shorter rounds (``--linas-population``), labelled ``linas-p<N>``.
PAIRS = ("accuracy,latency_ms", "accuracy,size_mb")


def run_method(method, space, evaluate, objectives, seed, budget, population, inner_evals):
    """Validated metrics in order and the running hypervolume after each evaluation."""
    if method.startswith("linas-p"):
        method, population = "linas", int(method[len("linas-p") :])
    options = {"population": population}
    if method == "linas":
        options["inner_evals"] = inner_evals
    if method == "random":
        options = {}
    strategy = get_strategy(method)(space, objectives=objectives, seed=seed, **options)
    metrics = []
    for _ in range(budget):
        trial = strategy.ask()
        result = evaluate(trial.arch)
        strategy.tell(trial, result)
        metrics.append({k: v for k, v in result.metrics.items() if k != "latency_source"})
    return metrics


def running_hv(metrics, objectives, reference):
    """Hypervolume of the front of the first k evaluations, k = 1..n."""
    objs = objectives_from(objectives)
    F = np.array([[o.sign() * m[o.name] for o in objs] for m in metrics])
    ref = [o.sign() * reference[o.name] for o in objs]
    return [hypervolume(F[: k + 1], ref) for k in range(len(F))]


def best_match(metrics, baseline, name):
    """The point at or above the baseline's accuracy with the smallest ``name``."""
    ok = [m for m in metrics if m["accuracy"] >= baseline["accuracy"] - 1e-9]
    if not ok:
        return None
    m = min(ok, key=lambda m: m[name])
    return {
        "accuracy": m["accuracy"],
        "latency_ms": m["latency_ms"],
        "size_mb": m["size_mb"],
        "latency_ratio": baseline["latency_ms"] / m["latency_ms"],
        "size_ratio": baseline["size_mb"] / m["size_mb"],
    }


def main() -> None:
    """Run the benchmark and write the record."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="simq-resnet")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--budget", type=int, default=90)
    ap.add_argument("--population", type=int, default=15)
    ap.add_argument("--inner-evals", type=int, default=1500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--pairs", nargs="+", default=list(PAIRS))
    ap.add_argument("--linas-population", type=int, nargs="*", default=[10])
    ap.add_argument("--out", default="results/benchmarks")
    args = ap.parse_args()
    torch.set_num_threads(1)
    space, data = get_space(args.space), load_data("digits")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ev = space.evaluator(data, epochs=args.epochs, seed=0, run_path=Path(tmp))
        train_s = time.perf_counter() - t0
        cache: dict[str, object] = {}

        def evaluate(arch):
            if arch.key not in cache:
                cache[arch.key] = ev.evaluate(arch)
            return cache[arch.key]

        baseline = {k: ev.baseline.metrics[k] for k in ("accuracy", "latency_ms", "size_mb")}
        reference = ev.reference()
        record = {
            "space": args.space,
            "dataset": "digits",
            "settings": vars(args),
            "supernet_and_table_seconds": round(train_s, 1),
            "latency_source": ev.latency.source,
            "baseline_int8_full": baseline,
            "fp32_full": {k: ev.fp32.metrics[k] for k in ("accuracy", "latency_ms", "size_mb")},
            "hypervolume_reference": reference,
            "pairs": {},
        }
        for pair in args.pairs:
            cost = pair.split(",")[1]
            out = {"methods": {}}
            for method in [*METHODS, *(f"linas-p{p}" for p in args.linas_population)]:
                runs = []
                for seed in args.seeds:
                    t = time.perf_counter()
                    metrics = run_method(
                        method,
                        space,
                        evaluate,
                        pair,
                        seed,
                        args.budget,
                        args.population,
                        args.inner_evals,
                    )
                    hv = running_hv(metrics, pair, reference)
                    runs.append(
                        {
                            "seed": seed,
                            "seconds": round(time.perf_counter() - t, 1),
                            "hv": [round(h, 5) for h in hv],
                            "best_match": best_match(metrics, baseline, cost),
                        }
                    )
                    print(f"{pair} {method} seed {seed}: final hv {hv[-1]:.4f}", flush=True)
                finals = [r["hv"][-1] for r in runs]
                out["methods"][method] = {
                    "final_hv_mean": float(np.mean(finals)),
                    "final_hv_std": float(np.std(finals)),
                    "runs": runs,
                }
            reach = []
            for lin, nsga in zip(out["methods"]["linas"]["runs"], out["methods"]["nsga2"]["runs"]):
                target = nsga["hv"][-1]
                k = next((i + 1 for i, h in enumerate(lin["hv"]) if h >= target), None)
                reach.append(k)
            out["linas_evals_to_nsga2_final"] = reach
            out["goal_met_per_seed"] = [k is not None and k <= args.budget / 3 for k in reach]
            record["pairs"][pair] = out
        record["evaluations_cached"] = len(cache)
        every = [r.metrics for r in cache.values()]
        record["best_match_any_run"] = {
            "latency_ms": best_match(every, baseline, "latency_ms"),
            "size_mb": best_match(every, baseline, "size_mb"),
        }
    record["total_seconds"] = round(time.perf_counter() - t0, 1)
    record["machine"] = f"{platform.machine()}, {torch.get_num_threads()} torch thread(s)"
    record["note"] = (
        "measured on a shared 2-core machine; latency tables are noisy; re-run to re-measure"
    )
    dest = Path(args.out)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "simq.json").write_text(json.dumps(record, indent=1) + "\n")
    (dest / "simq.md").write_text(markdown(record))
    print(markdown(record))


def markdown(record: dict) -> str:
    """The record as a short markdown summary."""
    b = record["baseline_int8_full"]
    lines = [
        f"# SimQ-NAS benchmark ({record['space']}, digits)",
        "",
        f"Budget {record['settings']['budget']} validated evaluations per run, "
        f"seeds {record['settings']['seeds']}, population {record['settings']['population']}, "
        f"LINAS inner loop {record['settings']['inner_evals']} predicted evaluations. "
        f"Super-network: {record['settings']['epochs']} epochs (sandwich rule), trained once and "
        f"shared by every run; {record['supernet_and_table_seconds']} s with the latency table. "
        f"Latency: {record['latency_source']}. Total {record['total_seconds']} s. "
        f"{record['note']}.",
        "",
        f"All-INT8 full super-network (baseline): accuracy {b['accuracy']:.4f}, "
        f"latency {b['latency_ms']:.3f} ms/batch, size {b['size_mb'] * 1e3:.1f} kB.",
        "",
    ]
    for pair, out in record["pairs"].items():
        lines += [
            f"## {pair}",
            "",
            "| method | final HV (mean ± sd) | HV at 1/3 budget | best point >= baseline acc: "
            "latency ratio / size ratio (per seed) |",
            "|---|---|---|---|",
        ]
        third = record["settings"]["budget"] // 3
        for method, m in out["methods"].items():
            at_third = np.mean([r["hv"][third - 1] for r in m["runs"]])
            ratios = ", ".join(
                "none"
                if r["best_match"] is None
                else f"{r['best_match']['latency_ratio']:.2f}x / {r['best_match']['size_ratio']:.2f}x"
                for r in m["runs"]
            )
            lines.append(
                f"| {method} | {m['final_hv_mean']:.4f} ± {m['final_hv_std']:.4f} | "
                f"{at_third:.4f} | {ratios} |"
            )
        lines += [
            "",
            f"LINAS evaluations to reach NSGA-II's final HV (per seed): "
            f"{out['linas_evals_to_nsga2_final']} (goal: <= {third}; met: "
            f"{out['goal_met_per_seed']}).",
            "",
        ]
    for name, m in record["best_match_any_run"].items():
        if m is None:
            lines.append(f"No validated point reached the baseline accuracy (by {name}).")
        else:
            lines.append(
                f"Over all validated points, the smallest {name} at >= baseline accuracy: "
                f"accuracy {m['accuracy']:.4f}, {m['latency_ratio']:.2f}x lower latency, "
                f"{m['size_ratio']:.2f}x smaller than the all-INT8 baseline."
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
