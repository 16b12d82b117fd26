"""Example spaces written in DeepArchitect's module language.

After Negrinho and Gordon, "DeepArchitect: Modularly Designing and Automatically Searching
Neural Architectures" (2017), whose CIFAR-10 experiments search conv nets built from ``Or``,
``Optional`` and ``Repeat`` substitution modules with shared and dependent hyperparameters.
Scaled down so that every sampled model fits both 8x8x1 digits and 32x32x3 CIFAR images:

* ``deeparchitect`` (the default space): a stem conv of a **shared** width ``w``, then
  ``stages`` stages; stage ``s`` is ``Repeat`` (1..``max_cells``) of a cell, each cell an ``Or``
  over conv / separable conv / pooling with an ``Optional`` batch norm, and ends with a
  stride-2 reduction (``Or`` of max and average pooling). An ``Optional`` dropout precedes the
  classifier (global average pooling and a linear layer). ``ops=[...]`` adds blocks of the op
  library (:data:`OP_CHOICES`: ``hornet``, ``dilated-reparam``, ``ulsam``, ``gnconv``,
  ``conv-bn``) to the cell's ``Or``; each keeps the cell's width and has its own decisions.
* ``deepconv``: DeepArchitect's ``deepconv_ss0``: a strided conv of ``f`` filters, a **tied**
  repeat (every copy replays the first copy's decisions) of ``conv - MaybeSwap(ReLU, BN) -
  Optional(dropout)``, then a second strided conv and the same block with the **dependent**
  width ``2f``.
* ``da-resnet``: DeepArchitect's ``resnet_ss0``: per stage a ``Repeat`` of ``Residual`` blocks
  (two convs, an ``Optional`` dropout between them); stage ``s`` has the dependent width
  ``w * 2**s`` and every stage after the first starts with a stride-2 pooling.

Notation: ``w`` / ``f`` are channel counts, ``s`` a stage index; decision names are module
paths such as ``stage0/cells/1/op``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn as nn

from archsearch.layers import (
    avg_pool,
    batch_norm,
    conv,
    dropout,
    max_pool,
    relu,
    sep_conv,
)
from archsearch.modules import (
    D,
    Dependent,
    Hyper,
    Layer,
    ModuleSpace,
    Node,
    Optional,
    Or,
    Repeat,
    Residual,
    Seq,
)
from archsearch.ops import op


def plain_conv(in_shape: tuple, filters: int, kernel: int = 3, stride: int = 1) -> nn.Module:
    """A bare convolution with 'same' padding (no normalization, no activation)."""
    return nn.Conv2d(in_shape[0], filters, kernel, stride, padding=kernel // 2, bias=False)


def _check_counts(space: str, name: str, values: Sequence[int]) -> list[int]:
    ok = isinstance(values, (list, tuple, range)) and len(values) > 0
    if not ok or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
        raise ValueError(
            f"space '{space}': {name} must be a non-empty list of integers >= 1, got {values!r}"
        )
    return list(values)


def _check_int(space: str, name: str, value: int, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(
            f"space '{space}': {name} must be an integer in [{low}, {high}], got {value!r}"
        )
    return value


#: Op-library blocks a cell can choose (``ops=`` option); each keeps the width it is given.
OP_CHOICES = {
    "hornet": lambda w: Layer(op("hornet_block"), order=D([2, 3])),
    "dilated-reparam": lambda w: Layer(op("unireplk_block"), kernel=D([7, 13])),
    "ulsam": lambda w: Layer(op("ulsam"), groups=D([1, 4])),
    "gnconv": lambda w: Layer(op("gnconv"), order=D([2, 3])),
    "conv-bn": lambda w: Layer(op("conv_bn"), filters=w, kernel=D([3, 5]), mode="tune"),
}


def _check_ops(space: str, ops: Sequence[str]) -> list[str]:
    if isinstance(ops, str) or any(o not in OP_CHOICES for o in ops):
        bad = ops if isinstance(ops, str) else next(o for o in ops if o not in OP_CHOICES)
        raise ValueError(
            f"space '{space}': ops entry {bad!r} is not an op choice; known: "
            f"{', '.join(OP_CHOICES)}"
        )
    if len(set(ops)) != len(ops):
        raise ValueError(f"space '{space}': ops={list(ops)!r} names an op twice")
    return list(ops)


def _cell(width: Hyper, ops: Sequence[str] = ()) -> Node:
    """One cell: an operation (conv, separable conv, pooling or an op) and an optional BN."""
    choice = Or(
        lambda: Layer(conv, filters=width, kernel=D([3, 5])),
        lambda: Layer(sep_conv, filters=width, kernel=D([3, 5])),
        lambda: Layer(max_pool, kernel=3),
        lambda: Layer(avg_pool, kernel=3),
        *[lambda o=o: OP_CHOICES[o](width) for o in ops],
        labels=["conv", "sep_conv", "max_pool", "avg_pool", *ops],
        name="op",
    )
    return Seq(choice, Optional(lambda: Layer(batch_norm), name="bn"))


def deeparchitect(
    max_cells: int = 3,
    stages: int = 2,
    widths: Sequence[int] = (16, 32, 64),
    ops: Sequence[str] = (),
) -> ModuleSpace:
    """DeepArchitect-style conv net: a shared width, ``stages`` stages of 1..``max_cells`` cells."""
    ops = _check_ops("deeparchitect", ops)
    _check_int("deeparchitect", "max_cells", max_cells, 1, 16)
    _check_int("deeparchitect", "stages", stages, 1, 5)
    widths = _check_counts("deeparchitect", "widths", widths)

    def program() -> Node:
        width = D(widths, name="width")
        parts: list[Node] = [Layer(conv, filters=width, kernel=3, name="stem")]
        for s in range(stages):
            parts.append(
                Seq(
                    Repeat(lambda: _cell(width, ops), range(1, max_cells + 1), name="cells"),
                    Or(
                        lambda: Layer(max_pool, kernel=3, stride=2),
                        lambda: Layer(avg_pool, kernel=3, stride=2),
                        labels=["max_pool", "avg_pool"],
                        name="reduce",
                    ),
                    name=f"stage{s}",
                )
            )
        parts.append(Optional(lambda: Layer(dropout, rate=D([0.1, 0.3])), name="dropout"))
        return Seq(*parts)

    return ModuleSpace(program, name="deeparchitect")


def _deepconv_block(filters: Hyper | Dependent, repeats: Sequence[int]) -> Node:
    """Tied repeat of conv - MaybeSwap(ReLU, BN) - Optional(dropout): one set of decisions."""
    body = Seq(
        Layer(plain_conv, filters=filters, kernel=D([3, 5]), name="conv"),
        Or(
            Seq(Layer(relu), Layer(batch_norm)),
            Seq(Layer(batch_norm), Layer(relu)),
            labels=["relu_bn", "bn_relu"],
            name="order",
        ),
        Optional(Layer(dropout, rate=D([0.1, 0.5])), name="dropout"),
    )
    # A node (not a function) as the body: every copy shares its hyperparameter objects.
    return Repeat(body, repeats, name="repeat")


def deepconv(
    filters: Sequence[int] = (16, 32, 48, 64), repeats: Sequence[int] = (1, 2, 4)
) -> ModuleSpace:
    """DeepArchitect's ``deepconv_ss0``: two strided convs, tied blocks, the second at ``2f``."""
    filters = _check_counts("deepconv", "filters", filters)
    repeats = _check_counts("deepconv", "repeats", repeats)

    def program() -> Node:
        f = D(filters, name="filters")
        f2 = Dependent(lambda v: 2 * v, f)
        return Seq(
            Layer(conv, filters=f, kernel=D([3, 5, 7]), stride=2, name="stem1"),
            Seq(_deepconv_block(f, repeats), name="block1"),
            Layer(conv, filters=f2, kernel=D([3, 5]), stride=2, name="stem2"),
            Seq(_deepconv_block(f2, repeats), name="block2"),
        )

    return ModuleSpace(program, name="deepconv")


