"""DeepMAD in the published problem and the relaxed one, against the published networks.

Shen et al., "DeepMAD" (CVPR 2023). For the six budgets of the released configs (ResNet-like
R18 / R34 / R50: rho0 0.3, the released code's last-three-depths penalty; depthwise 29M / 50M
/ 89M: rho0 0.5, all depths, the configs' head conv 1792 / 2048 / 2560) this solves the program
with :func:`archsearch.solvers.deepmad.optimize` twice, ``bounds="published"`` (the released
code's search space and counting, the default) and ``bounds="relaxed"`` (the wider space), at
the default node budget, and records per run: the objective, the published network's
objective under the same formula, the proved bound and gap, FLOPs / params / rho of the design
counted the released code's way (whatever the space; feasible means within the budgets under
that counting), the solver's time (the first solve in a fresh single-threaded process, wall and
CPU, and the median of ``--repeat`` more), and the whole ``archsearch design deepmad`` command's
wall time (a subprocess; imports included, measured alone as ``import_seconds``).

Writes ``results/benchmarks/deepmad.json`` and ``deepmad.md``. A few minutes on a loaded
2-core machine: ``python benchmarks/deepmad.py [--repeat 3] [--only r50]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGETS = {
    "r18": ("deepmad-r18", None),
    "r34": ("deepmad-r34", None),
    "r50": ("deepmad-r50", None),
    "29m": ("deepmad-29m", 1792),
    "50m": ("deepmad-50m", 2048),
    "89m": ("deepmad-89m", 2560),
}
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def released_counts(structure, resolution: int = 224) -> tuple[float, float]:
    """FLOPs and params of any structure counted the released code's way."""
    from archsearch.solvers.deepmad import FAMILIES, Objective
    from archsearch.solvers.deepmad.model import Model

    fam = dataclasses.replace(
        FAMILIES[structure.family],
        strides=structure.strides,
        head_bounds=(structure.head, structure.head) if structure.head else None,
    )
    m = Model(fam, Objective(rho0=fam.rho0, resolution=resolution))
    ev = m.evaluate(*m.to_vector(structure))
    return float(ev["flops"][0]), float(ev["params"][0])


def measure(name: str, bounds: str, repeat: int) -> dict:
    """Solve one budget under ``bounds`` in this (fresh) process; its record."""
    import archsearch.solvers.deepmad.program  # noqa: F401  (cvxpy: imports are not solving)
    from archsearch.solvers.deepmad import Objective, evaluate, optimize
    from archsearch.solvers.deepmad.published import PUBLISHED

    pub_name, head = BUDGETS[name]
    pub = PUBLISHED[pub_name]
    family = pub.structure.family
    kw = dict(depth_penalty=pub.depth_penalty, bounds=bounds)
    if bounds == "published":
        kw["head"] = head
    t0, c0 = time.perf_counter(), time.process_time()
    sol = optimize(pub.flops, pub.params, family, pub.rho0, **kw)
    first = (time.perf_counter() - t0, time.process_time() - c0)
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        again = optimize(pub.flops, pub.params, family, pub.rho0, **kw)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert again.structure == sol.structure  # one budget, one result
    obj = Objective(rho0=pub.rho0, depth_penalty=pub.depth_penalty)
    flops, params = released_counts(sol.structure)
    published = evaluate(pub.structure, obj)
    pub_flops, pub_params = released_counts(pub.structure)
    return {
        "budget": name,
        "bounds": bounds,
        "family": family,
        "flops_budget": pub.flops,
        "params_budget": pub.params,
        "rho0": pub.rho0,
        "depth_penalty": pub.depth_penalty,
        "head": head if bounds == "published" else None,
        "max_nodes": sol.stats["max_nodes"],
        "relaxations": sol.stats["relaxations"],
        "nodes": sol.stats["nodes"],
        "stopped_by": sol.stats["stopped_by"],
        "solver_seconds_first": first[0],
        "solver_cpu_seconds_first": first[1],
        "solver_seconds_median": statistics.median(times) if times else None,
        "solver_cpu_seconds_median": statistics.median(cpu) if cpu else None,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "solver_counting": sol.stats["counting"],
        "solver_flops": sol.flops,
        "solver_params": sol.params,
        "flops": flops,
        "params": params,
        "rho": sol.rho,
        "feasible_released": flops <= pub.flops and params <= pub.params and sol.rho <= pub.rho0,
        "structure": sol.structure.describe(),
        "published": pub_name,
        "published_objective": published.objective,
        "published_flops": pub_flops,
        "published_params": pub_params,
        "published_rho": published.rho,
        "over_published": sol.objective / published.objective - 1,
    }


