"""Inception-v4 and Inception-ResNet blocks (Szegedy, Ioffe, Vanhoucke, Alemi, AAAI 2017).

Each block is a table of branches applied to the same input and concatenated; a branch is a
chain of conv-BN-ReLU units (``c``: output channels, ``kh x kw`` kernel, stride, padding; bias
free, BN eps 1e-3) and pools, laid out as the released TF-slim / timm networks are. The
Inception-ResNet blocks project the concatenation back to the input width with a 1x1 conv
(bias, no BN) and add it scaled, ``x + s * branch`` (residual scaling, s in 0.1..0.3, as the
paper advises past ~1000 filters), then ReLU. The one table both builds the module and feeds
its analytic twin, so the two cannot disagree on the layout.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from archsearch.complexity import Cx, bn_cx, conv_cx
from archsearch.ops._base import check_image, conv_out

Unit = tuple  # ("c", c_out, kh, kw, stride, ph, pw) | ("max" | "avg", k, stride, pad)


def cv(c: int, k: int | tuple[int, int] = 1, s: int = 1, p: int | tuple[int, int] = 0) -> Unit:
    """A conv-BN-ReLU unit of ``c`` outputs."""
    kh, kw = (k, k) if isinstance(k, int) else k
    ph, pw = (p, p) if isinstance(p, int) else p
    return ("c", c, kh, kw, s, ph, pw)


MAX = ("max", 3, 2, 0)
AVG = ("avg", 3, 1, 1)


class _Pool(nn.Module):
    def __init__(self, kind: str, k: int, s: int, p: int) -> None:
        super().__init__()
        self.pool = (
            nn.MaxPool2d(k, s, p) if kind == "max" else nn.AvgPool2d(k, s, p, count_include_pad=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)


def _unit(c_in: int, u: Unit) -> tuple[nn.Module, int]:
    if u[0] != "c":
        return _Pool(*u), c_in
    _, c, kh, kw, s, ph, pw = u
    conv = nn.Conv2d(c_in, c, (kh, kw), s, (ph, pw), bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(c, eps=1e-3), nn.ReLU()), c


def chain(c_in: int, units: list[Unit]) -> tuple[nn.Sequential, int]:
    """The units applied one after another; returns (module, output channels)."""
    mods = []
    for u in units:
        m, c_in = _unit(c_in, u)
        mods.append(m)
    return nn.Sequential(*mods), c_in


def chain_cx(shape: tuple, units: list[Unit]) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`chain` on a ``(C, H, W)`` input."""
    c, h, w = shape
    cx = Cx()
    for u in units:
        if u[0] == "c":
            _, co, kh, kw, s, ph, pw = u
            h, w = conv_out(h, kh, s, ph), conv_out(w, kw, s, pw)
            cx += conv_cx(c, co, (kh, kw), h, w) + bn_cx(co)
            c = co
        else:
            _, k, s, p = u
            h, w = conv_out(h, k, s, p), conv_out(w, k, s, p)
    return cx, (c, h, w)


class Branches(nn.Module):
    """Branches on one input, concatenated; optionally the residual ``x + s * up(cat)``."""

    def __init__(self, c_in: int, branches: list[list[Unit]], scale: float | None, relu: bool):
        super().__init__()
        built = [chain(c_in, b) for b in branches]
        self.branches = nn.ModuleList(m for m, _ in built)
        self.scale, self.relu = scale, relu
        cat = sum(c for _, c in built)
        self.up = nn.Conv2d(cat, c_in, 1) if scale is not None else None
        self.out_channels = c_in if scale is not None else cat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([b(x) for b in self.branches], dim=1)
        if self.up is not None:
            y = x + self.scale * self.up(y)
        return torch.relu(y) if self.relu else y


def branches_cx(
    shape: tuple, branches: list[list[Unit]], scale: float | None
) -> tuple[Cx, tuple]:
    """Analytic twin of :class:`Branches`."""
    cx, outs = Cx(), []
    for b in branches:
        bcx, out = chain_cx(shape, b)
        cx, outs = cx + bcx, outs + [out]
    if len({o[1:] for o in outs}) != 1:
        raise ValueError(f"inception branches end at different sizes {outs} from {shape}")
    cat = sum(o[0] for o in outs)
    if scale is None:
        return cx, (cat, *outs[0][1:])
    return cx + conv_cx(cat, shape[0], 1, shape[1], shape[2], bias=True), tuple(shape)


# Block tables: name -> (branches of a c-channel input, residual scale or None, ReLU at the end).
def _ir_a(c: int) -> list:
    return [[cv(32)], [cv(32), cv(32, 3, p=1)], [cv(32), cv(48, 3, p=1), cv(64, 3, p=1)]]


def _ir_b(c: int) -> list:
    return [[cv(192)], [cv(128), cv(160, (1, 7), p=(0, 3)), cv(192, (7, 1), p=(3, 0))]]


def _ir_c(c: int) -> list:
    return [[cv(192)], [cv(192), cv(224, (1, 3), p=(0, 1)), cv(256, (3, 1), p=(1, 0))]]


def _ir_reduction_b(c: int) -> list:
    return [
        [cv(256), cv(384, 3, 2)],
        [cv(256), cv(288, 3, 2)],
        [cv(256), cv(288, 3, p=1), cv(320, 3, 2)],
        [MAX],
    ]


def _v4_a(c: int) -> list:
    return [
        [cv(96)],
        [cv(64), cv(96, 3, p=1)],
        [cv(64), cv(96, 3, p=1), cv(96, 3, p=1)],
        [AVG, cv(96)],
    ]


