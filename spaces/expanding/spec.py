"""Architecture records of the expandable CNN and their analytic size (torch-free).

After Mitchell, Mundt and Kersting, "Self-Expanding Neural Networks" (arXiv 2307.04526) and
Appolinary et al., "Self Expanding Convolutional Neural Networks" (arXiv 2401.05686).

Notation. The network is ``B`` blocks; block ``b`` has width ``C_b`` and a list of layers, each
``relu(BN(conv3x3(x)))`` (kind ``"conv"``) or ``relu(x + conv3x3(BN(x)))`` (kind ``"res"``, a
pre-normalized residual branch); the first layer of a block maps ``C_{b-1} -> C_b``, the others
``C_b -> C_b``. A block may end in a 2x2 max pool. The head is a global average pool and a
linear classifier. Counts follow :mod:`archsearch.complexity`'s convention (multiply-adds of
convs and linear layers, one multiply-add = one FLOP).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archsearch.complexity import Cx, bn_cx, conv_cx, linear_cx

LAYER_KINDS = ("conv", "res")


@dataclass(frozen=True)
class BlockSpec:
    """One block: its width, the kinds of its layers, and whether it ends in a 2x2 max pool."""

    width: int
    layers: tuple[str, ...] = ("conv",)
    pool: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if self.width < 1:
            raise ValueError(f"block width must be >= 1, got {self.width}")
        if not self.layers or self.layers[0] != "conv":
            raise ValueError(f"a block must start with a 'conv' layer, got {self.layers!r}")
        bad = [k for k in self.layers if k not in LAYER_KINDS]
        if bad:
            raise ValueError(f"unknown layer kind {bad[0]!r}; known: {', '.join(LAYER_KINDS)}")


@dataclass(frozen=True)
class NetSpec:
    """The whole architecture of an :class:`ExpandableCNN`; JSON round-trips exactly."""

    in_channels: int
    num_classes: int
    blocks: tuple[BlockSpec, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(self.blocks))
        if not self.blocks:
            raise ValueError("a network needs at least one block")

    @classmethod
    def seed(
        cls, input_shape: tuple[int, ...], num_classes: int, blocks: int, width: int
    ) -> NetSpec:
        """``blocks`` one-layer blocks of ``width`` channels, pooling while the map is >= 2x2."""
        size, out = min(input_shape[1:]), []
        for _ in range(blocks):
            pool = size >= 2
            size = size // 2 if pool else size
            out.append(BlockSpec(width, ("conv",), pool))
        return cls(input_shape[0], num_classes, tuple(out))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "in_channels": self.in_channels,
            "num_classes": self.num_classes,
            "blocks": [
                {"width": b.width, "layers": list(b.layers), "pool": b.pool} for b in self.blocks
            ],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NetSpec:
        """Inverse of :meth:`to_json`."""
        blocks = tuple(BlockSpec(b["width"], tuple(b["layers"]), b["pool"]) for b in d["blocks"])
        return cls(int(d["in_channels"]), int(d["num_classes"]), blocks)

    def describe(self) -> str:
        """Compact text such as ``8x1 / 12x2r`` (width x layers, ``r``: has residual layers)."""
        parts = []
        for b in self.blocks:
            res = "r" * any(k == "res" for k in b.layers)
            parts.append(f"{b.width}x{len(b.layers)}{res}")
        return " / ".join(parts)


def spec_cx(spec: NetSpec, input_shape: tuple[int, ...]) -> Cx:
    """Params, FLOPs and activations of the network ``spec`` describes, without building it.

    Each layer is a bias-free 3x3 conv and a BN; max pooling, residual adds and the global
    average pool are free under the convention; the head is a linear layer with bias.
    """
    cx, c = Cx(), spec.in_channels
    h, w = input_shape[1], input_shape[2]
    for b in spec.blocks:
        for i in range(len(b.layers)):
            cx += conv_cx(c if i == 0 else b.width, b.width, 3, h, w) + bn_cx(b.width)
        c = b.width
        if b.pool:
            h, w = h // 2, w // 2
    return cx + linear_cx(c, spec.num_classes)


def spec_params(spec: NetSpec) -> int:
    """Parameters of the network ``spec`` describes (they do not depend on the input size)."""
    return spec_cx(spec, (spec.in_channels, 1, 1)).params


def spec_flops(spec: NetSpec, input_shape: tuple[int, ...]) -> int:
    """Forward FLOPs (multiply-adds of convs and the head) for one example."""
    return spec_cx(spec, input_shape).flops


def spec_activations(spec: NetSpec, input_shape: tuple[int, ...]) -> int:
    """Output elements of every conv and linear layer for one example."""
    return spec_cx(spec, input_shape).activations
