"""Every strategy beside native Optuna on NAS-Bench-201 landscapes and seed groups, one run.

A *landscape* is one column of the NB201 table (``--table`` or ``ARCHSEARCH_NB201_TABLE``) used
as the score: ``valid`` (200-epoch validation accuracy), ``test`` (test accuracy) and optionally
``train`` (train accuracy). Each method searches the ``nb201`` space for ``--budget`` evaluations
(150) on every landscape, once per seed of each group in ``--groups``: ``tuning`` (seeds
0-19) and ``tuning2`` (200-219), the ones defaults may be chosen on, and ``checking``
(100-119) and ``fresh`` (300-319), never used while choosing them. Every proposal counts as one evaluation, repeats included. Methods: every registered strategy through
the public API (its defaults), ``tpe-native`` (``optuna.samplers.TPESampler(seed=k)`` on six
categorical parameters, in this process), ``gp-native`` (``GPSampler(seed=k)``; slow, so on
the first ``--limit`` seeds per group) and ``uniform`` (numpy uniform draws, the analytic baseline).

Per method, landscape and group: mean and population std of the best score after 25, 50, 100
and 150 evaluations; seeds reaching the top 1% of the landscape (the 156th best value and above)
and the mean of min(first evaluation in the top 1%, budget); seeds finding the optimum; unique
architectures; median seconds per run; two-sided Mann-Whitney p-values of best@150 and of the
evaluations to the top 1% against ``tpe-native``. The report lives in
``benchmarks/_strategies_report.py``.

    python benchmarks/strategies.py [--table PATH] [--seeds 20] [--budget 150] [--jobs 2]

Writes ``results/benchmarks/strategies.json`` and ``strategies.md``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from archsearch.spaces.nb201.space import EDGE_NAMES, OPS, arch_str  # noqa: E402
from archsearch.spaces.nb201.table import TableEvaluator  # noqa: E402

from archsearch.arch import Architecture  # noqa: E402
from archsearch.registry import entries, get_space, get_strategy  # noqa: E402
from archsearch.strategy import Result  # noqa: E402
from archsearch.testing.conformance import drive  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _strategies_report import markdown, summarize  # noqa: E402

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
NATIVE = ("tpe-native", "gp-native", "uniform")
LANDSCAPES = {"valid": "accuracy", "test": "test_accuracy", "train": "train_accuracy"}
#: seed groups, each starting at a multiple of 100: ``tuning`` and ``tuning2`` are the ones
#: defaults may be chosen on; ``checking`` and ``fresh`` are never used while choosing them.
GROUPS = {"tuning": 0, "checking": 100, "tuning2": 200, "fresh": 300}
GROUP_ROLE = {"tuning": "tuning", "tuning2": "tuning", "checking": "checking", "fresh": "checking"}


def group_of(seed: int) -> str:
    """The seed group a seed belongs to (groups start at multiples of 100)."""
    return next(g for g, first in GROUPS.items() if first <= seed < first + 100)


def landscape(table: TableEvaluator, name: str) -> dict[str, float]:
    """Cell string -> score in percent, for one column of the table."""
    if name == "train":
        import csv

        with open(table.path, newline="") as f:
            return {r["arch_str"]: float(r["train-accuracy"]) for r in csv.DictReader(f)}
    col = LANDSCAPES[name]
    return {k: row[col] * 100.0 for k, row in table.rows.items()}


def run_strategy(name: str, knobs: dict, scores: dict[str, float], seed: int, budget: int):
    """One run of a registered strategy: the scores in proposal order and the unique count."""
    strategy = get_strategy(name)(get_space("nb201"), seed=seed, **knobs)

    def evaluate(arch: Architecture) -> Result:
        return Result(metrics={"accuracy": scores[arch_str(arch)] / 100.0})

    run = drive(strategy, budget, evaluate)
    return [r.metrics["accuracy"] * 100.0 for _, r in run], len({t.arch.key for t, _ in run})


def run_native(name: str, scores: dict[str, float], seed: int, budget: int):
    """One run of a native Optuna sampler or of numpy uniform sampling."""
    if name == "uniform":
        rng = np.random.default_rng(seed)
        picks = rng.integers(len(OPS), size=(budget, len(EDGE_NAMES)))
        cells = [arch_str(dict(zip(EDGE_NAMES, (OPS[i] for i in row)))) for row in picks]
        return [scores[c] for c in cells], len(set(cells))
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = (optuna.samplers.TPESampler if name == "tpe-native" else optuna.samplers.GPSampler)(
        seed=seed
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    out, cells = [], set()
    for _ in range(budget):
        trial = study.ask()
        cell = arch_str({e: trial.suggest_categorical(e, OPS) for e in EDGE_NAMES})
        cells.add(cell)
        out.append(scores[cell])
        study.tell(trial, scores[cell])
    return out, len(cells)


MULTI = {
    "nsga2": ("nsga2", {}),
    "random": ("random", {}),
    "optuna-nsga2": ("optuna", {"sampler": "nsga2"}),
}


def two_objective(table: TableEvaluator, seeds: int, budget: int) -> dict:
    """Hypervolume of the fronts found on (valid accuracy, training time), tuning seeds."""
    from archsearch.spaces.nb201 import from_arch_str

    from archsearch.pareto import hypervolume, pareto_mask

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
            strategy = get_strategy(name)(
                get_space("nb201"), objectives="accuracy,train_seconds:min", seed=seed, **knobs
            )
            F = np.array([point(r) for _, r in drive(strategy, budget, table)])
            hv.append(hypervolume(F, ref))
            sizes.append(int(pareto_mask(F).sum()))
        out[label] = {
            "hv_mean": float(np.mean(hv)),
            "hv_std": float(np.std(hv)),
            "front_size": float(np.mean(sizes)),
        }
    return out


def job(args: tuple) -> tuple:
    """One (method, landscape, seed) run, timed; runs in a worker process."""
    method, land, seed, budget, table_path, overrides = args
    scores = _scores(table_path, land)
    t0 = time.perf_counter()
    if method in NATIVE:
        curve, unique = run_native(method, scores, seed, budget)
    else:
        name, knobs = STRATEGIES[method]
        curve, unique = run_strategy(name, {**knobs, **overrides.get(method, {})}, scores, seed,
                                     budget)
    return method, land, seed, curve, unique, time.perf_counter() - t0


_CACHE: dict = {}


def _scores(table_path: str, land: str) -> dict[str, float]:
    if (table_path, land) not in _CACHE:
        _CACHE[table_path, land] = landscape(TableEvaluator(table_path), land)
    return _CACHE[table_path, land]


def main() -> None:
    """Run the benchmark and write its records."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default=None, help="NB201 CSV (default: $ARCHSEARCH_NB201_TABLE)")
    ap.add_argument("--seeds", type=int, default=20, help="seeds per group")
    ap.add_argument(
        "--limit",
        default="gp-native=3",
        help="fewer seeds per group for slow methods, e.g. gp-native=3,bananas=5",
    )
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--landscapes", default="valid,test")
    ap.add_argument("--groups", default="tuning,checking")
    ap.add_argument("--only", default=None, help="comma-separated methods (default: all)")
    ap.add_argument("--knobs", default="{}", help='JSON overrides: {"smbo": {"initial": 5}}')
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--runs-log", default=None, help="append every finished run to this JSONL")
    ap.add_argument("--from-runs", default=None, help="build the record from a --runs-log file")
    ap.add_argument("--note", action="append", default=[], help="a line for the record's notes")
    ap.add_argument("--no-multi", action="store_true", help="skip the two-objective part")
    ap.add_argument("--out", default="results/benchmarks/strategies")
    args = ap.parse_args()
    lands, groups = args.landscapes.split(","), args.groups.split(",")
    for name in lands:
        if name not in LANDSCAPES:
            ap.error(f"landscape {name!r} is not known; expected one of {', '.join(LANDSCAPES)}")
    for name in groups:
        if name not in GROUPS:
            ap.error(f"seed group {name!r} is not known; expected one of {', '.join(GROUPS)}")
    table = TableEvaluator(args.table)
    available = set(entries("strategy"))
    methods = [m for m in STRATEGIES if STRATEGIES[m][0] in available] + list(NATIVE)
    missing = [m for m in STRATEGIES if STRATEGIES[m][0] not in available]
    if args.only:
        wanted = args.only.split(",")
        bad = [m for m in wanted if m not in methods]
        if bad:
            ap.error(f"method(s) {', '.join(bad)} not known; expected from {', '.join(methods)}")
        methods = wanted
    overrides = json.loads(args.knobs)
    limits = {m: int(n) for m, n in (x.split("=") for x in args.limit.split(",") if x)}
    jobs = []
    for group in groups:
        for k in range(args.seeds):
            for land in lands:
                for m in methods:
                    if k >= limits.get(m, args.seeds):
                        continue
                    jobs.append((m, land, GROUPS[group] + k, args.budget, str(table.path),
                                 overrides))
    jobs.sort(key=lambda j: j[0] in limits)  # the slow ones last
    start = time.time()
    runs: dict = {}
    # Every finished run is also appended to a log, so a cut-short run can be inspected.
    log = Path(args.runs_log) if args.runs_log else Path(os.devnull)
    if args.from_runs:
        # Rebuild the record from a run log (e.g. of a run cut short): only the runs in it.
        done = [json.loads(line) for line in Path(args.from_runs).read_text().splitlines()]
        jobs = [j for j in jobs if any(j[:3] == tuple(d[:3]) for d in done)]
        methods = [m for m in methods if any(d[0] == m for d in done)]
        finished = iter(tuple(d) for d in done)
        log = Path(os.devnull)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool, open(log, "w") as f:
        results_iter = finished if args.from_runs else pool.map(job, jobs)
        for i, (m, land, seed, curve, unique, secs) in enumerate(results_iter):
            group = group_of(seed)
            runs.setdefault((land, group), {}).setdefault(m, []).append((curve, unique, secs))
            f.write(json.dumps([m, land, seed, curve, unique, secs]) + "\n")
            f.flush()
            if (i + 1) % 50 == 0:
                print(f"{i + 1}/{len(jobs)} runs ({time.time() - start:.0f}s)", flush=True)
    results: dict = {}
    for land in lands:
        values = np.sort(list(landscape(table, land).values()))[::-1]
        optimum, top1 = float(values[0]), float(values[len(values) // 100 - 1])
        for group in groups:
            rows = runs.get((land, group), {})
            block = {m: summarize(rows[m], top1, optimum, args.budget) for m in methods if m in rows}
            if not block:
                continue
            results[f"{land}/{group}"] = {
                "landscape": land,
                "group": group,
                "role": GROUP_ROLE[group],
                "seeds": [GROUPS[group], GROUPS[group] + args.seeds - 1],
                "optimum": optimum,
                "top1_threshold": top1,
                "methods": block,
            }
    _p_values(results, runs)
    record = {
        "benchmark": "strategies",
        "table": Path(table.path).name,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared, noisy)",
        "python": platform.python_version(),
        "seeds_per_group": args.seeds,
        "seeds_limited": limits,
        "budget": args.budget,
        "jobs": args.jobs,
        "knob_overrides": overrides,
        "from_runs": bool(args.from_runs),
        "notes": args.note,
        "not_registered": missing,
        "results": results,
    }
    if not args.no_multi:
        record["two_objective"] = two_objective(table, args.seeds, args.budget)
    record["wall_s"] = time.time() - start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(record))
    print(markdown(record))


def _p_values(results: dict, runs: dict) -> None:
    """Two-sided Mann-Whitney U p-values against tpe-native, per landscape and group."""
    from scipy.stats import mannwhitneyu

    for block in results.values():
        methods = block["methods"]
        ref = methods.get("tpe-native")
        if ref is None:
            continue
        for row in methods.values():
            for key in ("final", "first"):
                a, b = np.array(row[f"_{key}"]), np.array(ref[f"_{key}"])
                same = np.allclose(a, a[0]) and np.allclose(b, a[0])
                row[f"p_{key}"] = 1.0 if same else float(mannwhitneyu(a, b).pvalue)
        for row in methods.values():
            row["best@150_per_seed"] = row.pop("_final")
            row["evals_to_top1_per_seed"] = row.pop("_first")


if __name__ == "__main__":
    main()