def _v4_b(c: int) -> list:
    s17, s71 = dict(k=(1, 7), p=(0, 3)), dict(k=(7, 1), p=(3, 0))
    return [
        [cv(384)],
        [cv(192), cv(224, **s17), cv(256, **s71)],
        [cv(192), cv(192, **s71), cv(224, **s17), cv(224, **s71), cv(256, **s17)],
        [AVG, cv(128)],
    ]


def _v4_reduction_b(c: int) -> list:
    return [
        [cv(192), cv(192, 3, 2)],
        [cv(256), cv(256, (1, 7), p=(0, 3)), cv(320, (7, 1), p=(3, 0)), cv(320, 3, 2)],
        [MAX],
    ]


_TABLES: dict[str, tuple[Callable[[int], list], float | None, bool]] = {
    "inception_resnet_a": (_ir_a, 0.17, True),
    "inception_resnet_b": (_ir_b, 0.10, True),
    "inception_resnet_c": (_ir_c, 0.20, True),
    "inception_resnet_reduction_b": (_ir_reduction_b, None, False),
    "inception_a": (_v4_a, None, False),
    "inception_b": (_v4_b, None, False),
    "inception_v4_reduction_b": (_v4_reduction_b, None, False),
}


def reduction_a_branches(k: int, l: int, m: int, n: int) -> list:  # noqa: E741
    """The paper's Reduction-A with filter counts (k, l, m, n) (Inception-v4: 192, 224, 256, 384)."""
    return [[cv(n, 3, 2)], [cv(k), cv(l, 3, p=1), cv(m, 3, 2)], [MAX]]


def _spec(name: str, in_shape: tuple, scale: float | None, relu: bool | None) -> tuple:
    check_image(name, in_shape)
    table, default_scale, default_relu = _TABLES[name]
    if default_scale is None and scale is not None:
        raise ValueError(f"{name} has no residual branch; scale={scale!r} is not allowed")
    s = default_scale if scale is None else float(scale)
    return table(in_shape[0]), s, default_relu if relu is None else bool(relu)


def inception_block(
    name: str, in_shape: tuple, scale: float | None = None, relu: bool | None = None
) -> nn.Module:
    """The block ``name`` of :data:`_TABLES` on ``in_shape`` (``scale``: residual scaling)."""
    branches, s, r = _spec(name, in_shape, scale, relu)
    return Branches(in_shape[0], branches, s, r)


def inception_block_cx(
    name: str, in_shape: tuple, scale: float | None = None, relu: bool | None = None
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`inception_block`."""
    branches, s, _ = _spec(name, in_shape, scale, relu)
    return branches_cx(tuple(in_shape), branches, s)


def reduction_a(in_shape: tuple, k: int = 192, l: int = 224, m: int = 256, n: int = 384):  # noqa: E741
    """Reduction-A (35 -> 17): 3x3/2 n | 1x1 k, 3x3 l, 3x3/2 m | max pool 3/2."""
    check_image("reduction_a", in_shape)
    return Branches(in_shape[0], reduction_a_branches(k, l, m, n), None, False)


def reduction_a_cx(
    in_shape: tuple, k: int = 192, l: int = 224, m: int = 256, n: int = 384  # noqa: E741
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`reduction_a`."""
    check_image("reduction_a", in_shape)
    return branches_cx(tuple(in_shape), reduction_a_branches(k, l, m, n), None)


class InceptionC(nn.Module):
    """Inception-v4's C block: two of its branches fork into parallel 1x3 and 3x1 convs."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.b0, _ = chain(c, [cv(256)])
        self.b1, _ = chain(c, [cv(384)])
        self.b1a, _ = chain(384, [cv(256, (1, 3), p=(0, 1))])
        self.b1b, _ = chain(384, [cv(256, (3, 1), p=(1, 0))])
        self.b2, _ = chain(c, [cv(384), cv(448, (3, 1), p=(1, 0)), cv(512, (1, 3), p=(0, 1))])
        self.b2a, _ = chain(512, [cv(256, (1, 3), p=(0, 1))])
        self.b2b, _ = chain(512, [cv(256, (3, 1), p=(1, 0))])
        self.b3, _ = chain(c, [AVG, cv(256)])
        self.out_channels = 1536

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y1, y2 = self.b1(x), self.b2(x)
        parts = [self.b0(x), self.b1a(y1), self.b1b(y1), self.b2a(y2), self.b2b(y2), self.b3(x)]
        return torch.cat(parts, dim=1)


def inception_c(in_shape: tuple) -> nn.Module:
    """Inception-v4's C block (8x8 grid), 1536 output channels."""
    return InceptionC(check_image("inception_c", in_shape)[0])


def inception_c_cx(in_shape: tuple) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`inception_c`."""
    c, h, w = check_image("inception_c", in_shape)
    cx = Cx()
    for part in ([cv(256)], [cv(384)], [cv(384), cv(448, (3, 1), p=(1, 0)), cv(512, (1, 3), p=(0, 1))], [AVG, cv(256)]):
        cx += chain_cx((c, h, w), part)[0]
    for c_mid in (384, 512):
        cx += chain_cx((c_mid, h, w), [cv(256, (1, 3), p=(0, 1))])[0]
        cx += chain_cx((c_mid, h, w), [cv(256, (3, 1), p=(1, 0))])[0]
    return cx, (1536, h, w)
