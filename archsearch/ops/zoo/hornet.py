"""HorNet-T / HorNet-S with 7x7 gnConv (Rao et al., NeurIPS 2022), as the official hornet.py.

Stem conv 4x4/4 (bias) - LN; four stages of HorNet blocks with gnConv orders 2, 3, 4, 5 and
scale 1/3, widths ``base x (1, 2, 4, 8)``, depths (2, 3, 18, 2); between stages LN - conv 2x2/2
(bias); head: global mean - LN - Linear.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from archsearch.complexity import Cx, bn_cx, conv_cx, linear_cx
from archsearch.ops._base import LayerNorm2d
from archsearch.ops.hornet import HorNetBlock, hornet_block_cx


@dataclass(frozen=True)
class HorNetConfig:
    """Base width, depths per stage, gnConv order per stage, DW kernel."""

    base: int
    depths: tuple[int, ...] = (2, 3, 18, 2)
    orders: tuple[int, ...] = (2, 3, 4, 5)
    kernel: int = 7


class HorNet(nn.Module):
    """The HorNet classifier of one :class:`HorNetConfig`."""

    def __init__(self, cfg: HorNetConfig, num_classes: int = 1000, in_chans: int = 3) -> None:
        super().__init__()
        dims = [cfg.base * 2**i for i in range(len(cfg.depths))]
        layers: list[nn.Module] = [nn.Conv2d(in_chans, dims[0], 4, 4), LayerNorm2d(dims[0])]
        for i, (d, n) in enumerate(zip(dims, cfg.depths)):
            if i:
                layers += [LayerNorm2d(dims[i - 1]), nn.Conv2d(dims[i - 1], d, 2, 2)]
            layers += [HorNetBlock(d, cfg.orders[i], cfg.kernel) for _ in range(n)]
        self.features = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.head = nn.Linear(dims[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.features(x).mean((-2, -1))))


def hornet_cx(cfg: HorNetConfig, shape: tuple, num_classes: int = 1000) -> Cx:
    """Analytic complexity of :class:`HorNet` on a ``(C, H, W)`` input."""
    c, h, w = shape
    dims = [cfg.base * 2**i for i in range(len(cfg.depths))]
    h, w = h // 4, w // 4
    cx = conv_cx(c, dims[0], 4, h, w, bias=True) + bn_cx(dims[0])
    for i, (d, n) in enumerate(zip(dims, cfg.depths)):
        if i:
            h, w = h // 2, w // 2
            cx += bn_cx(dims[i - 1]) + conv_cx(dims[i - 1], d, 2, h, w, bias=True)
        block, _ = hornet_block_cx((d, h, w), cfg.orders[i], cfg.kernel)
        for _ in range(n):
            cx += block
    return cx + bn_cx(dims[-1]) + linear_cx(dims[-1], num_classes)


CONFIGS = {"hornet-t-7x7": HorNetConfig(64), "hornet-s-7x7": HorNetConfig(96)}
