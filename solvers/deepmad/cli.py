"""``archsearch design deepmad``: solve the DeepMAD program for a FLOPs / params budget on CPU.

``archsearch design deepmad --flops 4.13e9 --params 25.55e6 [--family resnet|mbconv]
[--bounds published|relaxed] [--nodes 40] [--time-limit S] [--rho 0.3] [--resolution 224]
[--depth-penalty all|last3] [--head 1792] [--out FILE]`` prints the solved structure stage by
stage with FLOPs, params, the effectiveness rho, the objective and the bound proved, and writes
the network as an Architecture of the ``cnn`` space. The default problem is the published one:
the released code's search space, counted the way the released code counts.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

from archsearch.solvers.deepmad.solver import (
    BOUNDS,
    DEPTH_PENALTIES,
    FAMILIES,
    MAX_BUDGET,
    RELEASED_HEADS,
)

if TYPE_CHECKING:
    from archsearch.solvers.deepmad.solver import Solution

#: what each counting means, printed with the design
COUNTING = {
    "released": "FLOPs and params as the released DeepMAD code counts them: conv multiply-adds "
    "+ 2 per BN and 1 per activation output + shortcut pool adds (no SE, no FC); params of "
    "convs, BN and SE (SE width 0.25 x bottleneck, released rounding), no classifier",
    "cnn": "FLOPs and params as the cnn space counts them: conv and linear multiply-adds; "
    "params with BN and the classifier; SE width 0.25 x block input",
}


def budget(text: str) -> float:
    """A finite budget in (0, MAX_BUDGET]; argparse's usage error names the value otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_BUDGET):
        raise argparse.ArgumentTypeError(
            f"expected a finite number in (0, {MAX_BUDGET:.0e}], got {text!r}"
        )
    return value


def _int_range(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = lo - 1
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"expected an integer in [{lo}, {hi}], got {text!r}")
        return value

    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``design`` subcommand (solver ``deepmad``)."""
    p = subparsers.add_parser(
        "design",
        help="design a CNN for a FLOPs/params budget by mathematical programming (DeepMAD)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("solver", choices=["deepmad"], help="the design solver")
    p.add_argument("--flops", type=budget, required=True, help="FLOPs budget")
    p.add_argument("--params", type=budget, required=True, help="parameter budget")
    p.add_argument("--family", choices=sorted(FAMILIES), default="resnet", help="block family")
    p.add_argument(
        "--bounds",
        choices=BOUNDS,
        default="published",
        help="published: the released code's space and counting (default); relaxed: a wider "
        "space (stem to 64, free bottlenecks, SE on the block input), the cnn space's counting",
    )
    p.add_argument(
        "--nodes",
        type=_int_range(1, 100_000),
        default=40,
        help="search budget: relaxations solved (default 40); one result per command",
    )
    p.add_argument(
        "--time-limit",
        type=budget,
        metavar="S",
        help="also stop after S CPU seconds (off by default: the result then depends on speed)",
    )
    p.add_argument("--rho", type=budget, help="effectiveness bound rho0 (default 0.3 / 0.5)")
    p.add_argument(
        "--resolution", type=_int_range(32, 4096), default=224, help="design resolution"
    )
    p.add_argument(
        "--head",
        type=_int_range(8, 100_000),
        help=f"mbconv, published bounds: the fixed head conv width (default {RELEASED_HEADS[0]}; "
        f"the released configs use {', '.join(map(str, RELEASED_HEADS))})",
    )
    p.add_argument(
        "--depth-penalty",
        choices=DEPTH_PENALTIES,
        default="all",
        help="depths in the std penalty: all entries, or the last three (reference ResNet rule)",
    )
    p.add_argument(
        "--classes", type=_int_range(1, 1_000_000), default=1000, help="classifier outputs"
    )
    p.add_argument("--out", metavar="FILE", help="write the Architecture JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Solve and print; the handler of ``archsearch design``."""
    from archsearch.solvers.deepmad.solver import family_template, optimize

    if args.head is not None and (args.family != "mbconv" or args.bounds != "published"):
        raise ValueError(
            f"--head {args.head} is for --family mbconv with --bounds published (the relaxed "
            "space searches the head)"
        )
    if args.head is not None and args.head % 8:
        raise ValueError(f"--head {args.head} must be a multiple of 8")
    fam = family_template(args.family, args.bounds, args.head)
    sol = optimize(
        args.flops,
        args.params,
        args.family,
        args.rho,
        args.resolution,
        depth_penalty=args.depth_penalty,
        num_classes=args.classes,
        max_nodes=args.nodes,
        time_limit=args.time_limit,
        template=fam,
    )
    print(report(sol))
    if args.out:
        sol.arch.save(args.out)
        print(f"wrote {args.out}")
    return 0


