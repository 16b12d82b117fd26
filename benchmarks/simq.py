"""SimQ-NAS on digits: measured latency, a held-out test split, hypervolume under two references.

Sridhar et al., "SimQ-NAS" (arXiv 2312.13301) search a trained super-network jointly over the
sub-network and its per-layer INT8/FP32 policy with LINAS (NSGA-II on ridge/SVR predictors).
This script checks that pipeline at digits scale on one CPU thread:

1. digits with a fixed stratified train / valid / test split (60/20/20); search, selection,
   BN recalibration and quantization calibration see train and valid only;
2. the ``simq-resnet`` super-network is trained once; a second training from scratch with the
   same seed checks that weights and accuracies are bit-identical (``reproduce``);
3. latency study (``benchmarks/simq_latency.py``): measured end-to-end latency of deployed
   models vs the per-layer table model, batch 1 and 64;
4. LINAS, NSGA-II and random, ``--seeds`` seeds each, for (accuracy, latency_ms) with measured
   latency (LINAS predicts it; nothing measured is "exact") and (accuracy, size_mb) with exact
   size; validation hypervolume after every evaluation under the default reference (accuracy 0,
   the worst cost of the pair: the FP32 full network's or the slowest / largest evaluated
   point's, one reference for all runs of a pair) and the baseline reference (the all-INT8 full
   network's validation accuracy minus 0.02, same cost); each final front re-scored on test;
5. predictor quality: accuracy and latency predictors vs a mean predictor on held-out random
   sub-networks at 15/30/60/90 training points, and inside LINAS round by round.

Writes ``results/benchmarks/simq.json`` and ``simq.md``. Latencies vary with machine load;
accuracies and sizes do not (the record says which figures are which).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import simq_latency  # noqa: E402
from simq_report import markdown  # noqa: E402

from archsearch.data import load_data  # noqa: E402
from archsearch.pareto import hypervolume, pareto_mask  # noqa: E402
from archsearch.registry import get_space, get_strategy  # noqa: E402
from archsearch.strategies.linas import fit_predictor  # noqa: E402
from archsearch.strategy import objectives_from  # noqa: E402

METHODS = ("linas", "nsga2", "random")
PAIRS = ("accuracy,latency_ms", "accuracy,size_mb")
MARGIN = 0.02
SIZES = (15, 30, 60, 90)


def run_method(method, space, evaluate, pair, seed, args):
    """Validated metrics and archs in order, and LINAS's per-round predictor errors."""
    options = {"population": args.population}
    if method == "linas":
        options["inner_evals"] = args.inner_evals
    if method == "random":
        options = {}
    s = get_strategy(method)(space, objectives=pair, seed=seed, **options)
    metrics, archs, rounds, cur = [], [], [], None
    for _ in range(args.budget):
        trial = s.ask()
        if method == "linas" and (cur is None or cur["round"] != s.rounds):
            acc = [f[0] for f in s.F]
            cur = {"round": s.rounds, "train_mean": float(np.mean(acc)) if acc else None}
            cur |= {"predicted": [], "actual": []}
            rounds.append(cur)
            pred = s.predictors[0] if s.predictors else None
        result = evaluate(trial.arch)
        if method == "linas" and pred is not None:
            cur["predicted"].append(float(pred.predict(s._encode([trial.arch]))[0]))
            cur["actual"].append(result.metrics["accuracy"])
        s.tell(trial, result)
        metrics.append(result.metrics)
        archs.append(trial.arch)
    return metrics, archs, rounds


def running_hv(metrics, pair, ref):
    """Hypervolume of the front of the first k evaluations, k = 1..n."""
    objs = objectives_from(pair)
    F = np.array([[o.sign() * m[o.name] for o in objs] for m in metrics])
    r = [o.sign() * ref[o.name] for o in objs]
    return [round(hypervolume(F[: k + 1], r), 6) for k in range(len(F))]


def reach(curve, target):
    """First evaluation count at which ``curve`` reaches ``target`` (None: never)."""
    return next((i + 1 for i, h in enumerate(curve) if h >= target - 1e-12), None)


def round_errors(rounds):
    """Per LINAS round: accuracy predictor MAE over the mean predictor's MAE on that round."""
    out = []
    for r in rounds:
        if not r["predicted"]:
            continue
        y, p = np.array(r["actual"]), np.array(r["predicted"])
        base = np.abs(y - r["train_mean"]).mean()
        out.append(
            {
                "round": r["round"],
                "n": len(y),
                "mae": float(np.abs(p - y).mean()),
                "mean_mae": float(base),
                "ratio": float(np.abs(p - y).mean() / base) if base > 0 else None,
            }
        )
    return out


