"""``archsearch build zoo``: exact params and MACs of a reference model of the op library.

``archsearch build zoo --model hornet-t-7x7`` builds the model on the meta device (no memory,
seconds), counts its parameters and prints its analytic MACs at the model's resolution next to
the official code's count and the published figure; ``--list`` lists the models. The ``build``
command itself belongs to the NASNet family (:mod:`archsearch.spaces.nasnet.cli`); its
``register`` calls :func:`extend` so that ``zoo`` is one more target of the same command.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def extend(parser: argparse.ArgumentParser) -> None:
    """Add ``--model`` / ``--list`` to ``archsearch build`` and route ``build zoo`` here."""
    parser.add_argument("--model", help="zoo model name (archsearch build zoo --model NAME)")
    parser.add_argument(
        "--list", action="store_true", dest="list_models", help="list the zoo models (build zoo)"
    )
    # ``--arch`` is required for spaces but meaningless for the zoo: dispatch checks it.
    space_run: Callable[[argparse.Namespace], int] = parser.get_default("func")

    def dispatch(args: argparse.Namespace) -> int:
        if args.space == "zoo":
            return run(args)
        if args.model is not None or args.list_models:
            raise ValueError(f"--model and --list are for 'build zoo', not space '{args.space}'")
        if args.arch is None:
            raise ValueError(f"'archsearch build {args.space}' needs --arch")
        return space_run(args)

    parser.set_defaults(func=dispatch)


def _g(n: float) -> str:
    return f"{n / 1e9:.3f}G" if n >= 1e9 else f"{n / 1e6:.2f}M"


def _count(build: Callable[[], Any]) -> int:
    import torch

    with torch.device("meta"):
        model = build()
    return sum(p.numel() for p in model.parameters())


def run(args: argparse.Namespace) -> int:
    """Handler of ``archsearch build zoo``."""
    from archsearch.ops.zoo import ZOO, train_form, zoo_model

    if args.arch is not None:
        raise ValueError("--arch is not used by 'build zoo'; name the model with --model")
    if args.list_models:
        width = max(len(n) for n in ZOO)
        for name, z in ZOO.items():
            c, h, w = z.input_shape
            print(f"{name:<{width}}  {z.params:>12,} params  {c}x{h}x{w}  {z.source}")
        return 0
    if args.model is None:
        raise ValueError("'build zoo' needs --model NAME (or --list)")
    z = zoo_model(args.model)
    params = _count(z.build)
    cx = z.cx()
    c, h, w = z.input_shape
    print(f"model: {z.name} ({z.source})")
    print(f"input: {c}x{h}x{w}, outputs: {z.num_classes}")
    print(f"params: {params:,} ({_g(params)}); official code: {z.params:,}")
    if z.reparam:
        print(f"params of the training form: {_count(train_form(z)):,} (re-parameterises into the above)")
    pub = f"; published: {_g(z.published_macs)}" if z.published_macs else ""
    print(f"MACs (conv + linear + matmul): {cx.flops:,} ({_g(cx.flops)}){pub}")
    return 0
