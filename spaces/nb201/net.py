"""The NAS-Bench-201 network in PyTorch (cells, residual reduction blocks, stem and head).

After Dong and Yang, "NAS-Bench-201" (ICLR 2020), Sec. 2.1 and Fig. 1; see
:mod:`archsearch.spaces.nb201` for the notation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from archsearch.space import Task


class ReLUConvBN(nn.Sequential):
    """ReLU, then a k x k convolution, then batch norm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The ``none`` operation: an all-zero output of the input's shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(op: str, channels: int) -> nn.Module:
    """One edge operation of the cell."""
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1)
    if op == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NB201 op {op!r}")


class Cell(nn.Module):
    """A 4-node cell; ``ops`` are the 6 edge operations in arch_str order."""

    EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(make_op(op, channels) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        k = 0
        for j in range(1, 4):
            total = 0
            for _ in range(j):
                total = total + self.edges[k](nodes[self.EDGES[k][1]])
                k += 1
            nodes.append(total)
        return nodes[3]


class ResidualReduction(nn.Module):
    """The residual block between stages: two 3x3 ReLU-Conv-BN (stride 2) plus a pooled 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2, padding=0), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """Stem, three stages of ``N`` cells (C, 2C, 4C channels) with reductions, and the head."""

    def __init__(self, ops: Sequence[str], C: int, N: int, task: Task) -> None:
        super().__init__()
        c_in = task.input_shape[0]
        self.stem = nn.Sequential(nn.Conv2d(c_in, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        for stage, width in enumerate((C, 2 * C, 4 * C)):
            if stage:
                layers.append(ResidualReduction(width // 2, width))
            layers.extend(Cell(ops, width) for _ in range(N))
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.BatchNorm2d(4 * C),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4 * C, task.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.cells(self.stem(x)))
