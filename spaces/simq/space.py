"""SimQ spaces: sub-network architecture and per-layer bit widths of a weight-sharing super-network.

After Sridhar, Szankin, Chen, Sundaresan and Sarah, "SimQ-NAS: Simultaneous Quantization Policy
and Neural Architecture Search" (Intel Labs, arXiv 2312.13301), and the encoding of its toolkit
DyNAS-T. A decision record has two parts:

1. **architecture genes** of the elastic super-network (:mod:`archsearch.spaces.simq.supernet`):
   ``simq-resnet``: ``width`` (a multiplier of every stage's channels), per stage
   ``stage{s}/depth`` and, per active block, ``stage{s}/block{b}/expand`` (bottleneck ratio ``e``);
   ``simq-vit``: ``depth`` (encoder layers) and, per active layer, ``layer{l}/heads`` and
   ``layer{l}/mlp``;
2. **one bit-width gene** ``bits/<layer>`` per conv / linear layer of the chosen sub-network, from
   ``{8, 32}`` as in SimQ-NAS, or ``{4, 8, 32}`` with ``bits=[4, 8, 32]``.

Genes of inactive blocks or layers are never opened (the space is tree-structured), and
:meth:`SimQSpace.encode` writes all their one-hot entries as zeros, the masking DyNAS-T applies
to its predictor features. ``build`` returns the float sub-network of a freshly initialized
super-network; searches use :meth:`SimQSpace.evaluator`, which trains the super-network once and
evaluates quantized sub-networks without retraining (:mod:`archsearch.spaces.simq.eval`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from archsearch.arch import Architecture
from archsearch.params import Choice, Param, Value
from archsearch.space import Space, Task

if TYPE_CHECKING:
    import torch

BIT_SETS = ((8, 32), (4, 8, 32))


@dataclass(frozen=True)
class ResNetSpace:
    """Choices of the elastic ResNet (widths are the channels at multiplier 1)."""

    stem: int = 16
    widths: tuple[int, ...] = (16, 32, 64)
    strides: tuple[int, ...] = (1, 2, 2)
    depths: tuple[int, ...] = (1, 2, 3)
    expands: tuple[float, ...] = (0.25, 0.5, 1.0)
    multipliers: tuple[float, ...] = (0.5, 0.75, 1.0)


@dataclass(frozen=True)
class ViTSpace:
    """Choices of the elastic ViT encoder (fixed patch, width and head size)."""

    patch: int = 2
    dim: int = 32
    head_dim: int = 8
    depths: tuple[int, ...] = (1, 2, 3)
    heads: tuple[int, ...] = (1, 2, 4)
    mlps: tuple[int, ...] = (32, 64, 128)


def _bits(bits: Any) -> tuple[int, ...]:
    if isinstance(bits, str):
        bits = [b for b in bits.replace("[", "").replace("]", "").split(",") if b.strip()]
    try:
        out = tuple(sorted(int(b) for b in bits))
    except (TypeError, ValueError):
        out = ()
    if out not in BIT_SETS:
        raise ValueError(f"bits={bits!r} is not allowed; expected one of [8, 32] or [4, 8, 32]")
    return out


class SimQSpace(Space):
    """Architecture genes, then one bit-width gene per quantizable layer (module docstring)."""

    family = ""

    def __init__(self, bits: Any = (8, 32), **evaluation: Any) -> None:
        from archsearch.spaces.simq.train import EvalSettings

        self.bits = _bits(bits)
        self.settings = EvalSettings.make(**evaluation)
        self._params: dict[str, Param] = {}
        self._layout: tuple[dict[str, tuple[int, list]], int] | None = None
        self._bit_cache: dict[tuple, list[Param]] = {}
        self._bound: tuple[Task, Any] | None = None
        self._profiles: dict[Any, Any] = {}

    def param(self, name: str, options: Sequence[Value]) -> Param:
        """The cached ``Choice`` named ``name``."""
        if name not in self._params:
            self._params[name] = Choice(name, list(options))
        return self._params[name]

    @abstractmethod
    def _arch_walk(self, d: Mapping[str, Value]) -> Iterator[Param]:
        """The architecture genes in order, reading earlier values from ``d``."""

    @abstractmethod
    def layers(self, d: Mapping[str, Value]) -> list[str]:
        """Names of the quantizable layers of the sub-network chosen by ``d``'s architecture genes."""

    @abstractmethod
    def dims(self, arch: Architecture | Mapping[str, Value], task: Task) -> Any:
        """The sub-network's dims record for ``task``."""

    @abstractmethod
    def max_dims(self, task: Task) -> Any:
        """The super-network's dims for ``task``."""

    def _bit_params(self, d: Mapping[str, Value], arch_names: tuple[str, ...]) -> list[Param]:
        key = tuple(d[n] for n in arch_names)
        if key not in self._bit_cache:
            self._bit_cache[key] = [
                self.param(f"bits/{layer}", self.bits) for layer in self.layers(d)
            ]
        return self._bit_cache[key]

    def next_param(self, partial: Mapping[str, Value]) -> Param | None:
        names = []
        for p in self._arch_walk(partial):
            if p.name not in partial:
                return p
            names.append(p.name)
        for p in self._bit_params(partial, tuple(names)):
            if p.name not in partial:
                return p
        return None

    def policy(self, arch: Architecture | Mapping[str, Value]) -> dict[str, int]:
        """Layer name -> bit width."""
        d = arch.decisions if isinstance(arch, Architecture) else arch
        return {layer: int(d[f"bits/{layer}"]) for layer in self.layers(d)}

    def all_genes(self) -> list[Param]:
        """Every gene of the largest sub-network, in order (the encoding's layout)."""
        largest: dict[str, Value] = {}
        out = []
        while (p := self.next_param(largest)) is not None:
            out.append(p)
            largest[p.name] = max(p.options)  # type: ignore[attr-defined]
        return out

    def encode(self, archs: Sequence[Architecture]) -> np.ndarray:
        """One-hot features, one block per gene of the largest network; inactive genes are zero."""
        if self._layout is None:
            offsets, width = {}, 0
            for p in self.all_genes():
                offsets[p.name] = (width, list(p.options))  # type: ignore[attr-defined]
                width += len(p.options)  # type: ignore[attr-defined]
            self._layout = (offsets, width)
        offsets, width = self._layout
        X = np.zeros((len(archs), width))
        for r, a in enumerate(archs):
            for name, value in a.decisions.items():
                start, options = offsets[name]
                X[r, start + options.index(value)] = 1.0
        return X

    def build(self, arch: Architecture, task: Task) -> torch.nn.Module:
        from archsearch.spaces.simq.supernet import SuperNet

        arch = self.validate(arch)
        return SuperNet(self.max_dims(task)).extract(self.dims(arch, task))

    def evaluator(self, data: Any, **options: Any) -> Any:
        """A trained super-network evaluating quantized sub-networks (``archsearch.spaces.simq.eval``)."""
        from archsearch.spaces.simq.eval import SimQEvaluator

        return SimQEvaluator(self, data, **options)

    def bind(self, task: Task, latency: Any) -> None:
        """Let :meth:`estimate` use ``task`` and the evaluator's latency table, None when the
        evaluator measures latency (the evaluator calls this)."""
        self._bound, self._profiles = (task, latency), {}

    def estimate(self, arch: Architecture | Mapping[str, Value]) -> dict[str, float]:
        """Exact ``size_mb``, ``params`` and ``flops`` of a record, without evaluating it
        (:mod:`archsearch.spaces.simq.estimate`); ``{}`` before an evaluator has bound the task.
        ``latency_ms`` only under ``latency='model'`` (the table is then the objective itself);
        a measured latency is never estimated."""
        import archsearch.spaces.simq.estimate as est

        if self._bound is None:
            return {}
        task, table = self._bound
        if "reference" not in self._profiles:
            self._profiles["reference"] = est.reference_shapes(
                self.max_dims(task), task.input_shape
            )
        d = arch.decisions if isinstance(arch, Architecture) else arch
        dims = self.dims(d, task)
        if dims not in self._profiles:
            self._profiles[dims] = est.profile(dims, self._profiles["reference"])
        prof = self._profiles[dims]
        policy = self.policy(d)
        out = {
            "size_mb": est.size_mb(prof, policy),
            "params": float(sum(n for n, _ in prof.params)),
            "flops": prof.macs,
        }
        if table is not None:
            out["latency_ms"] = est.latency_ms(prof, policy, table)
        return out


