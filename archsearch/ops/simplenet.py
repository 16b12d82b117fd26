"""SimpleNet's plain conv stack (Hasanpour, Rouhani, Fayyaz, Sabokrou, arXiv 1608.06037).

SimpleNet is a deliberately plain 13-layer stack: ``3x3`` convs (bias, stride 1, 'same'
padding), each followed by BN (+ Caffe Scale: BN's affine parameters) and ReLU, max pools
``2/2`` between groups, and ``1x1`` convs late in the net. One op, :func:`simple_conv`, is one
such layer; ``bn=False`` gives the late ``cccp`` layers (conv-ReLU), ``pool=True`` appends the
``2/2`` max pool. The CIFAR-10 network is :data:`CIFAR10_LAYERS`.
"""

from __future__ import annotations

import torch.nn as nn

from archsearch.complexity import Cx, bn_cx, conv_cx
from archsearch.ops._base import check_image, check_int, conv_out

#: (filters, kernel, bn, pool after) of the CIFAR-10 SimpleNet (Caffe prototxt, 13 layers).
CIFAR10_LAYERS = (
    (64, 3, True, False),
    (128, 3, True, False),
    (128, 3, True, False),
    (128, 3, True, True),
    (128, 3, True, False),
    (128, 3, True, False),
    (256, 3, True, True),
    (256, 3, True, False),
    (256, 3, True, True),
    (512, 3, True, False),
    (2048, 1, False, False),
    (256, 1, False, True),
    (256, 3, False, True),
)


def _check(in_shape: tuple, filters: int, kernel: int) -> tuple[int, int, int]:
    shape = check_image("simple_conv", in_shape)
    check_int("simple_conv", "filters", filters)
    check_int("simple_conv", "kernel", kernel)
    if kernel % 2 == 0:
        raise ValueError(f"simple_conv: kernel={kernel} must be odd")
    return shape


def simple_conv(
    in_shape: tuple, filters: int, kernel: int = 3, bn: bool = True, pool: bool = False
) -> nn.Module:
    """One SimpleNet layer: conv (bias) [- BN] - ReLU [- max pool 2/2]."""
    c, _, _ = _check(in_shape, filters, kernel)
    layers: list[nn.Module] = [nn.Conv2d(c, filters, kernel, padding=kernel // 2)]
    if bn:
        layers.append(nn.BatchNorm2d(filters, momentum=0.05))  # Caffe's 0.95 moving average
    layers.append(nn.ReLU())
    if pool:
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


def simple_conv_cx(
    in_shape: tuple, filters: int, kernel: int = 3, bn: bool = True, pool: bool = False
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`simple_conv`."""
    c, h, w = _check(in_shape, filters, kernel)
    cx = conv_cx(c, filters, kernel, h, w, bias=True) + (bn_cx(filters) if bn else Cx())
    if pool:
        h, w = conv_out(h, 2, 2), conv_out(w, 2, 2)
    return cx, (filters, h, w)
