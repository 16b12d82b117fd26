"""HorNet: recursive gated convolution gnConv and the HorNet block (Rao et al., NeurIPS 2022).

gnConv of order ``n`` on ``C`` channels, widths ``d_k = C / 2^(n-1-k)`` (k = 0..n-1):
``proj_in`` 1x1 ``C -> 2C`` splits into ``p_0`` (d_0) and ``q`` (sum d); a depthwise ``k x k``
conv on ``q`` times the scale ``s`` gives ``q_0..q_{n-1}``; ``x = p_0 q_0``, then
``x = pw_k(x) q_{k+1}`` with 1x1 convs ``d_k -> d_{k+1}``; ``proj_out`` 1x1 ``C -> C``. Every
conv has a bias. The block (as ConvNeXt): ``x + g1 gnConv(LN(x))``, then
``x + g2 Linear(4C -> C)(GELU(Linear(C -> 4C)(LN(x))))`` on NHWC, layer scales g1, g2 (1e-6).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from archsearch.complexity import Cx, bn_cx, conv_cx, linear_cx
from archsearch.ops._base import LayerNorm2d, check_image, check_int


def gnconv_dims(c: int, order: int) -> list[int]:
    """The widths ``d_0..d_{n-1}`` of a gnConv of ``order`` on ``c`` channels."""
    return [c // 2**i for i in range(order)][::-1]


def _check(op: str, in_shape: tuple, order: int, kernel: int) -> tuple[int, int, int]:
    c, h, w = check_image(op, in_shape)
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 5:
        raise ValueError(f"{op}: order={order!r} must be an integer in 1..5")
    check_int(op, "kernel", kernel)
    if kernel % 2 == 0:
        raise ValueError(f"{op}: kernel={kernel} must be odd")
    if c % 2 ** (order - 1):
        raise ValueError(f"{op}: {c} channels are not divisible by 2^(order-1) = {2**(order-1)}")
    return c, h, w


class GnConv(nn.Module):
    """Recursive gated convolution of order ``n`` (interactions up to n-th order)."""

    def __init__(self, c: int, order: int = 3, kernel: int = 7, scale: float = 1.0 / 3) -> None:
        super().__init__()
        self.dims, self.scale = gnconv_dims(c, order), scale
        s = sum(self.dims)
        self.proj_in = nn.Conv2d(c, 2 * c, 1)
        self.dwconv = nn.Conv2d(s, s, kernel, padding=kernel // 2, groups=s)
        self.pws = nn.ModuleList(nn.Conv2d(a, b, 1) for a, b in zip(self.dims, self.dims[1:]))
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p, q = torch.split(self.proj_in(x), (self.dims[0], sum(self.dims)), dim=1)
        qs = torch.split(self.dwconv(q) * self.scale, self.dims, dim=1)
        x = p * qs[0]
        for pw, qk in zip(self.pws, qs[1:]):
            x = pw(x) * qk
        return self.proj_out(x)


class HorNetBlock(nn.Module):
    """gnConv spatial mixing and an MLP, each pre-normed, layer-scaled and residual."""

    def __init__(self, c: int, order: int, kernel: int = 7, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(c)
        self.gnconv = GnConv(c, order, kernel)
        self.norm2 = nn.LayerNorm(c, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(c, mlp_ratio * c), nn.GELU(), nn.Linear(mlp_ratio * c, c)
        )
        self.gamma1 = nn.Parameter(torch.full((c,), 1e-6))
        self.gamma2 = nn.Parameter(torch.full((c,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.gamma1[:, None, None] * self.gnconv(self.norm1(x))
        y = self.gamma2 * self.mlp(self.norm2(x.permute(0, 2, 3, 1)))
        return x + y.permute(0, 3, 1, 2)


def gnconv(in_shape: tuple, order: int = 3, kernel: int = 7, scale: float = 1.0 / 3) -> nn.Module:
    """gnConv of ``order`` (1..5) on a ``(C, H, W)`` map; the shape is kept."""
    c, _, _ = _check("gnconv", in_shape, order, kernel)
    return GnConv(c, order, kernel, scale)


def gnconv_cx(
    in_shape: tuple, order: int = 3, kernel: int = 7, scale: float = 1.0 / 3
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`gnconv`."""
    c, h, w = _check("gnconv", in_shape, order, kernel)
    dims = gnconv_dims(c, order)
    s = sum(dims)
    cx = conv_cx(c, 2 * c, 1, h, w, bias=True) + conv_cx(s, s, kernel, h, w, groups=s, bias=True)
    for a, b in zip(dims, dims[1:]):
        cx += conv_cx(a, b, 1, h, w, bias=True)
    return cx + conv_cx(c, c, 1, h, w, bias=True), (c, h, w)


def hornet_block(in_shape: tuple, order: int = 3, kernel: int = 7, mlp_ratio: int = 4) -> nn.Module:
    """The HorNet block on a ``(C, H, W)`` map; the shape is kept."""
    c, _, _ = _check("hornet_block", in_shape, order, kernel)
    check_int("hornet_block", "mlp_ratio", mlp_ratio)
    return HorNetBlock(c, order, kernel, mlp_ratio)


def hornet_block_cx(
    in_shape: tuple, order: int = 3, kernel: int = 7, mlp_ratio: int = 4
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`hornet_block`."""
    c, h, w = _check("hornet_block", in_shape, order, kernel)
    cx, _ = gnconv_cx(in_shape, order, kernel)
    cx += bn_cx(c) + bn_cx(c) + Cx(2 * c)  # two LNs, two layer scales
    r = mlp_ratio * c
    cx += linear_cx(c, r, tokens=h * w) + linear_cx(r, c, tokens=h * w)
    return cx, (c, h, w)
