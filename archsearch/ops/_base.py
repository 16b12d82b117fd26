"""Shared pieces of the op library: output sizes, channels-first LayerNorm, Conv+BN fusion.

Every op of :mod:`archsearch.ops` is a factory ``(in_shape, **values) -> nn.Module`` with an
analytic twin ``(in_shape, **values) -> (Cx, out_shape)`` in the project's one convention
(:mod:`archsearch.complexity`: multiply-adds of convolutions, linear layers and matrix products;
parameters of the built module; output elements of those ops as activations). The twins are
pure arithmetic, so a space can count an op without building it.
"""

from __future__ import annotations

import torch
import torch.nn as nn


def conv_out(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output side of a convolution or pooling window (floor rule, as torch)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def check_int(op: str, name: str, value: object, low: int = 1) -> int:
    """``value`` as an int >= ``low``, else a ValueError naming the op and the bad value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{op}: {name}={value!r} must be an integer >= {low}")
    return value


def check_image(op: str, in_shape: tuple) -> tuple[int, int, int]:
    """``in_shape`` as ``(C, H, W)``, else a ValueError naming the op."""
    if len(in_shape) != 3:
        raise ValueError(f"{op} takes image inputs (C, H, W), got shape {tuple(in_shape)}")
    c, h, w = (int(s) for s in in_shape)
    return c, h, w


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of an NCHW map (ConvNeXt's channels-first LN, eps 1e-6)."""

    def __init__(self, c: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


def fuse_bn(
    weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold an eval-mode BN into the conv before it: W' = W g/s, b' = beta + (b - mu) g/s."""
    std = (bn.running_var + bn.eps).sqrt()
    t = bn.weight / std
    b = bias if bias is not None else torch.zeros_like(bn.running_mean)
    return weight * t.reshape(-1, *([1] * (weight.dim() - 1))), bn.bias + (b - bn.running_mean) * t
