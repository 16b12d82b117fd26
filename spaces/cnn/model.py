"""PyTorch modules of the stage-wise CNN (:mod:`archsearch.spaces.cnn.spec` defines the structure).

Layer for layer the networks whose complexity :func:`~archsearch.spaces.cnn.spec.complexity`
counts: every conv is bias-free and followed by BN, SE convs and the classifier carry biases.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from archsearch.spaces.cnn.spec import CNNSpec, Stage

from archsearch.ops.hornet import HorNetBlock
from archsearch.ops.largekernel import UniRepLKBlock
from archsearch.ops.ulsam import ULSAM


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]


class SqueezeExcite(nn.Module):
    """Squeeze-excitation: global pool, 1x1 conv (bias), act, 1x1 conv (bias), sigmoid gate."""

    def __init__(self, c: int, c_se: int, act: type[nn.Module]) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.f = nn.Sequential(nn.Conv2d(c, c_se, 1), act(), nn.Conv2d(c_se, c, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.f(self.pool(x))


class Bottleneck(nn.Module):
    """Residual bottleneck: 1x1, grouped kxk (stride), optional SE, 1x1; projection shortcut."""

    def __init__(self, st: Stage, w_in: int, stride: int) -> None:
        super().__init__()
        b, se = st.inner(w_in), st.se_width(w_in)
        layers = [*_conv_bn(w_in, b, 1), nn.ReLU(inplace=True)]
        layers += [*_conv_bn(b, b, st.k, stride, st.groups()), nn.ReLU(inplace=True)]
        if se:
            layers.append(SqueezeExcite(b, se, nn.ReLU))
        layers += _conv_bn(b, st.w, 1)
        self.f = nn.Sequential(*layers)
        project = w_in != st.w or stride != 1
        self.proj = nn.Sequential(*_conv_bn(w_in, st.w, 1, stride)) if project else None
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        short = self.proj(x) if self.proj is not None else x
        return self.act(short + self.f(x))


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk (stride), [ULSAM], SE, 1x1 project; SiLU."""

    def __init__(self, st: Stage, w_in: int, stride: int) -> None:
        super().__init__()
        c, se = st.inner(w_in), st.se_width(w_in)
        layers: list[nn.Module] = []
        if c != w_in:
            layers += [*_conv_bn(w_in, c, 1), nn.SiLU()]
        layers += [*_conv_bn(c, c, st.k, stride, groups=c), nn.SiLU()]
        if st.block == "ulsam-mbconv":
            layers.append(ULSAM(c, st.n))
        if se:
            layers.append(SqueezeExcite(c, se, nn.SiLU))
        layers += _conv_bn(c, st.w, 1)
        self.f = nn.Sequential(*layers)
        self.skip = stride == 1 and w_in == st.w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.f(x)
        return x + y if self.skip else y


class OpBlock(nn.Module):
    """A hornet / dilated-reparam block of the op library, after a transition if needed."""

    def __init__(self, st: Stage, w_in: int, stride: int) -> None:
        super().__init__()
        change = w_in != st.w or stride != 1
        self.transition = nn.Sequential(*_conv_bn(w_in, st.w, 3, stride)) if change else None
        if st.block == "hornet":
            self.block: nn.Module = HorNetBlock(st.w, st.n, st.k)
        else:
            self.block = UniRepLKBlock(st.w, st.k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x if self.transition is None else self.transition(x))


def _block(st: Stage, w_in: int, stride: int) -> nn.Module:
    if st.block == "bottleneck":
        return Bottleneck(st, w_in, stride)
    if st.block in ("hornet", "dilated-reparam"):
        return OpBlock(st, w_in, stride)
    return MBConv(st, w_in, stride)


class CNN(nn.Module):
    """Stem, stages, head: the network of one :class:`CNNSpec`."""

    def __init__(self, spec: CNNSpec, num_classes: int, in_channels: int = 3) -> None:
        super().__init__()
        act = nn.SiLU if spec.family == "mbconv" else nn.ReLU
        self.stem = nn.Sequential(*_conv_bn(in_channels, spec.stem_w, 3, 2), act())
        blocks = [_block(st, w_in, stride) for st, w_in, stride, _ in spec.blocks()]
        self.stages = nn.Sequential(*blocks)
        c = spec.stages[-1].w
        head: list[nn.Module] = []
        if spec.head_w:
            head += [*_conv_bn(c, spec.head_w, 1), act()]
            c = spec.head_w
        head += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.head = nn.Sequential(*head)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.head(self.stages(self.stem(x))))


def build_model(spec: CNNSpec, num_classes: int, in_channels: int = 3) -> nn.Module:
    """The torch model of ``spec`` for ``num_classes`` outputs and ``in_channels`` inputs."""
    return CNN(spec, num_classes, in_channels)
