"""The 13 NASNet operations and the projections between hidden states, as torch modules.

Zoph et al., CVPR 2018, App. A.4: ReLU-conv-BN order; a chosen separable conv is applied twice
(no BN/ReLU between its depthwise and pointwise parts); pools and identity get a 1x1
conv-BN only where the channel count (or, for identity, the stride) must change, as in the
released TensorFlow-slim model. Every op maps ``cin`` input channels to ``f`` outputs.
Convolutions have no bias; 'same' padding (stride 2 gives ``ceil(H / 2)``).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def relu_conv_bn(
    cin: int, cout: int, kernel: int = 1, stride: int = 1, dilation: int = 1
) -> nn.Sequential:
    """ReLU, a square bias-free conv with 'same' padding, BN."""
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(cin, cout, kernel, stride, dilation * (kernel // 2), dilation, bias=False),
        nn.BatchNorm2d(cout),
    )


def sep_conv_stack(cin: int, f: int, kernel: int, stride: int) -> nn.Sequential:
    """Two ReLU-separable-BN units; the first strides and maps ``cin`` to ``f``."""
    pad = kernel // 2
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(cin, cin, kernel, stride, pad, groups=cin, bias=False),
        nn.Conv2d(cin, f, 1, bias=False),
        nn.BatchNorm2d(f),
        nn.ReLU(),
        nn.Conv2d(f, f, kernel, 1, pad, groups=f, bias=False),
        nn.Conv2d(f, f, 1, bias=False),
        nn.BatchNorm2d(f),
    )


def factorized_conv(cin: int, f: int, kernel: int, stride: int) -> nn.Sequential:
    """ReLU, a 1 x k conv then a k x 1 conv (each striding along its axis), BN."""
    pad = kernel // 2
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(cin, f, (1, kernel), (1, stride), (0, pad), bias=False),
        nn.Conv2d(f, f, (kernel, 1), (stride, 1), (pad, 0), bias=False),
        nn.BatchNorm2d(f),
    )


def pool(cin: int, f: int, kind: str, kernel: int, stride: int) -> nn.Sequential:
    """Pooling with 'same' padding (averages exclude the padding), then 1x1 conv-BN if needed."""
    if kind == "avg":
        layers: list[nn.Module] = [
            nn.AvgPool2d(kernel, stride, kernel // 2, count_include_pad=False)
        ]
    else:
        layers = [nn.MaxPool2d(kernel, stride, kernel // 2)]
    if cin != f:
        layers += [nn.Conv2d(cin, f, 1, bias=False), nn.BatchNorm2d(f)]
    return nn.Sequential(*layers)


def make_op(op: str, cin: int, f: int, stride: int) -> nn.Module:
    """The torch module of one of the 13 operations (names in ``archsearch.spaces.nasnet.plan.OPS``)."""
    if op.startswith("sep_conv"):
        return sep_conv_stack(cin, f, int(op[-1]), stride)
    if op in ("conv_1x3_3x1", "conv_1x7_7x1"):
        return factorized_conv(cin, f, int(op[7]), stride)
    if op.startswith("dil_conv"):
        return relu_conv_bn(cin, f, int(op[-1]), stride, dilation=2)
    if op.startswith("conv"):
        return relu_conv_bn(cin, f, int(op[-1]), stride)
    if "pool" in op:
        return pool(cin, f, op[:3], int(op[-1]), stride)
    if op == "identity":
        return relu_conv_bn(cin, f, 1, stride) if stride > 1 or cin != f else nn.Identity()
    raise ValueError(f"unknown NASNet op {op!r}")


class FactorizedReduce(nn.Module):
    """Bring a state to ``cout`` channels (and, at stride 2, half the size) without losing pixels.

    Stride 2: two 1x1 convs on the even and on the one-pixel-shifted grid, concatenated, BN.
    Stride 1: a 1x1 conv and BN.
    """

    def __init__(self, cin: int, cout: int, stride: int, relu: bool) -> None:
        super().__init__()
        self.stride, self.relu = stride, relu
        if stride == 1:
            self.path1 = nn.Conv2d(cin, cout, 1, bias=False)
            self.path2 = None
        else:
            self.path1 = nn.Conv2d(cin, cout // 2, 1, bias=False)
            self.path2 = nn.Conv2d(cin, cout - cout // 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.relu:
            x = F.relu(x)
        if self.path2 is None:
            return self.bn(self.path1(x))
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        y = torch.cat([self.path1(x[:, :, ::2, ::2]), self.path2(shifted[:, :, ::2, ::2])], 1)
        return self.bn(y)


def drop_path(x: torch.Tensor, prob: float) -> torch.Tensor:
    """Zero whole samples of ``x`` with probability ``prob``; scale the kept ones by 1/keep."""
    if prob <= 0.0:
        return x
    keep = 1.0 - prob
    mask = torch.empty((x.shape[0], 1, 1, 1), device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * mask / keep


class AuxHead(nn.Module):
    """Auxiliary classifier (App. A.7): ReLU, avg pool 5/3, 1x1 conv 128, conv to 768, FC."""

    def __init__(self, cin: int, h: int, w: int, num_classes: int) -> None:
        super().__init__()
        ah, aw = (h - min(5, h)) // 3 + 1, (w - min(5, w)) // 3 + 1
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.AvgPool2d((min(5, h), min(5, w)), 3),
            nn.Conv2d(cin, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 768, (ah, aw), bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(768, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