def command_seconds(name: str, bounds: str) -> float:
    """Wall time of the whole ``archsearch design deepmad`` command for one budget."""
    pub_name, head = BUDGETS[name]
    from archsearch.solvers.deepmad.published import PUBLISHED

    pub = PUBLISHED[pub_name]
    exe = str(Path(sys.executable).with_name("archsearch"))
    cmd = [exe, "design", "deepmad", "--flops", repr(pub.flops), "--params", repr(pub.params)]
    cmd += ["--family", pub.structure.family, "--bounds", bounds]
    cmd += ["--depth-penalty", pub.depth_penalty]
    if bounds == "published" and head:
        cmd += ["--head", str(head)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - t0


def import_seconds() -> float:
    """Wall time of a process that only imports what ``design`` imports (CLI and solver)."""
    code = "import archsearch.cli, archsearch.solvers.deepmad.program"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=ENV)
    return time.perf_counter() - t0


def markdown(records: list[dict], meta: dict) -> str:
    """The record as Markdown tables."""
    lines = [
        "# DeepMAD: the published problem and the relaxed one vs the published networks",
        "",
        f"Machine: {meta['machine']}; load average {meta['loadavg_start']} at start, "
        f"{meta['loadavg_end']} at the end (a shared machine: times are upper bounds). One "
        f"thread. Node budget {meta['max_nodes']} relaxations (the default); no time limit.",
        "",
        "Objective: the paper's formula with true resolutions (solvers/deepmad/solver.py). "
        "FLOPs / params: counted the released code's way for every row (conv MACs + BN + "
        "activation + shortcut-pool adds; params with BN and SE sized 0.25 x bottleneck, no "
        "classifier); the relaxed designs were solved under the cnn space's counting (SE on the "
        "block input, classifier included) and are re-counted here, so `feasible` says whether "
        "they meet the budgets under the released counting. `vs published`: the objective over "
        "the published network's. Solver s: the first solve in a fresh process (wall / CPU; "
        "problem compilation included, imports not) and the median of repeated solves; "
        f"command s: the whole `archsearch design deepmad` (imports alone: "
        f"{meta['import_seconds']:.2f} s).",
        "",
        "| budget | bounds | objective | published | vs published | proved gap | GFLOPs | "
        "M params | rho | feasible | solver s first (CPU) | solver s median (CPU) | "
        "command s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        med = (
            f"{r['solver_seconds_median']:.2f} ({r['solver_cpu_seconds_median']:.2f})"
            if r["solver_seconds_median"] is not None
            else "-"
        )
        lines.append(
            f"| {r['budget']} ({r['flops_budget'] / 1e9:.3g} G / {r['params_budget'] / 1e6:.4g} M"
            f", rho0 {r['rho0']}) | {r['bounds']} | {r['objective']:.1f} | "
            f"{r['published_objective']:.1f} | {r['over_published']:+.1%} | {r['gap']:.1%} | "
            f"{r['flops'] / 1e9:.3f} | {r['params'] / 1e6:.2f} | {r['rho']:.4f} | "
            f"{'yes' if r['feasible_released'] else 'NO'} | "
            f"{r['solver_seconds_first']:.2f} ({r['solver_cpu_seconds_first']:.2f}) | {med} | "
            f"{r['command_seconds']:.2f} |"
        )
    lines += ["", "Published networks under the same counting:", ""]
    seen = set()
    for r in records:
        if r["published"] in seen:
            continue
        seen.add(r["published"])
        lines.append(
            f"- {r['published']}: objective {r['published_objective']:.1f}, "
            f"{r['published_flops'] / 1e9:.3f} GFLOPs, {r['published_params'] / 1e6:.2f} M "
            f"params, rho {r['published_rho']:.4f}"
        )
    lines += ["", "Designs (stem | in->out bottleneck kernel stride depth | head):", ""]
    lines += [f"- {r['budget']} {r['bounds']}: {r['structure']}" for r in records]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run every budget and bounds in its own subprocess and write the records."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--only", choices=sorted(BUDGETS), action="append")
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "results" / "benchmarks")
    )
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            print(json.dumps(measure(args.one[0], args.one[1], args.repeat)))
        return
    from archsearch.solvers.deepmad.solver import optimize

    meta = {
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "loadavg_start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "repeat": args.repeat,
        "max_nodes": optimize.__kwdefaults__["max_nodes"],
        "import_seconds": import_seconds(),
    }
    records = []
    for name in args.only or list(BUDGETS):
        for bounds in ("published", "relaxed"):
            cmd = [sys.executable, __file__, "--one", name, bounds, "--repeat", str(args.repeat)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=ENV)
            rec = json.loads(out.stdout.strip().splitlines()[-1])
            rec["command_seconds"] = command_seconds(name, bounds)
            records.append(rec)
            print(
                f"{name} {bounds}: objective {rec['objective']:.1f} (published "
                f"{rec['published_objective']:.1f}, {rec['over_published']:+.1%}), gap "
                f"{rec['gap']:.1%}, feasible {rec['feasible_released']}, solver "
                f"{rec['solver_cpu_seconds_first']:.2f} CPU s, command "
                f"{rec['command_seconds']:.2f} s",
                flush=True,
            )
    meta["loadavg_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "deepmad.json").write_text(
        json.dumps({"meta": meta, "records": records}, indent=2) + "\n"
    )
    (out_dir / "deepmad.md").write_text(markdown(records, meta))
    print(f"wrote {out_dir / 'deepmad.json'} and deepmad.md")


if __name__ == "__main__":
    main()