def _num(x: float) -> str:
    """Whole numbers as integers (sums carry exp/log round-off), quarter-FLOPs with decimals."""
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-3 else f"{x:,.2f}"


def report(sol: Solution) -> str:
    """The stage-by-stage table and the summary lines of a :class:`Solution`."""
    s = sol.structure
    st = sol.stats
    res = int(sol.budget["resolution"])
    fl, pa = st["flops_by"], st["params_by"]
    wf = max(14, *(len(_num(x)) for x in fl)) + 1
    wp = max(13, *(len(_num(x)) for x in pa)) + 1
    lines = [
        f"DeepMAD {s.family} design at {res}x{res}, {st['bounds']} bounds"
        + (
            " (the released code's search space)"
            if st["bounds"] == "published"
            else " (wider than the released code's space)"
        )
        + f": budgets FLOPs {sol.budget['flops']:.4g}, params {sol.budget['params']:.4g}, "
        f"rho0 {sol.budget['rho0']:g}",
        f"counting: {COUNTING[st['counting']]}",
        f"{'stage':<8}{'in->out':>12}{'btn':>6}{'k':>3}{'s':>3}{'L':>4}{'out res':>9}"
        f"{'FLOPs':>{wf}}{'params':>{wp}}",
    ]
    r = (res - 1) // 2 + 1
    lines.append(
        f"{'stem':<8}{f'3->{s.stem}':>12}{'-':>6}{3:>3}{2:>3}{1:>4}{r:>9}"
        f"{_num(fl[0]):>{wf}}{_num(pa[0]):>{wp}}"
    )
    for j, (c, w, b, k, stride, d) in enumerate(s.entries()):
        r = (r - 1) // stride + 1
        lines.append(
            f"{f'stage{j + 1}':<8}{f'{c}->{w}':>12}{b:>6}{k:>3}{stride:>3}{d:>4}{r:>9}"
            f"{_num(fl[j + 1]):>{wf}}{_num(pa[j + 1]):>{wp}}"
        )
    head = f"{s.widths[-1]}->{s.head}" if s.head else "fc"
    lines.append(
        f"{'head':<8}{head:>12}{'':>6}{'':>3}{'':>3}{'':>4}{r if s.head else 1:>9}"
        f"{_num(fl[-1]):>{wf}}{_num(pa[-1]):>{wp}}"
    )
    gap_l = (st["depth_bound"] - sol.objective) / abs(sol.objective)
    lines += [
        f"FLOPs {_num(sol.flops)} ({sol.flops / sol.budget['flops']:.1%} of budget), params "
        f"{_num(sol.params)} ({sol.params / sol.budget['params']:.1%}), rho {sol.rho:.4f} "
        f"<= {sol.budget['rho0']:g}, {st['layers']} layers",
        "entropy a_i H_i per level: "
        + ", ".join(f"{h:.1f}" for h in st["weighted_entropy"])
        + f"; depth penalty {st['penalty']:.1f}",
        f"objective {sol.objective:.1f}; proved bound {sol.bound:.1f} (gap {sol.gap:.1%}); "
        f"bound at these depths {st['depth_bound']:.1f} (gap {gap_l:.2%})",
        f"search: {st['relaxations']} relaxations ({st['nodes']} nodes), stopped by "
        f"{st['stopped_by']}; {st['seconds']:.2f} s ({st['cpu_seconds']:.2f} CPU s)",
    ]
    return "\n".join(lines)
