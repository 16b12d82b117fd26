"""PyTorch side of the module language: layer factories and the compiler of decided trees.

Every factory takes the input shape ``(C, H, W)`` (or ``(F,)``) first, then the layer's
hyperparameter values, and returns an ``nn.Module``. Output shapes are inferred by running a
zero tensor through each layer once at build time, so factories never compute shapes.
"""

from __future__ import annotations

import torch
import torch.nn as nn


def conv(in_shape: tuple, filters: int, kernel: int = 3, stride: int = 1) -> nn.Module:
    """Conv-BN-ReLU with 'same' padding."""
    return nn.Sequential(
        nn.Conv2d(in_shape[0], filters, kernel, stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(filters),
        nn.ReLU(inplace=True),
    )


def sep_conv(in_shape: tuple, filters: int, kernel: int = 3, stride: int = 1) -> nn.Module:
    """Depthwise-separable conv (depthwise, pointwise), then BN-ReLU."""
    c = in_shape[0]
    return nn.Sequential(
        nn.Conv2d(c, c, kernel, stride, padding=kernel // 2, groups=c, bias=False),
        nn.Conv2d(c, filters, 1, bias=False),
        nn.BatchNorm2d(filters),
        nn.ReLU(inplace=True),
    )


def max_pool(in_shape: tuple, kernel: int = 3, stride: int = 1) -> nn.Module:
    """Max pooling with 'same' padding (stride 2 halves the size)."""
    return nn.MaxPool2d(kernel, stride, padding=kernel // 2)


def avg_pool(in_shape: tuple, kernel: int = 3, stride: int = 1) -> nn.Module:
    """Average pooling with 'same' padding, not counting the padding."""
    return nn.AvgPool2d(kernel, stride, padding=kernel // 2, count_include_pad=False)


def batch_norm(in_shape: tuple) -> nn.Module:
    """Batch normalization over channels (or features)."""
    return nn.BatchNorm2d(in_shape[0]) if len(in_shape) == 3 else nn.BatchNorm1d(in_shape[0])


def relu(in_shape: tuple) -> nn.Module:
    """ReLU."""
    return nn.ReLU()


def dropout(in_shape: tuple, rate: float = 0.5) -> nn.Module:
    """Dropout with drop probability ``rate``."""
    return nn.Dropout(rate)


def dense(in_shape: tuple, units: int) -> nn.Module:
    """Flatten (if needed), then Linear-ReLU."""
    n = 1
    for s in in_shape:
        n *= s
    return nn.Sequential(nn.Flatten(), nn.Linear(n, units), nn.ReLU(inplace=True))


def identity(in_shape: tuple) -> nn.Module:
    """Identity."""
    return nn.Identity()


def classifier_head(shape: tuple, num_classes: int) -> nn.Module:
    """Global average pooling (for image features) and a linear classifier."""
    if len(shape) == 3:
        return nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(shape[0], num_classes)
        )
    n = 1
    for s in shape:
        n *= s
    return nn.Sequential(nn.Flatten(), nn.Linear(n, num_classes))


def output_shape(module: nn.Module, in_shape: tuple) -> tuple:
    """Shape of ``module``'s output for one input of shape ``in_shape`` (batch dim dropped)."""
    was_training = module.training
    module.eval()
    with torch.no_grad():
        y = module(torch.zeros(1, *in_shape))
    module.train(was_training)
    return tuple(y.shape[1:])


class ResidualBlock(nn.Module):
    """``proj(x) + body(x)``; ``proj`` is identity when shapes agree."""

    def __init__(self, body: nn.Module, proj: nn.Module) -> None:
        super().__init__()
        self.body, self.proj = body, proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x) + self.body(x)


class ParallelBlock(nn.Module):
    """Branches on the same input, added or concatenated along channels."""

    def __init__(self, branches: list[nn.Module], combine: str) -> None:
        super().__init__()
        self.branches, self.combine = nn.ModuleList(branches), combine

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        if self.combine == "add":
            return torch.stack(outs).sum(0)
        return torch.cat(outs, dim=1)


def _projection(in_shape: tuple, out_shape: tuple) -> nn.Module:
    if in_shape == out_shape:
        return nn.Identity()
    if len(in_shape) != 3 or len(out_shape) != 3:
        raise ValueError(f"residual cannot project shape {in_shape} to {out_shape}")
    stride = max(1, round(in_shape[1] / out_shape[1]))
    return nn.Sequential(
        nn.Conv2d(in_shape[0], out_shape[0], 1, stride, bias=False), nn.BatchNorm2d(out_shape[0])
    )


def compile_decided(tree: tuple, in_shape: tuple) -> tuple[nn.Module, tuple]:
    """Compile a decided tree from :func:`archsearch.modules.resolve`; returns (module, out shape)."""
    kind = tree[0]
    if kind == "layer":
        _, factory, kw, path = tree
        try:
            m = factory(tuple(in_shape), **kw)
            return m, output_shape(m, in_shape)
        except Exception as e:
            raise ValueError(
                f"layer '{path}' cannot take input of shape {tuple(in_shape)}: {e}"
            ) from e
    if kind == "seq":
        mods, shape = [], tuple(in_shape)
        for child in tree[1]:
            m, shape = compile_decided(child, shape)
            mods.append(m)
        if not mods:
            return nn.Identity(), shape
        return (mods[0] if len(mods) == 1 else nn.Sequential(*mods)), shape
    if kind == "residual":
        body, shape = compile_decided(tree[1], in_shape)
        return ResidualBlock(body, _projection(tuple(in_shape), shape)), shape
    if kind == "parallel":
        built = [compile_decided(b, in_shape) for b in tree[1]]
        shapes = [s for _, s in built]
        combine = tree[2]
        if combine == "add" and len(set(shapes)) > 1:
            raise ValueError(f"cannot add branches of different shapes {shapes}")
        if combine == "concat" and len({s[1:] for s in shapes}) > 1:
            raise ValueError(f"cannot concatenate branches of different spatial shapes {shapes}")
        out = shapes[0] if combine == "add" else (sum(s[0] for s in shapes), *shapes[0][1:])
        return ParallelBlock([m for m, _ in built], combine), out
    raise ValueError(f"unknown node kind {kind!r}")
