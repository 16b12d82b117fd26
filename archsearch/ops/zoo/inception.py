"""Inception-ResNet-v2 and Inception-v4 as released (TF-slim, = timm), from the op library.

Inception-ResNet-v2: stem (3x3/2 32, 3x3 32, 3x3 64, max pool, 1x1 80, 3x3 192, max pool,
Mixed_5b -> 320 at 35x35), 10 x A (0.17), Reduction-A (k, l, m, n) = (256, 256, 384, 384)
-> 1088, 20 x B (0.10), Reduction-B -> 2080, 9 x C (0.20) and one C (1.0, no ReLU), 1x1 1536,
global pool, Linear. Inception-v4: stem (-> Mixed_5a, 384 at 35x35), 4 x A, Reduction-A
(192, 224, 256, 384), 7 x B, Reduction-B, 3 x C, global pool, Linear.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from archsearch.complexity import Cx, linear_cx
from archsearch.ops.inception import (
    AVG,
    MAX,
    Branches,
    InceptionC,
    branches_cx,
    chain,
    chain_cx,
    cv,
    inception_block,
    inception_block_cx,
    inception_c_cx,
    reduction_a_branches,
)

_IR_STEM = [cv(32, 3, 2), cv(32, 3), cv(64, 3, p=1), MAX, cv(80), cv(192, 3), MAX]
_MIXED_5B = [
    [cv(96)],
    [cv(48), cv(64, 5, p=2)],
    [cv(64), cv(96, 3, p=1), cv(96, 3, p=1)],
    [AVG, cv(64)],
]
_V4_STEM = [cv(32, 3, 2), cv(32, 3), cv(64, 3, p=1)]
_V4_MIXED = [
    [[MAX], [cv(96, 3, 2)]],
    [
        [cv(64), cv(96, 3)],
        [cv(64), cv(64, (1, 7), p=(0, 3)), cv(64, (7, 1), p=(3, 0)), cv(96, 3)],
    ],
    [[cv(192, 3, 2)], [MAX]],
]

# (op, values) after the stem; ("reduction_a", ...) carries its (k, l, m, n).
_IR_BODY = (
    [("inception_resnet_a", {})] * 10
    + [("reduction_a", (256, 256, 384, 384))]
    + [("inception_resnet_b", {})] * 20
    + [("inception_resnet_reduction_b", {})]
    + [("inception_resnet_c", {})] * 9
    + [("inception_resnet_c", {"scale": 1.0, "relu": False})]
)
_V4_BODY = (
    [("inception_a", {})] * 4
    + [("reduction_a", (192, 224, 256, 384))]
    + [("inception_b", {})] * 7
    + [("inception_v4_reduction_b", {})]
    + [("inception_c", {})] * 3
)


class _Net(nn.Module):
    def __init__(self, features: list[nn.Module], width: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(*features)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean((-2, -1)))


def _body(c: int, body: list) -> list[nn.Module]:
    mods: list[nn.Module] = []
    for name, v in body:
        if name == "reduction_a":
            m: nn.Module = Branches(c, reduction_a_branches(*v), None, False)
        elif name == "inception_c":
            m = InceptionC(c)
        else:
            m = inception_block(name, (c, 1, 1), **v)
        mods.append(m)
        c = m.out_channels
    return mods


def _body_cx(shape: tuple, body: list) -> tuple[Cx, tuple]:
    cx = Cx()
    for name, v in body:
        if name == "reduction_a":
            step, shape = branches_cx(shape, reduction_a_branches(*v), None)
        elif name == "inception_c":
            step, shape = inception_c_cx(shape)
        else:
            step, shape = inception_block_cx(name, shape, **v)
        cx += step
    return cx, shape


def inception_resnet_v2(num_classes: int = 1000, in_chans: int = 3) -> nn.Module:
    """Inception-ResNet-v2 (55,843,464 params with 1000 classes, as timm)."""
    stem, c = chain(in_chans, _IR_STEM)
    mixed = Branches(c, _MIXED_5B, None, False)
    body = _body(mixed.out_channels, _IR_BODY)
    head, _ = chain(body[-1].out_channels, [cv(1536)])
    return _Net([stem, mixed, *body, head], 1536, num_classes)


def inception_resnet_v2_cx(shape: tuple, num_classes: int = 1000) -> Cx:
    """Analytic complexity of :func:`inception_resnet_v2` on a ``(C, H, W)`` input."""
    cx, shape = chain_cx(shape, _IR_STEM)
    step, shape = branches_cx(shape, _MIXED_5B, None)
    body, shape = _body_cx(shape, _IR_BODY)
    head, shape = chain_cx(shape, [cv(1536)])
    return cx + step + body + head + linear_cx(1536, num_classes)


def inception_v4(num_classes: int = 1000, in_chans: int = 3) -> nn.Module:
    """Inception-v4 (42,679,816 params with 1000 classes, as timm)."""
    stem, c = chain(in_chans, _V4_STEM)
    mods: list[nn.Module] = [stem]
    for branches in _V4_MIXED:
        mods.append(Branches(c, branches, None, False))
        c = mods[-1].out_channels
    return _Net(mods + _body(c, _V4_BODY), 1536, num_classes)


def inception_v4_cx(shape: tuple, num_classes: int = 1000) -> Cx:
    """Analytic complexity of :func:`inception_v4` on a ``(C, H, W)`` input."""
    cx, shape = chain_cx(shape, _V4_STEM)
    for branches in _V4_MIXED:
        step, shape = branches_cx(shape, branches, None)
        cx += step
    body, _ = _body_cx(shape, _V4_BODY)
    return cx + body + linear_cx(1536, num_classes)
