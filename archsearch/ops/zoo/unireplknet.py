"""UniRepLKNet-A/F/P/N/T (Ding et al., CVPR 2024), as the official unireplknet.py.

Stem conv3x3/2 (bias) ``3 -> C/2`` - LN - GELU - conv3x3/2 ``C/2 -> C`` - LN; four stages of
UniRepLKNet blocks (kernel per block from the official defaults: 3 in stage 1, 13 after; T's
stage 3 alternates 13 and 3); between stages conv3x3/2 (bias) - LN; head: mean - LN - Linear.
``deploy=True`` builds the deploy form directly; the training form re-parameterises into it
(:func:`archsearch.ops.reparameterize`) with the same count and outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from archsearch.complexity import Cx, bn_cx, conv_cx, linear_cx
from archsearch.ops._base import LayerNorm2d, conv_out
from archsearch.ops.largekernel import UniRepLKBlock, unireplk_block_cx


@dataclass(frozen=True)
class UniRepLKNetConfig:
    """Widths per stage and the DW kernel of every block, stage by stage."""

    dims: tuple[int, ...]
    kernels: tuple[tuple[int, ...], ...]


_AFP = ((3, 3), (13, 13), (13,) * 6, (13, 13))
_N = ((3, 3), (13, 13), (13,) * 8, (13, 13))
_T = ((3, 3, 3), (13, 13, 13), (13, 3) * 9, (13, 13, 13))
CONFIGS = {
    "unireplknet-a": UniRepLKNetConfig((40, 80, 160, 320), _AFP),
    "unireplknet-f": UniRepLKNetConfig((48, 96, 192, 384), _AFP),
    "unireplknet-p": UniRepLKNetConfig((64, 128, 256, 512), _AFP),
    "unireplknet-n": UniRepLKNetConfig((80, 160, 320, 640), _N),
    "unireplknet-t": UniRepLKNetConfig((80, 160, 320, 640), _T),
}


def _down(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, 2, 1), LayerNorm2d(c_out)]


class UniRepLKNet(nn.Module):
    """The UniRepLKNet classifier of one config, in training or deploy form."""

    def __init__(
        self, cfg: UniRepLKNetConfig, num_classes: int = 1000, in_chans: int = 3,
        deploy: bool = False,
    ) -> None:
        super().__init__()
        d0 = cfg.dims[0]
        layers: list[nn.Module] = [nn.Conv2d(in_chans, d0 // 2, 3, 2, 1), LayerNorm2d(d0 // 2)]
        layers += [nn.GELU(), *_down(d0 // 2, d0)]
        for i, (d, ks) in enumerate(zip(cfg.dims, cfg.kernels)):
            if i:
                layers += _down(cfg.dims[i - 1], d)
            layers += [UniRepLKBlock(d, k, deploy=deploy) for k in ks]
        self.features = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(cfg.dims[-1], eps=1e-6)
        self.head = nn.Linear(cfg.dims[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.features(x).mean((-2, -1))))


def unireplknet_cx(
    cfg: UniRepLKNetConfig, shape: tuple, num_classes: int = 1000, deploy: bool = False
) -> Cx:
    """Analytic complexity of :class:`UniRepLKNet` on a ``(C, H, W)`` input."""
    c, h, w = shape
    d0 = cfg.dims[0]
    h, w = conv_out(h, 3, 2, 1), conv_out(w, 3, 2, 1)
    cx = conv_cx(c, d0 // 2, 3, h, w, bias=True) + bn_cx(d0 // 2)
    h, w = conv_out(h, 3, 2, 1), conv_out(w, 3, 2, 1)
    cx += conv_cx(d0 // 2, d0, 3, h, w, bias=True) + bn_cx(d0)
    for i, (d, ks) in enumerate(zip(cfg.dims, cfg.kernels)):
        if i:
            h, w = conv_out(h, 3, 2, 1), conv_out(w, 3, 2, 1)
            cx += conv_cx(cfg.dims[i - 1], d, 3, h, w, bias=True) + bn_cx(d)
        for k in ks:
            cx += unireplk_block_cx((d, h, w), k, deploy=deploy)[0]
    return cx + bn_cx(cfg.dims[-1]) + linear_cx(cfg.dims[-1], num_classes)
