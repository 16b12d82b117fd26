"""The small reference networks: SimpleNet (CIFAR-10), CCT-7/3x1 (CIFAR-10), ESPCN.

* SimpleNet (Hasanpour et al., 2016), the Caffe CIFAR-10 model: the 13 layers of
  :data:`archsearch.ops.simplenet.CIFAR10_LAYERS`, then Linear 256 -> 10 (dropout left out: no
  parameters, no cost). Its published "5.48M" counts the conv weights only (5,482,176).
* CCT-7/3x1 (Hassani et al., 2021): one 3x3 tokenizer conv to d = 256 (256 tokens at 32x32,
  learnable positions), 7 encoder layers (4 heads, MLP ratio 2), sequence pooling, Linear.
* ESPCN (Shi et al., CVPR 2016), paper layout: conv 5x5 1 -> 64, tanh, conv 3x3 64 -> 32,
  tanh, sub-pixel conv 3x3 32 -> r^2 and the shuffle by r (r = 3: 22,729 parameters).
"""

from __future__ import annotations

import torch.nn as nn

from archsearch.complexity import Cx, conv_cx, linear_cx
from archsearch.ops.cct import (
    cct_encoder,
    cct_encoder_cx,
    cct_tokenizer,
    cct_tokenizer_cx,
    seq_pool,
    seq_pool_cx,
)
from archsearch.ops.simplenet import CIFAR10_LAYERS, simple_conv, simple_conv_cx
from archsearch.ops.subpixel import subpixel_conv, subpixel_conv_cx


def simplenet(num_classes: int = 10, in_shape: tuple = (3, 32, 32)) -> nn.Module:
    """SimpleNet for CIFAR-10 (Caffe layout)."""
    mods, shape = [], tuple(in_shape)
    for f, k, bn, pool in CIFAR10_LAYERS:
        mods.append(simple_conv(shape, f, k, bn, pool))
        shape = simple_conv_cx(shape, f, k, bn, pool)[1]
    n = shape[0] * shape[1] * shape[2]
    return nn.Sequential(*mods, nn.Flatten(), nn.Linear(n, num_classes))


def simplenet_cx(shape: tuple, num_classes: int = 10) -> Cx:
    """Analytic complexity of :func:`simplenet`."""
    cx = Cx()
    for f, k, bn, pool in CIFAR10_LAYERS:
        step, shape = simple_conv_cx(shape, f, k, bn, pool)
        cx += step
    return cx + linear_cx(shape[0] * shape[1] * shape[2], num_classes)


def simplenet_conv_weights(shape: tuple = (3, 32, 32)) -> int:
    """The conv weights alone (the paper's count): sum of k^2 c_in c_out over the 13 convs."""
    total, c = 0, shape[0]
    for f, k, _, _ in CIFAR10_LAYERS:
        total, c = total + k * k * c * f, f
    return total


def cct(
    num_classes: int = 10, in_shape: tuple = (3, 32, 32), layers: int = 7, heads: int = 4,
    mlp_ratio: float = 2.0, dim: int = 256,
) -> nn.Module:
    """CCT-``layers``/3x1 on ``in_shape`` images."""
    tok = cct_tokenizer(in_shape, dim)
    shape = cct_tokenizer_cx(in_shape, dim)[1]
    enc = [cct_encoder(shape, heads, mlp_ratio) for _ in range(layers)]
    return nn.Sequential(tok, *enc, seq_pool(shape), nn.Linear(dim, num_classes))


def cct_cx(
    shape: tuple, num_classes: int = 10, layers: int = 7, heads: int = 4, mlp_ratio: float = 2.0,
    dim: int = 256,
) -> Cx:
    """Analytic complexity of :func:`cct` (attention products included)."""
    cx, tokens = cct_tokenizer_cx(shape, dim)
    for _ in range(layers):
        cx += cct_encoder_cx(tokens, heads, mlp_ratio)[0]
    return cx + seq_pool_cx(tokens)[0] + linear_cx(dim, num_classes)


def espcn(scale: int = 3, in_shape: tuple = (1, 224, 224)) -> nn.Module:
    """ESPCN (paper layout) upscaling a Y channel by ``scale``."""
    c = in_shape[0]
    return nn.Sequential(
        nn.Conv2d(c, 64, 5, padding=2), nn.Tanh(), nn.Conv2d(64, 32, 3, padding=1), nn.Tanh(),
        subpixel_conv((32, *in_shape[1:]), c, scale, 3),
    )


def espcn_cx(shape: tuple, scale: int = 3) -> Cx:
    """Analytic complexity of :func:`espcn`."""
    c, h, w = shape
    cx = conv_cx(c, 64, 5, h, w, bias=True) + conv_cx(64, 32, 3, h, w, bias=True)
    return cx + subpixel_conv_cx((32, h, w), c, scale, 3)[0]
