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
import os
from pathlib import Path
from typing import Any

from archsearch.arch import Architecture
from archsearch.cli import key_value
from archsearch.commands._argtypes import number, positive_float, size

#: Cells per stack: NASNet-A's largest published model has N = 6; past this bound even the
#: analytic count takes minutes, so the value is refused at once.
CELLS = number(int, 0, strict=True, high=1000)
#: The most trainable parameters ``build`` makes (even on the meta device, module making grows
#: with the size): 10^10, 40 GB of float32 weights.
MAX_PARAMS = 10**10

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
        # Required for every space; checked where `build zoo` (which takes none) is told apart.
        "--arch", help="run folder, best.json, architecture file or genotype name"
    )
    p.add_argument("--cells", type=CELLS, help="N: normal cells per stack (nasnet)")
    p.add_argument(
        "--filters", type=size, help="F: penultimate filters, a multiple of 24 (nasnet)"
    )
    p.add_argument("--layout", choices=("cifar", "imagenet"), help="network layout (nasnet)")
    p.add_argument("--concat", choices=("released", "unused"), help="cell output rule (nasnet)")
    p.add_argument("--stem-multiplier", type=positive_float, help="stem width multiplier (nasnet)")
    p.add_argument("--aux-head", action="store_true", default=None, help="add the auxiliary head")
    p.add_argument(
        "--space-opt",
        type=key_value,
        action="append",
        default=[],
        metavar="K=V",
        help="other space option, value as JSON",
    )
    p.add_argument("--classes", type=size, help="classes (default 10; 1000 for layout imagenet)")
    p.add_argument("--resolution", type=size, help="input size (default 32; 224 for imagenet)")
    p.add_argument("--channels", type=size, default=3, help="input channels (default 3)")
    p.add_argument("--save", help="write the model (state dict + arch JSON) to this file")
    p.set_defaults(func=run)
    from archsearch.commands.zoo import extend

    extend(p)  # `archsearch build zoo --model NAME`: reference models of the op library


def _options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = dict(args.space_opt)
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


def _memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _check_size(params: float, save: Path | None) -> None:
    """Refuse a network too large to make (or, with ``--save``, to hold in memory) at once."""
    if params > MAX_PARAMS:
        raise ValueError(
            f"the network would have {_scaled(params)} parameters; build makes at most "
            f"{_scaled(MAX_PARAMS)} (lower --cells, --filters or --stem-multiplier)"
        )
    memory = _memory()
    if save is not None and memory is not None and 4 * params > memory / 2:
        raise ValueError(
            f"the network's {_scaled(params)} float32 parameters need "
            f"{4 * params / 2**30:.1f} GiB; --save holds them in memory and this machine has "
            f"{memory / 2**30:.1f} GiB (lower --cells or --filters)"
        )


def run(args: argparse.Namespace) -> int:
    """Handler of ``archsearch build``."""
    from archsearch.commands._argtypes import check_output_file

    save = None if args.save is None else check_output_file(args.save, "--save")
    opts = _options(args)

    import torch

    from archsearch.complexity import count
    from archsearch.registry import get_space
    from archsearch.space import Task

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
    task = Task((args.channels, res, res), classes)
    cx = space.complexity(arch, task)
    if cx is not None:
        _check_size(cx["params"], save)
    with torch.device("meta"):
        meta = space.build(arch, task)
    params = sum(p.numel() for p in meta.parameters() if p.requires_grad)
    _check_size(params, save)
    model = space.build(arch, task) if save is not None else meta
    if cx is None:
        cx = count(model if save is not None else space.build(arch, task), task.input_shape)
    print(f"space: {space!r}")
    print(f"input: {args.channels}x{res}x{res}, classes: {classes}")
    print(f"params (trainable): {params:,} ({_scaled(params)})")
    flops = int(cx["flops"])
    print(f"FLOPs, multiply-adds (MACs) of conv + linear: {flops:,} ({_scaled(flops)})")
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "arch": arch.to_json(),
                "space_options": opts,
                "task": {"input_shape": list(task.input_shape), "num_classes": classes},
                "state_dict": model.state_dict(),
            },
            save,
        )
        print(f"saved: {save}")
    return 0
