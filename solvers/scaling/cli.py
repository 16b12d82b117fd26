"""``archsearch scale``: compound-scale a found network (Dollar et al., CVPR 2021), as pycls does.

``archsearch scale --arch FILE|RUN|NAME --factor 4 [--alpha 0.8 | --strategy dWr] [--out FILE]
[--compare]`` prints the scaled structure with FLOPs, params and activations (absolute and as
ratios to the base); ``--compare`` prints w, dw, dr, dwr and dWr side by side. A ``cnn``
architecture is scaled stage by stage; any other space is scaled through its ``cells`` and
``filters`` options (NASNet's N and F, given with ``--space-opt``) and ``--resolution``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from archsearch.arch import Architecture
from archsearch.cli import key_value

#: the largest flop factor (as :data:`archsearch.solvers.scaling.solver.MAX_FACTOR`, kept here
#: so that parsing the command line imports no solver)
MAX_FACTOR = 1000.0


def factor_type(text: str) -> float:
    """A flop factor in (0, MAX_FACTOR]; argparse's usage error names the value otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_FACTOR:
        raise argparse.ArgumentTypeError(f"expected a number in (0, {MAX_FACTOR:g}], got {text!r}")
    return value


def resolution_type(text: str) -> int:
    """An input size in [8, 4096]."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 8 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"expected an integer in [8, 4096], got {text!r}")
    return value


def alpha_value(text: str) -> float:
    """Width's flop share in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``scale`` subcommand."""
    p = subparsers.add_parser(
        "scale",
        help="compound-scale a network's FLOPs by a factor (fast dWr scaling, as pycls)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument(
        "--arch",
        required=True,
        metavar="FILE|RUN|NAME",
        help="architecture JSON, a run's best.json or folder, or a reference network "
        "(regnety-400mf, regnety-4.0gf, efficientnet-b0)",
    )
    p.add_argument(
        "--factor", type=factor_type, required=True, help=f"flop multiplier s (<= {MAX_FACTOR:g})"
    )
    p.add_argument(
        "--alpha", type=alpha_value, default=0.8, help="width's flop share (default 0.8)"
    )
    p.add_argument(
        "--strategy",
        metavar="NAME|TYPE",
        help="w, wg, dw, dwg, dr, dwr, dwgr (pycls's letter types: a g scales the group width), "
        "dWr (= d1_w8_g8_r1) or any pycls type (overrides --alpha)",
    )
    p.add_argument("--out", metavar="FILE", help="write the scaled architecture JSON here")
    p.add_argument("--compare", action="store_true", help="table of w, dw, dr, dwr, dWr")
    p.add_argument("--classes", type=int, default=1000, help="classifier outputs (default 1000)")
    p.add_argument(
        "--space-opt",
        action="append",
        type=key_value,
        metavar="K=V",
        help="option of a non-cnn space, e.g. cells=6 filters=96 for nasnet (repeatable)",
    )
    p.add_argument(
        "--resolution", type=resolution_type, help="input size of a non-cnn base (default 32)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Scale and print; the handler of ``archsearch scale``."""
    from archsearch.solvers.scaling.report import load_base
    from archsearch.solvers.scaling.solver import parse_type

    if not 1 <= args.classes <= 1_000_000:
        raise ValueError(f"--classes must be in [1, 1000000], got {args.classes}")
    if args.strategy is not None:
        from archsearch.solvers.scaling.solver import NAMED

        parse_type(NAMED.get(args.strategy, args.strategy))
    base = load_base(args.arch)
    if base.space == "cnn":
        if args.resolution is not None:
            raise ValueError(
                f"--resolution {args.resolution} is for bases of other spaces; a cnn "
                "architecture carries its own resolution (it is scaled with the network)"
            )
        if args.space_opt:
            raise ValueError("--space-opt is for bases of other spaces, not a cnn architecture")
        return _run_cnn(base, args)
    return _run_dims(base, args)


def _banner(args: argparse.Namespace) -> str:
    from archsearch.solvers.scaling.solver import NAMED, alpha_type, factors

    code = (
        alpha_type(args.alpha)
        if args.strategy is None
        else NAMED.get(args.strategy, args.strategy)
    )
    name = args.strategy or f"alpha={args.alpha:g}"
    f = factors(args.factor, args.strategy, args.alpha)
    return (
        f"scaling {name} (pycls type {code}) by {args.factor:g}: depth x{f.d:.4f}, "
        f"width x{f.w:.4f}, "
        f"group width x{f.g:.4f}, resolution x{f.r:.4f}"
    )


def _run_cnn(base: Architecture, args: argparse.Namespace) -> int:
    from archsearch.solvers.scaling.report import (
        COMPARED,
        as_spec,
        compare_table,
        complexity_table,
        describe,
        row,
    )
    from archsearch.solvers.scaling.solver import scale
    from archsearch.spaces.cnn.space import decode

    spec = as_spec(base)
    if args.compare:
        rows = [row(spec, args.factor, s, classes=args.classes) for s in COMPARED]
        print(f"base: {args.arch}, factor {args.factor:g}")
        print(compare_table(rows))
        return 0
    scaled = scale(base, args.factor, args.alpha, strategy=args.strategy)
    print(_banner(args))
    print(describe(decode(scaled)))
    print(complexity_table(spec, decode(scaled), args.classes))
    if args.out:
        scaled.save(args.out)
        print(f"wrote {args.out}")
    return 0


def _run_dims(base: Architecture, args: argparse.Namespace) -> int:
    import inspect

    from archsearch.solvers.scaling.report import COMPARED
    from archsearch.solvers.scaling.solver import scale

    from archsearch.registry import get_space, lookup
    from archsearch.space import Task

    params = inspect.signature(lookup("space", base.space)).parameters
    if not {"cells", "filters"} <= set(params):
        raise ValueError(
            f"architecture of space '{base.space}' cannot be scaled: scaling needs a cnn "
            f"architecture or a space with cells and filters options (such as nasnet); "
            f"'{base.space}' has neither"
        )
    options = dict(args.space_opt or [])
    dims = {k: options.get(k, base.get(k)) for k in ("cells", "filters")}
    dims["resolution"] = args.resolution or base.get("resolution") or 32
    if None in dims.values():
        raise ValueError(
            f"architecture of space '{base.space}' has no scalable dimensions: give its cells and "
            "filters with --space-opt cells=N --space-opt filters=F (or scale a cnn architecture)"
        )

    def cost(d: dict[str, Any]) -> dict[str, float] | None:
        space = get_space(base.space, **{**options, "cells": d["cells"], "filters": d["filters"]})
        r = int(d["resolution"])
        return space.complexity(space.validate(base), Task((3, r, r), args.classes))

    cx0 = cost(dims)
    strategies = COMPARED if args.compare else [args.strategy]
    print(f"base: {args.arch} ({base.space}), {dims}")
    for s in strategies:
        out = scale(dims, args.factor, args.alpha, strategy=s)
        cx = cost(out)
        ratios = ""
        if cx and cx0:
            ratios = ", ".join(
                f"{m} {cx[m]:,.0f} ({cx[m] / cx0[m]:.2f}x)" for m in cx if cx0.get(m)
            )
        print(f"{s or f'alpha={args.alpha:g}'}: {out}; {ratios}")
        if args.out and not args.compare:
            data = {
                **base.to_json(),
                "space_options": {**options, "cells": out["cells"], "filters": out["filters"]},
                "resolution": out["resolution"],
            }
            Path(args.out).write_text(json.dumps(data, indent=2) + "\n")
            print(f"wrote {args.out}")
    return 0
