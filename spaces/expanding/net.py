"""The expandable CNN as PyTorch modules (the record is :mod:`archsearch.spaces.expanding.spec`).

After Mitchell, Mundt and Kersting, "Self-Expanding Neural Networks" (arXiv 2307.04526) and
Appolinary et al., "Self Expanding Convolutional Neural Networks" (arXiv 2401.05686). Notation
as in :mod:`archsearch.spaces.expanding.spec`; growth moves live in :mod:`archsearch.spaces.expanding.moves`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from archsearch.spaces.expanding.spec import BlockSpec, NetSpec


class ConvLayer(nn.Module):
    """``relu(BN(conv(x)))``, or ``relu(x + conv(BN(x)))`` when residual."""

    def __init__(self, c_in: int, c_out: int, residual: bool = False) -> None:
        super().__init__()
        if residual and c_in != c_out:
            raise ValueError(f"a residual layer needs c_in == c_out, got {c_in} -> {c_out}")
        self.residual = residual
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.residual:
            return F.relu(x + self.conv(self.bn(x)))
        return F.relu(self.bn(self.conv(x)))


class Block(nn.Module):
    """A sequence of :class:`ConvLayer`, then an optional 2x2 max pool."""

    def __init__(self, c_in: int, spec: BlockSpec) -> None:
        super().__init__()
        self.pool = spec.pool
        self.layers = nn.ModuleList(
            ConvLayer(c_in if i == 0 else spec.width, spec.width, kind == "res")
            for i, kind in enumerate(spec.layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return F.max_pool2d(x, 2) if self.pool else x


class ExpandableCNN(nn.Module):
    """Blocks of conv-BN-ReLU layers, global average pooling and a linear head (see module doc)."""

    def __init__(self, spec: NetSpec, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.spec = spec
        c, blocks = spec.in_channels, []
        for b in spec.blocks:
            blocks.append(Block(c, b))
            c = b.width
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(c, spec.num_classes)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Kaiming-normal convs, uniform head, BN at (1, 0), all drawn from ``generator``."""
        for block in self.blocks:
            for layer in block.layers:
                nn.init.kaiming_normal_(
                    layer.conv.weight, nonlinearity="relu", generator=generator
                )
                layer.bn.reset_parameters()
        bound = 1.0 / self.head.in_features**0.5
        nn.init.uniform_(self.head.weight, -bound, bound, generator=generator)
        nn.init.uniform_(self.head.bias, -bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x.mean(dim=(2, 3)))


def param_count(model: nn.Module) -> int:
    """Number of parameters (buffers excluded)."""
    return sum(p.numel() for p in model.parameters())
