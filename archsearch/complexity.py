"""Model complexity: parameters, FLOPs and activations of a built candidate, counted with fvcore.

Conventions (those of fvcore and pycls, Radosavovic et al., "Designing Network Design Spaces",
2020), for one input example (batch size 1) with the model in eval mode:

* ``params``: the number of parameters (buffers such as BN running stats excluded).
* ``flops``: **one fused multiply-add counts as one FLOP** (so a ``k x k`` convolution from
  ``C_in`` to ``C_out`` channels on an ``H x W`` output costs ``k^2 C_in C_out H W / groups``
  and a linear layer ``F_in F_out``; biases are free). Batch norm in eval mode costs 2 per
  element (1 without affine), average pooling and a channel sum 1 per input element,
  element-wise add / sub / mul / div 1 per output element; ReLU, max pooling, concatenation and
  reshapes cost nothing.
* ``activations``: the number of output elements of every convolution and linear layer.

:data:`FLOP_CONVENTION` states the FLOP convention in words for output files and tables.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

FLOP_CONVENTION = "flops count one fused multiply-add as one FLOP (fvcore convention)"

_ELEMENTWISE_OUT = (
    "aten::add",
    "aten::add_",
    "aten::sub",
    "aten::sub_",
    "aten::mul",
    "aten::mul_",
    "aten::div",
    "aten::div_",
)
_ELEMENTWISE_IN = ("aten::avg_pool2d", "aten::mean", "aten::sum")


def count(model: torch.nn.Module, input_shape: Sequence[int]) -> dict[str, float]:
    """``{"params", "flops", "activations"}`` of ``model`` for one input of shape ``(C, H, W)``.

    FLOPs count one fused multiply-add as one FLOP (see :data:`FLOP_CONVENTION`).
    """
    import torch
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis
    from fvcore.nn.jit_handles import elementwise_flop_counter

    shape = tuple(int(s) for s in input_shape)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"input_shape must be positive sizes such as (3, 32, 32), got {shape}")
    params = sum(p.numel() for p in model.parameters())
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    x = torch.zeros(1, *shape, device=device)
    was_training = model.training
    model.eval()
    try:
        with _quiet(), torch.no_grad():
            flops = FlopCountAnalysis(model, x)
            for op in _ELEMENTWISE_OUT:
                flops.set_op_handle(op, elementwise_flop_counter(0, 1))
            for op in _ELEMENTWISE_IN:
                flops.set_op_handle(op, elementwise_flop_counter(1, 0))
            flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            acts = ActivationCountAnalysis(model, x)
            acts.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            total_flops, total_acts = flops.total(), acts.total()
    finally:
        model.train(was_training)
    return {"params": float(params), "flops": float(total_flops), "activations": float(total_acts)}


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence fvcore's tracer warnings and log records while counting."""
    logger = logging.getLogger("fvcore")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
