"""``archsearch design deepmad``: solve the DeepMAD program for a FLOPs / params budget on CPU.

``archsearch design deepmad --flops 4.13e9 --params 25.55e6 [--family resnet|mbconv]
[--rho 0.3] [--resolution 224] [--depth-penalty all|last3] [--time-limit 0.8] [--out FILE]``
prints the solved structure stage by stage with FLOPs, params, the effectiveness rho, the
objective and the bound proved, and writes the network as an Architecture of the ``cnn`` space.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from archsearch.solvers.deepmad.solver import DEPTH_PENALTIES, FAMILIES

from archsearch.commands._argtypes import positive

if TYPE_CHECKING:
    from archsearch.solvers.deepmad.solver import Solution


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``design`` subcommand (solver ``deepmad``)."""
    p = subparsers.add_parser(
        "design",
        help="design a CNN for a FLOPs/params budget by mathematical programming (DeepMAD)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("solver", choices=["deepmad"], help="the design solver")
    p.add_argument("--flops", type=positive, required=True, help="FLOPs (multiply-adds) budget")
    p.add_argument("--params", type=positive, required=True, help="parameter budget")
    p.add_argument("--family", choices=sorted(FAMILIES), default="resnet", help="block family")
    p.add_argument(
        "--rho", type=positive, help="effectiveness bound rho0 (default: 0.3 resnet, 0.5 mbconv)"
    )
    p.add_argument("--resolution", type=int, default=224, help="design resolution (default 224)")
    p.add_argument(
        "--depth-penalty",
        choices=DEPTH_PENALTIES,
        default="all",
        help="depths in the std penalty: all entries, or the last three (reference ResNet rule)",
    )
    p.add_argument("--classes", type=int, default=1000, help="classifier outputs (default 1000)")
    p.add_argument(
        "--time-limit", type=positive, default=0.8, help="seconds for the branch and bound"
    )
    p.add_argument("--out", metavar="FILE", help="write the Architecture JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Solve and print; the handler of ``archsearch design``."""
    from archsearch.solvers.deepmad.solver import optimize

    if args.resolution < 32:
        raise ValueError(f"--resolution must be >= 32 (five halvings), got {args.resolution}")
    if args.classes < 1:
        raise ValueError(f"--classes must be >= 1, got {args.classes}")
    sol = optimize(
        args.flops,
        args.params,
        args.family,
        args.rho,
        args.resolution,
        depth_penalty=args.depth_penalty,
        num_classes=args.classes,
        time_limit=args.time_limit,
    )
    print(report(sol))
    if args.out:
        sol.arch.save(args.out)
        print(f"wrote {args.out}")
    return 0


def report(sol: Solution) -> str:
    """The stage-by-stage table and the summary lines of a :class:`Solution`."""
    s = sol.structure
    st = sol.stats
    res = int(sol.budget["resolution"])
    lines = [
        f"DeepMAD {s.family} design at {res}x{res}: budgets FLOPs {sol.budget['flops']:.4g}, "
        f"params {sol.budget['params']:.4g}, rho0 {sol.budget['rho0']:g}",
        f"{'stage':<8}{'in->out':>12}{'btn':>6}{'k':>3}{'s':>3}{'L':>4}{'out res':>9}"
        f"{'FLOPs':>14}{'params':>13}",
    ]
    r = (res - 1) // 2 + 1
    lines.append(
        f"{'stem':<8}{f'3->{s.stem}':>12}{'-':>6}{3:>3}{2:>3}{1:>4}{r:>9}"
        f"{st['flops_by'][0]:>14,}{st['params_by'][0]:>13,}"
    )
    for j, (c, w, b, k, stride, d) in enumerate(s.entries()):
        r = (r - 1) // stride + 1
        lines.append(
            f"{f'stage{j + 1}':<8}{f'{c}->{w}':>12}{b:>6}{k:>3}{stride:>3}{d:>4}{r:>9}"
            f"{st['flops_by'][j + 1]:>14,}{st['params_by'][j + 1]:>13,}"
        )
    head = f"{s.widths[-1]}->{s.head}" if s.head else "fc"
    lines.append(
        f"{'head':<8}{head:>12}{'':>6}{'':>3}{'':>3}{'':>4}{1:>9}"
        f"{st['flops_by'][-1]:>14,}{st['params_by'][-1]:>13,}"
    )
    lines += [
        f"FLOPs {sol.flops:,} ({sol.flops / sol.budget['flops']:.1%} of budget), params "
        f"{sol.params:,} ({sol.params / sol.budget['params']:.1%}), rho {sol.rho:.4f} "
        f"<= {sol.budget['rho0']:g}, {st['layers']} layers",
        "entropy a_i H_i per level: "
        + ", ".join(f"{h:.1f}" for h in st["weighted_entropy"])
        + f"; depth penalty {st['penalty']:.1f}",
        f"objective {sol.objective:.1f}; proved bound {sol.bound:.1f} (gap {sol.gap:.1%}); "
        f"bound at these depths {st['depth_bound']:.1f} "
        f"(gap {(st['depth_bound'] - sol.objective) / abs(sol.objective):.2%}); "
        f"{st['seconds']:.2f} s ({st['cpu_seconds']:.2f} CPU s), {st['nodes']} nodes, {st['relaxations']} relaxations",
    ]
    return "\n".join(lines)