def _res_block(width: Dependent) -> Node:
    """conv - Optional(dropout) - conv, with a skip connection."""
    return Residual(
        Seq(
            Layer(conv, filters=width, kernel=D([3, 5]), name="conv1"),
            Optional(lambda: Layer(dropout, rate=D([0.1, 0.3])), name="dropout"),
            Layer(conv, filters=width, kernel=3, name="conv2"),
        )
    )


def da_resnet(
    stages: int = 2, max_blocks: int = 2, widths: Sequence[int] = (16, 32)
) -> ModuleSpace:
    """DeepArchitect's ``resnet_ss0``: stages of residual blocks, width doubled per stage."""
    _check_int("da-resnet", "stages", stages, 1, 5)
    _check_int("da-resnet", "max_blocks", max_blocks, 1, 16)
    widths = _check_counts("da-resnet", "widths", widths)

    def program() -> Node:
        width = D(widths, name="width")
        parts: list[Node] = [Layer(conv, filters=width, kernel=3, name="stem")]
        for s in range(stages):
            w_s = Dependent(lambda v, k=s: v * 2**k, width)
            stage: list[Node] = []
            if s > 0:
                stage.append(
                    Or(
                        lambda: Layer(max_pool, kernel=3, stride=2),
                        lambda: Layer(avg_pool, kernel=3, stride=2),
                        labels=["max_pool", "avg_pool"],
                        name="reduce",
                    )
                )
            stage.append(
                Repeat(lambda w=w_s: _res_block(w), range(1, max_blocks + 1), name="blocks")
            )
            parts.append(Seq(*stage, name=f"stage{s}"))
        return Seq(*parts)

    return ModuleSpace(program, name="da-resnet")
