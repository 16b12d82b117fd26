"""The expandable CNN and its function-preserving growth.

After Mitchell, Mundt and Kersting, "Self-Expanding Neural Networks" (arXiv 2307.04526) and
Appolinary et al., "Self Expanding Convolutional Neural Networks" (arXiv 2401.05686).

Notation. The network is ``B`` blocks; block ``b`` has width ``C_b`` and a list of layers, each
``relu(BN(conv3x3(x)))`` (kind ``"conv"``) or ``relu(x + conv3x3(BN(x)))`` (kind ``"res"``, a
pre-normalized residual branch);
the first layer of a block maps ``C_{b-1} -> C_b``, the others ``C_b -> C_b``. A block may end in
a 2x2 max pool. The head is a global average pool and a linear classifier.

Two growths, both exact at the moment they happen (the grown network computes the same function):

* :func:`widen` adds ``k`` output channels to every layer of block ``b``. Old weights, BN scales
  and running statistics stay where they were (the leading block of each tensor); new channels
  get random incoming weights and fresh BN channels, and every weight that *reads* a new channel
  into an old channel is zero, so old outputs never see the new ones.
* :func:`deepen` appends a layer to block ``b``. ``init="residual"``: a ``"res"`` layer whose
  conv starts at zero, so the branch is exactly zero in train and eval mode (its input is a
  ReLU output, hence ``relu(x + 0) = x``) while the conv still receives a gradient. ``init="identity"``: a plain layer whose kernel is a
  centre tap and whose BN is the identity under its running statistics (exact in eval mode; in
  train mode BN normalises with batch statistics, so the function moves on the first step).

Every parameter of the old network keeps its name and sits in the leading block of the new
tensor of that name, which is what :func:`carry_optimizer` relies on.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

LAYER_KINDS = ("conv", "res")
LAYER_INITS = ("residual", "identity")
CHECKPOINT_FORMAT = "archsearch.expanding/1"


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


def spec_params(spec: NetSpec) -> int:
    """Parameters of the network ``spec`` describes, computed without building it."""
    total, c = 0, spec.in_channels
    for b in spec.blocks:
        for i in range(len(b.layers)):
            c_in = c if i == 0 else b.width
            total += 9 * c_in * b.width + 2 * b.width
        c = b.width
    return total + c * spec.num_classes + spec.num_classes


def spec_flops(spec: NetSpec, input_shape: tuple[int, ...]) -> int:
    """Forward FLOPs for one example, one fused multiply-add = one FLOP (fvcore convention).

    Counts convs, eval-mode BN (2 per element), residual adds (1 per element), the global
    average pool (1 per input element) and the head; ReLU and max pooling are free.
    """
    total, c = 0, spec.in_channels
    h, w = input_shape[1], input_shape[2]
    for b in spec.blocks:
        for i, kind in enumerate(b.layers):
            c_in = c if i == 0 else b.width
            total += h * w * b.width * (9 * c_in + 2 + (kind == "res"))
        c = b.width
        if b.pool:
            h, w = h // 2, w // 2
    return total + c * h * w + c * spec.num_classes


def spec_activations(spec: NetSpec, input_shape: tuple[int, ...]) -> int:
    """Output elements of every conv and linear layer for one example (fvcore convention)."""
    total, (h, w) = 0, input_shape[1:3]
    for b in spec.blocks:
        total += h * w * b.width * len(b.layers)
        if b.pool:
            h, w = h // 2, w // 2
    return total + spec.num_classes


def _grown(
    model: ExpandableCNN, spec: NetSpec, generator: torch.Generator | None
) -> ExpandableCNN:
    """A fresh network for ``spec`` with ``model``'s tensors copied into the leading blocks.

    Every weight entry that reads a new input channel into an old output channel is zeroed, so
    old channels compute exactly what they computed before.
    """
    new = ExpandableCNN(spec, generator).to(next(model.parameters()).device)
    old_state = model.state_dict()
    with torch.no_grad():
        for name, t in new.state_dict().items():
            if name not in old_state:
                continue
            o = old_state[name]
            if o.dim() == 0:
                t.copy_(o)
                continue
            t[tuple(slice(0, s) for s in o.shape)] = o
            if t.dim() >= 2 and t.shape[1] > o.shape[1]:
                t[: o.shape[0], o.shape[1] :] = 0.0
    return new


def widen(
    model: ExpandableCNN, block: int, by: int, generator: torch.Generator | None = None
) -> ExpandableCNN:
    """A copy of ``model`` with ``by`` more channels in every layer of ``block`` (exact)."""
    spec = model.spec
    _check_block(spec, block)
    if by < 1:
        raise ValueError(f"widen: by must be >= 1, got {by}")
    blocks = list(spec.blocks)
    blocks[block] = replace(blocks[block], width=blocks[block].width + by)
    return _grown(model, replace(spec, blocks=tuple(blocks)), generator)


def deepen(
    model: ExpandableCNN,
    block: int,
    init: str = "residual",
    generator: torch.Generator | None = None,
) -> ExpandableCNN:
    """A copy of ``model`` with one identity-initialised layer appended to ``block`` (exact)."""
    spec = model.spec
    _check_block(spec, block)
    if init not in LAYER_INITS:
        raise ValueError(f"unknown layer init {init!r}; known: {', '.join(LAYER_INITS)}")
    kind = "res" if init == "residual" else "conv"
    blocks = list(spec.blocks)
    blocks[block] = replace(blocks[block], layers=(*blocks[block].layers, kind))
    new = _grown(model, replace(spec, blocks=tuple(blocks)), generator)
    layer = new.blocks[block].layers[-1]
    with torch.no_grad():
        if init == "residual":
            layer.conv.weight.zero_()
        else:
            c = spec.blocks[block].width
            layer.conv.weight.zero_()
            layer.conv.weight[torch.arange(c), torch.arange(c), 1, 1] = 1.0
            layer.bn.running_mean.zero_()
            layer.bn.running_var.fill_(1.0)
            layer.bn.weight.fill_((1.0 + layer.bn.eps) ** 0.5)
            layer.bn.bias.zero_()
    return new


def _check_block(spec: NetSpec, block: int) -> None:
    if not 0 <= block < len(spec.blocks):
        raise ValueError(
            f"block {block} does not exist; the network has blocks 0..{len(spec.blocks) - 1}"
        )


def carry_optimizer(
    optimizer: torch.optim.Optimizer, old: nn.Module, new: nn.Module
) -> torch.optim.Optimizer:
    """Point ``optimizer`` (in place) at ``new``'s parameters, keeping the state of old ones.

    A parameter of ``new`` whose name exists in ``old`` inherits its state tensors (momentum
    buffers, Adam moments) in the leading block, zero-padded for the new entries; scalar state
    (Adam's step) is kept. Parameters only ``new`` has join the first group with empty state.
    """
    old_params = dict(old.named_parameters())
    by_id = {id(p): name for name, p in old_params.items()}
    new_params = dict(new.named_parameters())
    placed: set[str] = set()
    for group in optimizer.param_groups:
        moved = []
        for p in group["params"]:
            name = by_id.get(id(p))
            if name is None:
                raise ValueError(
                    "carry_optimizer: the optimizer holds a parameter not in the old model"
                )
            if name not in new_params:
                continue
            q = new_params[name]
            state = optimizer.state.pop(p, None)
            if state:
                optimizer.state[q] = {k: _pad_state(v, p, q) for k, v in state.items()}
            moved.append(q)
            placed.add(name)
        group["params"] = moved
    optimizer.param_groups[0]["params"].extend(
        q for name, q in new_params.items() if name not in placed
    )
    return optimizer


def _pad_state(value: Any, old: torch.Tensor, new: torch.Tensor) -> Any:
    if not isinstance(value, torch.Tensor) or value.shape != old.shape or value.dim() == 0:
        return value
    out = torch.zeros_like(new)
    out[tuple(slice(0, s) for s in value.shape)] = value
    return out


def save_checkpoint(path: str | Path, model: ExpandableCNN, **meta: Any) -> Path:
    """Write ``model`` (architecture spec and weights) plus JSON-ready ``meta`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "format": CHECKPOINT_FORMAT,
        "spec": json.dumps(model.spec.to_json()),
        "meta": json.dumps(meta),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    torch.save(blob, path)
    return path


def read_checkpoint(path: str | Path) -> tuple[ExpandableCNN, dict[str, Any]]:
    """The model (in eval mode, on CPU) and the metadata stored at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not an expanding-network checkpoint ({CHECKPOINT_FORMAT})")
    model = ExpandableCNN(NetSpec.from_json(json.loads(blob["spec"])))
    model.load_state_dict(blob["state_dict"])
    return model.eval(), json.loads(blob["meta"])


def load_checkpoint(path: str | Path) -> ExpandableCNN:
    """The self-contained model stored at ``path`` (eval mode, CPU)."""
    return read_checkpoint(path)[0]


def clone(model: ExpandableCNN) -> ExpandableCNN:
    """A deep copy (same spec, weights and buffers)."""
    return copy.deepcopy(model)