class SimQResNet(SimQSpace):
    """Elastic bottleneck ResNet: width multiplier, per-stage depth, per-block expansion."""

    name = "simq-resnet"
    family = "resnet"

    def __init__(self, config: ResNetSpace | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.config = config or ResNetSpace()

    def _arch_walk(self, d: Mapping[str, Value]) -> Iterator[Param]:
        c = self.config
        yield self.param("width", c.multipliers)
        for s in range(len(c.widths)):
            yield self.param(f"stage{s}/depth", c.depths)
            for b in range(int(d[f"stage{s}/depth"])):
                yield self.param(f"stage{s}/block{b}/expand", c.expands)

    def layers(self, d: Mapping[str, Value]) -> list[str]:
        out = ["stem"]
        for s in range(len(self.config.widths)):
            for b in range(int(d[f"stage{s}/depth"])):
                out += [f"stages.{s}.{b}.conv{i}" for i in (1, 2, 3)]
                if b == 0:
                    out.append(f"stages.{s}.{b}.down")
        return out + ["head"]

    def _channels(self, base: int, w: float) -> int:
        return max(4, int(round(base * w)))

    def dims(self, arch: Architecture | Mapping[str, Value], task: Task) -> Any:
        from archsearch.spaces.simq.supernet import ResNetDims

        d = arch.decisions if isinstance(arch, Architecture) else arch
        c, w = self.config, float(d["width"])
        stages = []
        for s, (base, stride) in enumerate(zip(c.widths, c.strides)):
            out = self._channels(base, w)
            mids = tuple(
                max(4, int(round(out * float(d[f"stage{s}/block{b}/expand"]))))
                for b in range(int(d[f"stage{s}/depth"]))
            )
            stages.append((out, stride, mids))
        return ResNetDims(
            task.input_shape[0], task.num_classes, self._channels(c.stem, w), tuple(stages)
        )

    def max_dims(self, task: Task) -> Any:
        c = self.config
        d: dict[str, Value] = {"width": max(c.multipliers)}
        for s in range(len(c.widths)):
            d[f"stage{s}/depth"] = max(c.depths)
            for b in range(max(c.depths)):
                d[f"stage{s}/block{b}/expand"] = max(c.expands)
        return self.dims(d, task)


class SimQViT(SimQSpace):
    """Elastic ViT encoder on image patches: depth, heads and MLP width per layer."""

    name = "simq-vit"
    family = "vit"

    def __init__(self, config: ViTSpace | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.config = config or ViTSpace()

    def _arch_walk(self, d: Mapping[str, Value]) -> Iterator[Param]:
        c = self.config
        yield self.param("depth", c.depths)
        for layer in range(int(d["depth"])):
            yield self.param(f"layer{layer}/heads", c.heads)
            yield self.param(f"layer{layer}/mlp", c.mlps)

    def layers(self, d: Mapping[str, Value]) -> list[str]:
        out = ["embed"]
        for layer in range(int(d["depth"])):
            out += [f"layers.{layer}.{n}" for n in ("q", "k", "v", "proj", "fc1", "fc2")]
        return out + ["head"]

    def dims(self, arch: Architecture | Mapping[str, Value], task: Task) -> Any:
        from archsearch.spaces.simq.supernet import ViTDims

        d = arch.decisions if isinstance(arch, Architecture) else arch
        c = self.config
        C, H, W = task.input_shape
        if H % c.patch or W % c.patch:
            raise ValueError(f"image {H}x{W} is not divisible by patch={c.patch}")
        layers = tuple(
            (int(d[f"layer{i}/heads"]), int(d[f"layer{i}/mlp"])) for i in range(int(d["depth"]))
        )
        return ViTDims(C, (H, W), task.num_classes, c.patch, c.dim, c.head_dim, layers)

    def max_dims(self, task: Task) -> Any:
        c = self.config
        d: dict[str, Value] = {"depth": max(c.depths)}
        for i in range(max(c.depths)):
            d[f"layer{i}/heads"], d[f"layer{i}/mlp"] = max(c.heads), max(c.mlps)
        return self.dims(d, task)


def _split(options: Mapping[str, Any], config: Any) -> tuple[Any, dict[str, Any]]:
    """The architecture config with its overrides, and the evaluation settings left over."""
    from archsearch.spaces.simq.train import EvalSettings

    arch_fields = set(config.__dataclass_fields__)
    known = arch_fields | set(EvalSettings.__dataclass_fields__)
    bad = [k for k in options if k not in known]
    if bad:
        raise ValueError(
            f"unknown simq option '{bad[0]}'; known: bits, {', '.join(sorted(known))}"
        )
    mine = {
        k: tuple(v) if isinstance(v, list) else v for k, v in options.items() if k in arch_fields
    }
    return replace(config, **mine), {k: v for k, v in options.items() if k not in arch_fields}


def simq_resnet(bits: Any = (8, 32), **options: Any) -> SimQResNet:
    """Elastic ResNet super-network space; ``bits=[4, 8, 32]`` adds 4-bit layers.

    Other options: the fields of :class:`ResNetSpace` and the evaluation settings of
    :class:`~archsearch.spaces.simq.train.EvalSettings`.
    """
    config, rest = _split(options, ResNetSpace())
    return SimQResNet(config, bits=bits, **rest)


def simq_vit(bits: Any = (8, 32), **options: Any) -> SimQViT:
    """Elastic ViT super-network space; ``bits=[4, 8, 32]`` adds 4-bit layers.

    Other options: the fields of :class:`ViTSpace` and the evaluation settings of
    :class:`~archsearch.spaces.simq.train.EvalSettings`.
    """
    config, rest = _split(options, ViTSpace())
    return SimQViT(config, bits=bits, **rest)
