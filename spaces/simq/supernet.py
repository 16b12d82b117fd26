"""Elastic super-networks with weight sharing: a bottleneck ResNet and a ViT-style encoder.

After Cai et al., "Once-for-All" (ICLR 2020; elastic depth, expansion and width, weights shared
by slicing) and the SimQ-NAS / DyNAS-T super-networks (Sridhar et al., arXiv 2312.13301).

A family is a plain ``nn.Module`` class built from a *dims* record (:class:`ResNetDims`,
:class:`ViTDims`). The super-network is that class at the largest dims. A sub-network of dims
``d`` is the same class built at ``d``; each of its tensors is the **leading slice** of the
super-network tensor of the same name (``W_sub = W_super[:out, :in, ...]``), so:

* :meth:`SuperNet.forward` runs the super-network as sub-network ``d`` with
  ``torch.func.functional_call`` on views of the shared tensors (gradients flow into them);
* :meth:`SuperNet.extract` copies those slices into a standalone model for evaluation.

ResNet notation: stem conv ``3x3`` to ``c0`` channels, stages ``s`` of ``depth_s`` bottleneck
blocks (``1x1 -> 3x3 (stride) -> 1x1`` with ``mid = round(c_s * e)`` channels for expansion
ratio ``e``; the first block of a stage has a ``1x1`` projection shortcut ``down``), global
average pooling, a linear ``head``. ViT notation: non-overlapping ``p x p`` patches embedded by a
linear ``embed`` to width ``D``, learned positions, ``L`` pre-norm encoder layers with ``h_l``
heads of size ``dh`` (``q``, ``k``, ``v``, ``proj``) and an MLP of width ``m_l`` (``fc1``,
``fc2``), mean pooling, a linear ``head``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ResNetDims:
    """Channels of a ResNet: ``stem``, and per stage ``(out, stride, mids per block)``."""

    in_channels: int
    num_classes: int
    stem: int
    stages: tuple[tuple[int, int, tuple[int, ...]], ...]


@dataclass(frozen=True)
class ViTDims:
    """Sizes of a ViT: patch, width ``dim``, head size, and per layer ``(heads, mlp)``."""

    in_channels: int
    image: tuple[int, int]
    num_classes: int
    patch: int
    dim: int
    head_dim: int
    layers: tuple[tuple[int, int], ...]


class Bottleneck(nn.Module):
    """``1x1 -> 3x3 -> 1x1`` bottleneck with BN, ReLU and an optional projection shortcut."""

    def __init__(self, cin: int, mid: int, cout: int, stride: int, project: bool) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3, self.bn3 = nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.down = nn.Conv2d(cin, cout, 1, stride, bias=False) if project else None
        self.down_bn = nn.BatchNorm2d(cout) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        short = x if self.down is None else self.down_bn(self.down(x))
        return F.relu(y + short)


class ResNet(nn.Module):
    """A bottleneck ResNet of the given :class:`ResNetDims`."""

    def __init__(self, dims: ResNetDims) -> None:
        super().__init__()
        self.dims = dims
        self.stem = nn.Conv2d(dims.in_channels, dims.stem, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(dims.stem)
        stages, cin = [], dims.stem
        for cout, stride, mids in dims.stages:
            blocks = []
            for b, mid in enumerate(mids):
                blocks.append(Bottleneck(cin, mid, cout, stride if b == 0 else 1, b == 0))
                cin = cout
            stages.append(nn.ModuleList(blocks))
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(cin, dims.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem_bn(self.stem(x)))
        for stage in self.stages:
            for block in stage:
                x = block(x)
        return self.head(x.mean(dim=(2, 3)))


class EncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer with ``heads`` heads of ``head_dim`` and an MLP."""

    def __init__(self, dim: int, heads: int, head_dim: int, mlp: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.k, self.v = (nn.Linear(dim, inner) for _ in range(3))
        self.proj = nn.Linear(inner, dim)
        self.fc1, self.fc2 = nn.Linear(dim, mlp), nn.Linear(mlp, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        y = self.ln1(x)

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(B, T, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.q(y)), split(self.k(y)), split(self.v(y))
        att = torch.softmax(q @ k.transpose(-2, -1) / self.head_dim**0.5, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, self.heads * self.head_dim)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class ViT(nn.Module):
    """A ViT-style encoder of the given :class:`ViTDims` (mean-pooled tokens)."""

    def __init__(self, dims: ViTDims) -> None:
        super().__init__()
        self.dims = dims
        p, (H, W) = dims.patch, dims.image
        tokens = (H // p) * (W // p)
        self.embed = nn.Linear(dims.in_channels * p * p, dims.dim)
        self.pos = nn.Parameter(torch.randn(tokens, dims.dim) * 0.02)
        self.layers = nn.ModuleList(
            EncoderLayer(dims.dim, h, dims.head_dim, m) for h, m in dims.layers
        )
        self.norm = nn.LayerNorm(dims.dim)
        self.head = nn.Linear(dims.dim, dims.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.dims.patch
        B, C, H, W = x.shape
        x = x.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
        x = self.embed(x.reshape(B, (H // p) * (W // p), C * p * p)) + self.pos
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x).mean(dim=1))


def _family(dims: ResNetDims | ViTDims) -> type[nn.Module]:
    return ResNet if isinstance(dims, ResNetDims) else ViT


def leading_slice(t: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """The view ``t[:shape[0], :shape[1], ...]`` (shapes of equal rank)."""
    if len(shape) != t.dim() or any(s > n for s, n in zip(shape, t.shape)):
        raise ValueError(f"shape {tuple(shape)} is not a leading slice of {tuple(t.shape)}")
    return t[tuple(slice(0, s) for s in shape)]


class SuperNet(nn.Module):
    """The largest network of a family; sub-networks are leading slices of its tensors."""

    def __init__(self, dims: ResNetDims | ViTDims) -> None:
        super().__init__()
        self.net = _family(dims)(dims)
        self._skeletons: dict[object, nn.Module] = {}

    def skeleton(self, dims: ResNetDims | ViTDims) -> nn.Module:
        """An (uninitialized-weights) module of ``dims`` on the meta device, cached."""
        if dims not in self._skeletons:
            with torch.device("meta"):
                self._skeletons[dims] = _family(dims)(dims)
        return self._skeletons[dims]

    def shared(self, dims: ResNetDims | ViTDims) -> dict[str, torch.Tensor]:
        """The sub-network's tensors as views of the super-network's, by name."""
        own = dict(self.net.named_parameters()) | dict(self.net.named_buffers())
        sub = self.skeleton(dims)
        items = list(sub.named_parameters()) + list(sub.named_buffers())
        return {n: leading_slice(own[n], t.shape) for n, t in items}

    def forward(self, x: torch.Tensor, dims: ResNetDims | ViTDims | None = None) -> torch.Tensor:
        """Run sub-network ``dims`` (the whole super-network by default) on shared weights."""
        if dims is None:
            return self.net(x)
        sub = self.skeleton(dims)
        sub.train(self.training)
        return torch.func.functional_call(sub, self.shared(dims), (x,))

    @torch.no_grad()
    def extract(self, dims: ResNetDims | ViTDims) -> nn.Module:
        """A standalone copy of sub-network ``dims`` (cloned slices, same device, eval mode)."""
        device = next(self.net.parameters()).device
        with torch.device(device):
            model = _family(dims)(dims)
        model.load_state_dict({n: t.clone() for n, t in self.shared(dims).items()})
        return model.eval()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_skeletons"] = {}
        return state
