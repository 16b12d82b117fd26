"""ULSAM: ultra-lightweight subspace attention (Saini, Jha, Das, Mittal, Mohan, WACV 2020).

A map of ``m`` channels is split into ``g`` subspaces of ``G = m / g`` channels. Each subspace
``F_n`` learns one spatial attention map from a depthwise 1x1 conv (bias) - BN - ReLU, a 3x3
max pool (stride 1), a pointwise 1x1 conv ``G -> 1`` (bias) - BN - ReLU and a softmax over the
``h w`` positions; the output is ``A_n * F_n + F_n``. As the official code: 5 m + 3 g parameters
(the paper counts the 2 m conv weights only), 2 m h w multiply-adds, the shape is kept.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from archsearch.complexity import Cx, bn_cx, conv_cx
from archsearch.ops._base import check_image, check_int


class SubspaceAttention(nn.Module):
    """One subspace: its attention map A = softmax(PW(maxpool(DW(F)))) and A F + F."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.dw = nn.Sequential(nn.Conv2d(c, c, 1, groups=c), nn.BatchNorm2d(c), nn.ReLU())
        self.pool = nn.MaxPool2d(3, 1, 1)
        self.pw = nn.Sequential(nn.Conv2d(c, 1, 1), nn.BatchNorm2d(1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.pw(self.pool(self.dw(x)))
        n, _, h, w = a.shape
        a = torch.softmax(a.reshape(n, 1, h * w), dim=2).reshape(n, 1, h, w)
        return a * x + x


class ULSAM(nn.Module):
    """``g`` subspace attentions on the channel chunks of the input, concatenated back."""

    def __init__(self, c: int, groups: int) -> None:
        super().__init__()
        self.groups = groups
        self.subspaces = nn.ModuleList(SubspaceAttention(c // groups) for _ in range(groups))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.chunk(x, self.groups, dim=1)
        return torch.cat([f(p) for f, p in zip(self.subspaces, parts)], dim=1)


def _check(in_shape: tuple, groups: int) -> tuple[int, int, int]:
    c, h, w = check_image("ulsam", in_shape)
    check_int("ulsam", "groups", groups)
    if c % groups:
        raise ValueError(f"ulsam: {c} channels do not split into groups={groups} subspaces")
    return c, h, w


def ulsam(in_shape: tuple, groups: int = 4) -> nn.Module:
    """ULSAM with ``groups`` subspaces on a ``(C, H, W)`` map (C divisible by groups)."""
    c, _, _ = _check(in_shape, groups)
    return ULSAM(c, groups)


def ulsam_cx(in_shape: tuple, groups: int = 4) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`ulsam`."""
    c, h, w = _check(in_shape, groups)
    g = c // groups
    one = conv_cx(g, g, 1, h, w, groups=g, bias=True) + bn_cx(g)
    one += conv_cx(g, 1, 1, h, w, bias=True) + bn_cx(1)
    total = Cx()
    for _ in range(groups):
        total += one
    return total, (c, h, w)
