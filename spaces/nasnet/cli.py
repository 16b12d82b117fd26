"""``archsearch build``: build an architecture at a chosen size, count it, optionally save it.

Transfer by stacking (Zoph et al., CVPR 2018, §3): a cell found with a small N @ F on small data
is rebuilt at any N @ F, e.g.
``archsearch build nasnet --arch RUN/best.json --cells 6 --filters 768 --layout cifar``.
``--arch`` takes a run folder or its ``best.json``, an architecture JSON file, or a built-in
genotype name of the space (``nasnet-a``). Counts: trainable parameters of the built model and
multiply-adds of one forward pass (the space's analytic count, else fvcore).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from archsearch.arch import Architecture

_SPACE_FLAGS = {
    "cells": "cells",
    "filters": "filters",
    "layout": "layout",
    "concat": "concat",
    "stem_multiplier": "stem_multiplier",
    "aux_head": "aux_head",
}


def register(subparsers: Any) -> None:
    """Add the ``build`` subcommand to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "build",
        help="build an architecture at a given size; print params and FLOPs (mult-adds); save it",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("space", help="space name, e.g. nasnet")
    p.add_argument(
        "--arch", required=True, help="run folder, best.json, architecture file or genotype name"
    )
    p.add_argument("--cells", type=int, help="N: normal cells per stack (nasnet)")
    p.add_argument("--filters", type=int, help="F: penultimate filters, a multiple of 24 (nasnet)")
    p.add_argument("--layout", choices=("cifar", "imagenet"), help="network layout (nasnet)")
    p.add_argument("--concat", choices=("released", "unused"), help="cell output rule (nasnet)")
    p.add_argument("--stem-multiplier", type=float, help="stem width multiplier (nasnet)")
    p.add_argument("--aux-head", action="store_true", default=None, help="add the auxiliary head")
    p.add_argument(
        "--space-opt", action="append", default=[], metavar="K=V", help="other space option"
    )
    p.add_argument("--classes", type=int, help="classes (default 10; 1000 for layout imagenet)")
    p.add_argument("--resolution", type=int, help="input size (default 32; 224 for imagenet)")
    p.add_argument("--channels", type=int, default=3, help="input channels (default 3)")
    p.add_argument("--save", type=Path, help="write the model (state dict + arch JSON) here")
    p.set_defaults(func=run)
    from archsearch.commands.zoo import extend

    extend(p)  # `archsearch build zoo --model NAME`: reference models of the op library


def _options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for item in args.space_opt:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--space-opt {item!r} must look like KEY=VALUE")
        try:
            opts[key] = json.loads(value)
        except json.JSONDecodeError:
            opts[key] = value
    for flag, key in _SPACE_FLAGS.items():
        if getattr(args, flag) is not None:
            opts[key] = getattr(args, flag)
    return opts


def resolve_arch(spec: str, space: Any) -> Architecture:
    """An Architecture from a genotype name, a run folder, a best.json or an architecture file."""
    path = Path(spec)
    if path.is_dir():
        path = path / "best.json"
    if path.is_file():
        return Architecture.load(path)
    try:
        return space.genotype(spec)
    except KeyError as e:
        hint = f" ({e.args[0]})"
    raise FileNotFoundError(
        f"--arch {spec!r} is not a run folder, an architecture file or a built-in genotype of "
        f"space '{space.name}'{hint}"
    )


def _scaled(n: float) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.2f}M"


def run(args: argparse.Namespace) -> int:
    """Handler of ``archsearch build``."""
    import torch

    from archsearch.complexity import count
    from archsearch.registry import get_space
    from archsearch.space import Task

    opts = _options(args)
    try:
        space = get_space(args.space, **opts)
    except TypeError as e:
        raise ValueError(
            f"space '{args.space}' does not take these options {sorted(opts)}: {e}"
        ) from None
    arch = space.validate(resolve_arch(args.arch, space))
    imagenet = opts.get("layout") == "imagenet"
    res = (224 if imagenet else 32) if args.resolution is None else args.resolution
    classes = (1000 if imagenet else 10) if args.classes is None else args.classes
    for name, v in (("--resolution", res), ("--classes", classes), ("--channels", args.channels)):
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    task = Task((args.channels, res, res), classes)
    cx = space.complexity(arch, task)
    if args.save is None:
        with torch.device("meta"):
            model = space.build(arch, task)
    else:
        model = space.build(arch, task)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if cx is None:
        cx = count(space.build(arch, task) if args.save is None else model, task.input_shape)
    print(f"space: {space!r}")
    print(f"input: {args.channels}x{res}x{res}, classes: {classes}")
    print(f"params (trainable): {params:,} ({_scaled(params)})")
    flops = int(cx["flops"])
    print(f"FLOPs, multiply-adds (MACs) of conv + linear: {flops:,} ({_scaled(flops)})")
    if args.save is not None:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "arch": arch.to_json(),
                "space_options": opts,
                "task": {"input_shape": list(task.input_shape), "num_classes": classes},
                "state_dict": model.state_dict(),
            },
            args.save,
        )
        print(f"saved: {args.save}")
    return 0