def predictor_study(space, pool, held_out=60, repeats=5):
    """Held-out error of accuracy and log-latency predictors at SIZES training points."""
    X = space.encode([a for a, _ in pool])
    acc = np.array([m["accuracy"] for _, m in pool])
    lat = np.log(np.array([m["latency_ms"] for _, m in pool]))
    out = {"pool": len(pool), "held_out": held_out, "repeats": repeats, "sizes": {}}
    for n in SIZES:
        if n + held_out > len(pool):
            continue
        rows = {"accuracy_ratio": [], "latency_ratio": [], "latency_spearman": []}
        for r in range(repeats):
            idx = np.random.default_rng(r).permutation(len(pool))
            te, tr = idx[:held_out], idx[held_out : held_out + n]
            for name, y in (("accuracy", acc), ("latency", lat)):
                p = fit_predictor(X[tr], y[tr]).predict(X[te])
                err = np.abs(p - y[te]).mean() / np.abs(y[tr].mean() - y[te]).mean()
                rows[f"{name}_ratio"].append(float(err))
                if name == "latency":
                    rows["latency_spearman"].append(float(spearmanr(p, y[te]).statistic))
        out["sizes"][str(n)] = {k: {"mean": float(np.mean(v)), "runs": v} for k, v in rows.items()}
    return out


def reproduce(space, data, ev, epochs, archs):
    """Retrain from scratch with the same seed: identical weights and accuracies?"""
    again = space.evaluator(data, epochs=epochs, seed=0)
    same_w = all(
        torch.equal(a, b) for a, b in zip(ev.supernet.parameters(), again.supernet.parameters())
    )
    acc1 = [ev.evaluate(a, latency=False).metrics["accuracy"] for a in archs]
    acc2 = [again.evaluate(a, latency=False).metrics["accuracy"] for a in archs]
    space.bind(ev.task, ev.latency)
    return {"weights_identical": same_w, "accuracies_identical": acc1 == acc2, "accuracies": acc1}


