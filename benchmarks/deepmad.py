"""DeepMAD solve time, peak memory and objective against the published networks.

Shen et al., "DeepMAD" (CVPR 2023). For the ResNet-18/34/50 budgets (rho0 0.3, the reference
code's last-three-depths penalty) and the depthwise 29M/50M/89M budgets (rho0 0.5, all depths)
this solves the program with :func:`archsearch.solvers.deepmad.optimize` and records, per budget:
the wall time of the solve (median of ``--repeat`` runs in a process that has imported the
solver: cvxpy import excluded, problem compilation included), the peak Python heap during one
more solve (under tracemalloc, untimed) and the process's max RSS (each budget runs in a fresh subprocess), the
objective reached, the proved bound and the bound at the solution's depths, FLOPs / params /
rho checked by the ``cnn`` space's own counter, and the published network's objective under
the same formula (:mod:`archsearch.solvers.deepmad.published`).

Writes ``results/benchmarks/deepmad.json`` and ``deepmad.md``. About a minute on a quiet
2-core machine: ``python benchmarks/deepmad.py [--repeat 3] [--time-limit 0.8] [--only r50]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

BUDGETS = {
    "r18": ("deepmad-r18", "resnet"),
    "r34": ("deepmad-r34", "resnet"),
    "r50": ("deepmad-r50", "resnet"),
    "29m": ("deepmad-29m", "mbconv"),
    "50m": ("deepmad-50m", "mbconv"),
    "89m": ("deepmad-89m", "mbconv"),
}


def measure(name: str, repeat: int, time_limit: float) -> dict:
    """Solve one budget ``repeat`` times in this process; the record of the last solve."""
    from archsearch.solvers.deepmad import Objective, evaluate, optimize, to_spec
    from archsearch.solvers.deepmad.published import PUBLISHED
    from archsearch.spaces.cnn import complexity

    pub_name, family = BUDGETS[name]
    pub = PUBLISHED[pub_name]
    kw = dict(depth_penalty=pub.depth_penalty, time_limit=time_limit)
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        sol = optimize(pub.flops, pub.params, family, pub.rho0, **kw)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    # one more solve under tracemalloc (which slows Python down) for the peak heap
    tracemalloc.start()
    optimize(pub.flops, pub.params, family, pub.rho0, **kw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    obj = Objective(rho0=pub.rho0, depth_penalty=pub.depth_penalty)
    cx = complexity(to_spec(sol.structure), count_bias=False)
    published = evaluate(pub.structure, obj)
    pub_cx = complexity(to_spec(pub.structure), count_bias=False)
    return {
        "budget": name,
        "family": family,
        "flops_budget": pub.flops,
        "params_budget": pub.params,
        "rho0": pub.rho0,
        "depth_penalty": pub.depth_penalty,
        "seconds": times,
        "seconds_median": statistics.median(times),
        "cpu_seconds": cpu,
        "cpu_seconds_median": statistics.median(cpu),
        "peak_python_heap_mb": peak / 2**20,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "depth_bound": sol.stats["depth_bound"],
        "depth_gap": (sol.stats["depth_bound"] - sol.objective) / abs(sol.objective),
        "nodes": sol.stats["nodes"],
        "relaxations": sol.stats["relaxations"],
        "flops": cx["flops"],
        "params": cx["params"],
        "rho": sol.rho,
        "feasible": cx["flops"] <= pub.flops
        and cx["params"] <= pub.params
        and sol.rho <= pub.rho0,
        "structure": sol.structure.describe(),
        "published": pub_name,
        "published_objective": published.objective,
        "published_flops": pub_cx["flops"],
        "published_params": pub_cx["params"],
        "published_rho": published.rho,
        "beats_published": sol.objective >= published.objective,
    }


def markdown(records: list[dict], meta: dict) -> str:
    """The record as a Markdown table."""
    lines = [
        "# DeepMAD: solve time and objective vs the published networks",
        "",
        f"Machine: {meta['machine']}; load average at start {meta['loadavg']}. "
        "The machine was shared by other jobs while this ran: times are noisy upper bounds; "
        "re-run `python benchmarks/deepmad.py` on a quiet machine.",
        "",
        "Objective, FLOPs (multiply-adds of convs and linears at 224x224) and params as defined "
        "in `solvers/deepmad/solver.py`; ResNet budgets use the reference code's last-three-depths "
        "penalty, the depthwise budgets all depths. `proved bound`: upper bound on the whole "
        "program's optimum when the CPU-time limit stopped the branch and bound (gap = "
        "(bound - objective) / objective); `bound@L`: bound over all widths, bottlenecks and "
        "kernels at the solution's own depths. Times: median of the repeats, wall clock and "
        "process CPU (the solver is single-threaded; the time limit counts CPU seconds).",
        "",
        "| budget | wall s | CPU s | peak heap MB | max RSS MB | objective | published | "
        "proved bound (gap) | bound@L | FLOPs | params | rho | feasible |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['budget']} ({r['flops_budget']:.3g} / {r['params_budget']:.4g}, "
            f"rho0 {r['rho0']}) | {r['seconds_median']:.2f} | {r['cpu_seconds_median']:.2f} | "
            f"{r['peak_python_heap_mb']:.1f} | "
            f"{r['max_rss_mb']:.0f} | {r['objective']:.1f} | {r['published_objective']:.1f} | "
            f"{r['bound']:.1f} ({r['gap']:.1%}) | {r['depth_bound']:.1f} | "
            f"{r['flops'] / 1e9:.3f} G | {r['params'] / 1e6:.2f} M | {r['rho']:.4f} | "
            f"{'yes' if r['feasible'] else 'NO'} |"
        )
    lines += ["", "Solved structures (stem | in->out bottleneck kernel stride depth | head):", ""]
    lines += [f"- {r['budget']}: {r['structure']}" for r in records]
    lines += ["", "Published structures' FLOPs / params under the same counting:", ""]
    lines += [
        f"- {r['published']}: {r['published_flops'] / 1e9:.3f} G, "
        f"{r['published_params'] / 1e6:.2f} M, rho {r['published_rho']:.4f}"
        for r in records
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run every budget in its own subprocess and write the records."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=0.8)
    ap.add_argument("--only", choices=sorted(BUDGETS), action="append")
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "results" / "benchmarks")
    )
    ap.add_argument("--one", choices=sorted(BUDGETS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.repeat, args.time_limit)))
        return
    records = []
    meta = {
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "repeat": args.repeat,
        "time_limit": args.time_limit,
    }
    for name in args.only or list(BUDGETS):
        cmd = [
            sys.executable,
            __file__,
            "--one",
            name,
            "--repeat",
            str(args.repeat),
            "--time-limit",
            str(args.time_limit),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rec = json.loads(out.strip().splitlines()[-1])
        records.append(rec)
        print(
            f"{name}: {rec['seconds_median']:.2f} s ({rec['cpu_seconds_median']:.2f} CPU s), "
            f"objective {rec['objective']:.1f} (published {rec['published_objective']:.1f}), "
            f"proved gap {rec['gap']:.2%}, feasible {rec['feasible']}"
        )
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "deepmad.json").write_text(
        json.dumps({"meta": meta, "records": records}, indent=2) + "\n"
    )
    (out_dir / "deepmad.md").write_text(markdown(records, meta))
    print(f"wrote {out_dir / 'deepmad.json'} and deepmad.md")


if __name__ == "__main__":
    main()
