"""Model complexity: parameters, FLOPs and activations, counted analytically or with fvcore.

One convention for every space, every run and every journal (that of fvcore's conv + linear
counts and of the papers' "mult-adds"; Radosavovic et al., "Designing Network Design Spaces",
2020, for the pycls-style ``*_cx`` helpers), for one input example (batch size 1) in eval mode:

* ``params``: every parameter of the built model (BN scale and shift included, buffers such as
  running statistics excluded).
* ``flops``: the multiply-accumulates of convolutions and linear layers, **one multiply-add is
  one FLOP**: a ``kh x kw`` convolution from ``C_in`` to ``C_out`` channels on an ``H x W``
  output costs ``kh kw C_in C_out H W / groups``, a linear layer on ``T`` tokens ``T F_in F_out``,
  a matrix product ``A (n x k) @ B (k x m)`` costs ``n k m``; biases are free. Exactly fvcore's
  own handles of the ops in :data:`MAC_OPS` are counted (``aten::_convolution``,
  ``aten::addmm``, ``aten::linear``, ``aten::matmul``, ``aten::mm``, ``aten::bmm``,
  ``aten::einsum``); its other default handles (batch / group / layer / instance norm, adaptive
  average pooling, upsampling, grid sampling) are cleared, so norms, pooling, element-wise adds,
  activations and every other op cost nothing.
* ``activations``: the output elements of the same ops (fvcore's activation count).

:class:`Cx` is the one accumulator; :func:`conv_cx`, :func:`linear_cx` and :func:`bn_cx` are the
layer terms every space's analytic ``complexity`` composes. :func:`count` measures a built model.
:data:`FLOP_CONVENTION` states the FLOP convention in words for output files and tables.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

FLOP_CONVENTION = (
    "flops count one fused multiply-add as one FLOP, convolutions, linear layers and matrix "
    "products only (fvcore's conv + linear + matmul count)"
)

MAC_OPS = (
    "aten::_convolution",
    "aten::addmm",
    "aten::linear",
    "aten::matmul",
    "aten::mm",
    "aten::bmm",
    "aten::einsum",
)


def _mac_handles() -> dict[str, object]:
    """fvcore's own FLOP handles of :data:`MAC_OPS`, the only ones :func:`count` keeps."""
    from fvcore.nn import jit_handles as j

    jit = (j.conv_flop_jit, j.addmm_flop_jit, j.linear_flop_jit, j.matmul_flop_jit)
    more = (j.matmul_flop_jit, j.bmm_flop_jit, j.einsum_flop_jit)
    return dict(zip(MAC_OPS, jit + more))


@dataclass(frozen=True)
class Cx:
    """Params, FLOPs (multiply-adds) and activations of a part of a network; ``+`` composes."""

    params: int = 0
    flops: int = 0
    activations: int = 0

    def __add__(self, other: Cx) -> Cx:
        return Cx(
            self.params + other.params,
            self.flops + other.flops,
            self.activations + other.activations,
        )

    def as_dict(self) -> dict[str, float]:
        """``{"params", "flops", "activations"}`` as floats, the form ``Space.complexity`` returns."""
        return {
            "params": float(self.params),
            "flops": float(self.flops),
            "activations": float(self.activations),
        }


def conv_cx(
    c_in: int,
    c_out: int,
    k: int | tuple[int, int],
    h_out: int,
    w_out: int,
    groups: int = 1,
    bias: bool = False,
) -> Cx:
    """A ``k x k`` (or ``kh x kw``) convolution producing a ``c_out x h_out x w_out`` map."""
    kh, kw = (k, k) if isinstance(k, int) else k
    weights = kh * kw * (c_in // groups) * c_out
    hw = h_out * w_out
    return Cx(weights + (c_out if bias else 0), weights * hw, c_out * hw)


def linear_cx(f_in: int, f_out: int, bias: bool = True, tokens: int = 1) -> Cx:
    """A linear layer ``f_in -> f_out`` applied to ``tokens`` positions."""
    return Cx(f_in * f_out + (f_out if bias else 0), tokens * f_in * f_out, tokens * f_out)


def bn_cx(c: int, affine: bool = True) -> Cx:
    """A batch (or layer) norm over ``c`` channels: 2 parameters per channel, no FLOPs."""
    return Cx(2 * c if affine else 0)


def count(model: torch.nn.Module, input_shape: Sequence[int]) -> dict[str, float]:
    """``{"params", "flops", "activations"}`` of ``model`` for one input of shape ``(C, H, W)``.

    FLOPs are fvcore's counts of :data:`MAC_OPS` only, one multiply-add = one FLOP.
    """
    import torch
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

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
            flops = FlopCountAnalysis(model, x).clear_op_handles().set_op_handle(**_mac_handles())
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
