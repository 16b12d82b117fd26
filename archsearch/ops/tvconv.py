"""TVConv: translation-variant depthwise convolution (Chen et al., CVPR 2022).

Every channel and every **output pixel** has its own ``k x k`` kernel. The kernels are not free
parameters but the output of a small weight-generating network run on a learnable position map
``P x h x w`` (ones at init): conv3x3 ``P -> I`` - LN(I, h, w) - ReLU, ``L`` x [conv3x3
``I -> I`` - LN - ReLU], conv3x3 ``I -> k^2 C`` (all bias free). ``h, w`` are the output size, so
the op is bound to its input size. Params (official code, verified C=32, h=w=24: 83,520):
``P h w + 9 P I + 2 I h w + L (9 I^2 + 2 I h w) + 9 I k^2 C``. The per-pixel weighting is one
batched matrix product ``(hw x 1 x k^2) @ (k^2 x 1)`` per channel, ``C k^2 h w`` multiply-adds,
on top of the generator's convs (input independent, so cacheable at inference).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.complexity import Cx, conv_cx
from archsearch.ops._base import check_image, check_int, conv_out


def _gen_block(a: int, b: int, h: int, w: int) -> list[nn.Module]:
    return [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.LayerNorm([b, h, w]), nn.ReLU()]


class TVConv(nn.Module):
    """Translation-variant depthwise ``k x k`` conv with generated per-pixel kernels."""

    def __init__(
        self, c: int, h: int, w: int, kernel: int, stride: int, posi: int, inter: int, layers: int
    ) -> None:
        super().__init__()
        self.c, self.k, self.stride, self.h, self.w = c, kernel, stride, h, w
        self.posi_map = nn.Parameter(torch.ones(1, posi, h, w))
        gen = _gen_block(posi, inter, h, w)
        for _ in range(layers):
            gen += _gen_block(inter, inter, h, w)
        gen.append(nn.Conv2d(inter, c * kernel**2, 3, padding=1, bias=False))
        self.weight_layers = nn.Sequential(*gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, k2, hw = x.shape[0], self.k**2, self.h * self.w
        weight = self.weight_layers(self.posi_map).reshape(self.c, k2, hw).transpose(1, 2)
        cols = F.unfold(x, self.k, padding=(self.k - 1) // 2, stride=self.stride)
        cols = cols.reshape(n, self.c, k2, hw).transpose(2, 3).unsqueeze(-2)
        out = cols @ weight.unsqueeze(-1)  # (n, C, hw, 1, k^2) @ (C, hw, k^2, 1)
        return out.reshape(n, self.c, self.h, self.w)


def _check(in_shape: tuple, kernel: int, stride: int, posi: int, inter: int, layers: int):
    c, h, w = check_image("tvconv", in_shape)
    for name, v in (("kernel", kernel), ("stride", stride), ("posi", posi), ("inter", inter)):
        check_int("tvconv", name, v)
    check_int("tvconv", "layers", layers, 0)
    if kernel % 2 == 0:
        raise ValueError(f"tvconv: kernel={kernel} must be odd")
    p = (kernel - 1) // 2
    return c, conv_out(h, kernel, stride, p), conv_out(w, kernel, stride, p)


def tvconv(
    in_shape: tuple, kernel: int = 3, stride: int = 1, posi: int = 4, inter: int = 16,
    layers: int = 1,
) -> nn.Module:
    """TVConv on a ``(C, H, W)`` map (bound to that size); output ``(C, H / s, W / s)``."""
    c, h, w = _check(in_shape, kernel, stride, posi, inter, layers)
    return TVConv(c, h, w, kernel, stride, posi, inter, layers)


def tvconv_cx(
    in_shape: tuple, kernel: int = 3, stride: int = 1, posi: int = 4, inter: int = 16,
    layers: int = 1,
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`tvconv`."""
    c, h, w = _check(in_shape, kernel, stride, posi, inter, layers)
    hw, k2 = h * w, kernel**2
    cx = Cx(posi * hw) + conv_cx(posi, inter, 3, h, w) + Cx(2 * inter * hw)
    for _ in range(layers):
        cx += conv_cx(inter, inter, 3, h, w) + Cx(2 * inter * hw)
    cx += conv_cx(inter, c * k2, 3, h, w)
    return cx + Cx(0, c * k2 * hw, c * hw), (c, h, w)