def main() -> None:
    """Run the benchmark and write the record."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--population", type=int, default=6)
    ap.add_argument("--inner-evals", type=int, default=300)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--latency-archs", type=int, default=5)
    ap.add_argument("--out", default="results/benchmarks")
    args = ap.parse_args()
    for name in ("budget", "population", "epochs", "latency_archs"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)  # quantized kernels: timing only
    t0 = time.perf_counter()
    load = {"start": os.getloadavg()}
    space = get_space("simq-resnet")
    data = load_data("digits", test_fraction=0.2)
    ev = space.evaluator(data, epochs=args.epochs, seed=0)
    record: dict = {
        "space": "simq-resnet",
        "dataset": "digits",
        "split": {k: len(getattr(data, k)[1]) for k in ("train", "valid", "test")},
        "settings": vars(args),
        "latency_source": ev.latency_source,
        "latency_protocol": "deployed model (BN folded, FX INT8 x86 where 8 bits), 1 thread, "
        f"5 warm-up calls, median of {space.settings.latency_repeats}; batch 64 is the objective",
        "margin": MARGIN,
    }
    full: dict = {}
    quick: dict = {}
    tests: dict = {}

    def with_latency(arch):
        if arch.key not in full:
            full[arch.key] = ev.evaluate(arch)
            quick[arch.key] = full[arch.key]
        return full[arch.key]

    def without_latency(arch):
        if arch.key not in quick:
            quick[arch.key] = ev.evaluate(arch, latency=False)
        return quick[arch.key]

    def test_acc(arch):
        if arch.key not in tests:
            tests[arch.key] = ev.test_metrics(arch)["accuracy"]
        return tests[arch.key]

    from archsearch.spaces.simq.eval import _all_bits

    base_arch = _all_bits(space, ev.task, 8)
    baseline = {k: ev.baseline.metrics[k] for k in ("accuracy", "latency_ms", "size_mb")}
    baseline["latency_ms_batch1"] = ev.baseline.metrics["latency_ms_batch1"]
    baseline["test_accuracy"] = test_acc(base_arch)
    record["baseline_int8_full"] = baseline
    fp32 = {k: ev.fp32.metrics[k] for k in ("accuracy", "latency_ms", "size_mb")}
    fp32["test_accuracy"] = test_acc(_all_bits(space, ev.task, 32))
    record["fp32_full"] = fp32
    refs = {"default": ev.reference(), "baseline": ev.reference(MARGIN)}
    record["hypervolume_references"] = refs
    rng = np.random.default_rng(7)
    record["reproduce"] = reproduce(
        space, data, ev, args.epochs, [base_arch] + [space.sample(rng) for _ in range(8)]
    )
    record["train_and_reference_seconds"] = round(time.perf_counter() - t0, 1)
    print("reproduce", record["reproduce"], flush=True)
    t = time.perf_counter()
    record["latency_study"] = simq_latency.study(space, ev, archs=args.latency_archs)
    record["latency_study"]["seconds"] = round(time.perf_counter() - t, 1)
    load["after_latency_study"] = os.getloadavg()
    print("latency study done", flush=True)
    record["pairs"] = {}
    pool: dict = {}
    for pair in PAIRS:
        evaluate = with_latency if "latency" in pair else without_latency
        cost = pair.split(",")[1]
        done = []
        for method in METHODS:
            for seed in args.seeds:
                t = time.perf_counter()
                metrics, archs, rounds = run_method(method, space, evaluate, pair, seed, args)
                if method == "random" and "latency" in pair:  # unbiased samples
                    pool.update({a.key: (a, m) for a, m in zip(archs, metrics)})
                done.append((method, seed, metrics, archs, rounds, time.perf_counter() - t))
                print(pair, method, seed, flush=True)
        # One reference for every run of the pair, fixed after all of them: the worst cost seen
        # (the FP32 full network or the slowest / largest evaluated point), so no point is cut
        # off by a latency measured under a different load than the reference's.
        worst = max([refs["default"][cost]] + [m[cost] for d in done for m in d[2]])
        pair_refs = {k: {**r, cost: worst} for k, r in refs.items()}
        out: dict = {"references": pair_refs, "methods": {m: {"runs": []} for m in METHODS}}
        for method, seed, metrics, archs, rounds, seconds in done:
            run = {"seed": seed, "seconds": round(seconds, 1)}
            run["hv"] = {k: running_hv(metrics, pair, r) for k, r in pair_refs.items()}
            run |= final_front(
                metrics,
                archs,
                pair,
                (cost, worst),
                baseline,
                test_acc,
                with_latency,
                ev,
                base_arch,
            )
            if method == "linas":
                run["predictor_rounds"] = round_errors(rounds)
            out["methods"][method]["runs"].append(run)
        out["reach"] = reach_table(out["methods"], args.budget)
        record["pairs"][pair] = out
    load["after_search"] = os.getloadavg()
    record["predictors"] = predictor_study(space, list(pool.values()))
    record["evaluations"] = {"with_latency": len(full), "accuracy_only": len(quick) - len(full)}
    record["load_average_1_5_15min"] = load
    record["total_seconds"] = round(time.perf_counter() - t0, 1)
    record["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, 1 torch thread"
    record["varies_with_timing"] = [
        "every latency_ms figure, latency ratios, accuracy/latency hypervolumes and everything "
        "downstream of them in the accuracy/latency searches (which architectures were chosen)"
    ]
    record["does_not_vary"] = ["accuracies (valid and test), sizes, the accuracy/size searches"]
    dest = Path(args.out)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "simq.json").write_text(json.dumps(record, indent=1) + "\n")
    (dest / "simq.md").write_text(markdown(record))
    print(markdown(record))


def final_front(metrics, archs, pair, costs, baseline, test_acc, with_latency, ev, base_arch):
    """The run's validated front re-scored on test, and its chosen point (valid selection).

    ``costs`` is (cost name, the FP32 full network's cost: the reference's cost coordinate).
    """
    cost, ref_cost = costs
    objs = objectives_from(pair)
    F = np.array([[o.sign() * m[o.name] for o in objs] for m in metrics])
    front = [i for i, keep in enumerate(pareto_mask(F)) if keep]
    pts = [{"valid_accuracy": metrics[i]["accuracy"], cost: metrics[i][cost]} for i in front]
    for i, p in zip(front, pts):
        p["test_accuracy"] = test_acc(archs[i])
    out = {"front": pts}
    for ref_name, acc0 in (("default", 0.0), ("baseline", baseline["test_accuracy"] - MARGIN)):
        G = np.array([[p["test_accuracy"], -p[cost]] for p in pts])
        ref = [acc0, -ref_cost]
        out.setdefault("test_hv", {})[ref_name] = hypervolume(G, ref)
    ok = [i for i in range(len(metrics)) if metrics[i]["accuracy"] >= baseline["accuracy"] - 1e-9]
    if ok:
        i = min(ok, key=lambda i: metrics[i][cost])
        full = with_latency(archs[i]).metrics
        out["chosen"] = {
            "valid_accuracy": full["accuracy"],
            "test_accuracy": test_acc(archs[i]),
            "latency_ms": full["latency_ms"],
            "size_mb": full["size_mb"],
            "latency_ratio_separate_timings": baseline["latency_ms"] / full["latency_ms"],
            **simq_latency.side_by_side(ev, archs[i], base_arch),
            "size_ratio": baseline["size_mb"] / full["size_mb"],
            "test_at_or_above_baseline": test_acc(archs[i]) >= baseline["test_accuracy"] - 1e-9,
        }
    else:
        out["chosen"] = None
    return out


def reach_table(methods, budget):
    """Per reference: evaluations each method needs to reach the others' final HV, per seed."""
    out = {}
    for ref in ("default", "baseline"):
        runs = {m: [r["hv"][ref] for r in methods[m]["runs"]] for m in methods}
        final = {m: [c[-1] for c in runs[m]] for m in runs}
        out[ref] = {
            "final_mean": {m: float(np.mean(v)) for m, v in final.items()},
            "final_std": {m: float(np.std(v)) for m, v in final.items()},
            "at_third_mean": {
                m: float(np.mean([c[budget // 3 - 1] for c in runs[m]])) for m in runs
            },
            "linas_to_nsga2_final": [
                reach(a, b[-1]) for a, b in zip(runs["linas"], runs["nsga2"])
            ],
            "random_to_nsga2_final": [
                reach(a, b[-1]) for a, b in zip(runs["random"], runs["nsga2"])
            ],
            "nsga2_to_linas_final": [
                reach(a, b[-1]) for a, b in zip(runs["nsga2"], runs["linas"])
            ],
        }
    return out


if __name__ == "__main__":
    main()
