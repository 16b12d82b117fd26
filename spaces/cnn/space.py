"""The stage-wise CNN space (``cnn``): AnyNet-style stages of bottleneck or inverted-residual blocks.

The structure, block definitions and pycls complexity counting live in
:mod:`archsearch.spaces.cnn.spec` (:class:`Stage`, :class:`CNNSpec`, :func:`complexity`); this
module maps a spec to an :class:`~archsearch.arch.Architecture` and back, and defines the space.

Decisions, in order: ``stages`` (count), ``stem_w``, then for stage i = 1..n ``stage{i}/block``,
``stage{i}/w``, for mbconv ``stage{i}/e`` (0: use ``b``), ``stage{i}/b``, ``stage{i}/k``,
``stage{i}/s``, ``stage{i}/d``, for bottleneck ``stage{i}/g`` (0: dense kxk conv), ``stage{i}/se``;
then ``head_w``, ``resolution`` and ``test_resolution`` (0: not given).

Two modes of the one registered space ``cnn``:

* searchable (default): small Choice/Int domains any strategy can search on digits or CIFAR
  (options ``stages``, ``family``, ``widths``, ``depths``, ``kernels``, ``strides``,
  ``bottlenecks`` (b/w ratios), ``expansions``, ``group_widths``, ``se``, ``stem_widths``,
  ``head_widths``, ``resolution``); bottleneck widths and group widths depend on the chosen
  width, so every sampled record is a valid network. ``blocks=[...]`` lets stages take the
  op library's block types too (``hornet``, ``dilated-reparam``, ``ulsam-mbconv``; their
  decisions ``stage{i}/n`` take ``orders`` / ``ulsam_groups``, a dilated-reparam kernel
  ``large_kernels``; see :mod:`archsearch.spaces.cnn.spec` and ``docs/ops.md``).
* ``free=True``: any positive integers (odd kernels, group widths dividing b), so every
  :class:`CNNSpec` is a valid Architecture: DeepMAD's solved and compound-scaled networks
  validate here (``get_space("cnn", free=True).validate(encode(spec))``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from archsearch.spaces.cnn.spec import (
    _LK_KERNELS,
    ALL_BLOCKS,
    BLOCKS,
    CNNSpec,
    Stage,
    complexity,
)

from archsearch.arch import Architecture, InvalidArchitecture
from archsearch.params import Choice, Float, Int, Param, Value
from archsearch.space import Space, Task

if TYPE_CHECKING:
    import torch

__all__ = ["CNNSpace", "CNNSpec", "Stage", "build", "complexity", "decode", "encode"]

SPACE = "cnn"
_BIG = 1 << 20
FAMILIES = (*BLOCKS, "any")
_KEEP_WIDTH = ("hornet", "dilated-reparam")  # op blocks without b / e / g / se
_MB = ("mbconv", "ulsam-mbconv")


def _fields(block: Any) -> list[str]:
    """The per-stage decisions after ``block`` and ``w``, in order."""
    if block in _MB:
        return ["e", "b", "k", "s", "d", "se"] + (["n"] if block == "ulsam-mbconv" else [])
    if block == "bottleneck":
        return ["b", "k", "s", "d", "g", "se"]
    if block in _KEEP_WIDTH:
        return ["k", "s", "d"] + (["n"] if block == "hornet" else [])
    return []


def encode(spec: CNNSpec) -> Architecture:
    """The Architecture (space ``cnn``) of a spec: the flat per-stage decisions."""
    d: dict[str, Value] = {"stages": len(spec.stages), "stem_w": spec.stem_w}
    for i, st in enumerate(spec.stages, 1):
        p = f"stage{i}/"
        d[p + "block"] = st.block
        d[p + "w"] = st.w
        values = {"e": float(st.e), "b": st.b, "k": st.k, "s": st.s, "d": st.d, "g": st.g}
        values.update(se=float(st.se), n=st.n)
        d.update({p + f: values[f] for f in _fields(st.block)})
    d.update(head_w=spec.head_w, resolution=spec.resolution, test_resolution=spec.test_resolution)
    return Architecture(SPACE, d)


def decode(arch: Architecture | Mapping[str, Value]) -> CNNSpec:
    """The spec of an Architecture of the ``cnn`` space (or of its decisions)."""
    if isinstance(arch, Architecture):
        if arch.space != SPACE:
            raise InvalidArchitecture(f"architecture is of space '{arch.space}', not '{SPACE}'")
        arch = arch.decisions

    def get(name: str) -> Any:
        if name not in arch:
            raise InvalidArchitecture(f"decision '{name}' is missing for space '{SPACE}'")
        return arch[name]

    stages = []
    for i in range(1, int(get("stages")) + 1):
        p = f"stage{i}/"
        block = get(p + "block")
        kw: dict[str, Any] = {"b": 0}
        for f in _fields(block):
            kw[f] = float(get(p + f)) if f in ("e", "se") else get(p + f)
        try:
            stages.append(Stage(block, get(p + "w"), **kw))
        except ValueError as e:
            raise InvalidArchitecture(f"stage{i}: {e}") from None
    return CNNSpec(
        get("stem_w"),
        tuple(stages),
        head_w=get("head_w"),
        resolution=get("resolution"),
        test_resolution=arch.get("test_resolution", 0),
    )


def _round8(x: float) -> int:
    return max(8, int(round(x / 8)) * 8)


def _divisors(n: int) -> list[int]:
    small = [i for i in range(1, int(n**0.5) + 1) if n % i == 0]
    return sorted(set(small + [n // i for i in small]))


class CNNSpace(Space):
    """The stage-wise CNN space (see the module docstring for decisions and modes)."""

    name = SPACE

    def __init__(
        self,
        stages: int = 4,
        family: str = "bottleneck",
        widths: Sequence[int] = (16, 24, 32, 48, 64, 96, 128),
        depths: tuple[int, int] = (1, 3),
        kernels: Sequence[int] = (3, 5),
        strides: Sequence[int] = (1, 2),
        bottlenecks: Sequence[float] = (0.25, 0.5, 1.0),
        expansions: Sequence[float] = (1.0, 3.0, 6.0),
        group_widths: Sequence[int] = (0, 8, 16),
        se: Sequence[float] = (0.0, 0.25),
        stem_widths: Sequence[int] = (16, 32),
        head_widths: Sequence[int] = (0,),
        resolution: int = 224,
        free: bool = False,
        blocks: Sequence[str] | None = None,
        orders: Sequence[int] = (2, 3),
        large_kernels: Sequence[int] = (7, 13),
        ulsam_groups: Sequence[int] = (1, 4),
    ) -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
        if blocks is not None:
            if isinstance(blocks, str) or not blocks:
                raise ValueError(f"blocks={blocks!r} must be a non-empty list of block types")
            bad = [b for b in blocks if b not in ALL_BLOCKS]
            if bad:
                raise ValueError(
                    f"blocks: unknown block type {bad[0]!r}; known: {', '.join(ALL_BLOCKS)}"
                )
        for name, values, ok in (
            ("orders", orders, lambda v: 1 <= v <= 5),
            ("large_kernels", large_kernels, lambda v: v in _LK_KERNELS),
            ("ulsam_groups", ulsam_groups, lambda v: v >= 1),
        ):
            if not values or any(isinstance(v, bool) or not isinstance(v, int) or not ok(v) for v in values):
                allowed = {"orders": "in 1..5", "large_kernels": f"in {_LK_KERNELS}"}
                raise ValueError(
                    f"{name}={tuple(values)!r} must be non-empty integers "
                    f"{allowed.get(name, '>= 1')}"
                )
        self.blocks = tuple(blocks) if blocks is not None else None
        self.orders, self.large_kernels = tuple(orders), tuple(large_kernels)
        self.ulsam_groups = tuple(ulsam_groups)
        if isinstance(stages, bool) or not isinstance(stages, int) or stages < 1:
            raise ValueError(f"stages={stages!r} must be a positive integer")
        if len(depths) != 2 or not 1 <= depths[0] <= depths[1]:
            raise ValueError(
                f"depths={depths!r} must be a range (low, high) with 1 <= low <= high"
            )
        checks = {
            "widths": (widths, lambda v: isinstance(v, int) and v >= 1, "positive integers"),
            "stem_widths": (
                stem_widths,
                lambda v: isinstance(v, int) and v >= 1,
                "positive integers",
            ),
            "head_widths": (head_widths, lambda v: isinstance(v, int) and v >= 0, "integers >= 0"),
            "kernels": (
                kernels,
                lambda v: isinstance(v, int) and v >= 1 and v % 2,
                "odd integers",
            ),
            "strides": (strides, lambda v: isinstance(v, int) and v >= 1, "positive integers"),
            "bottlenecks": (bottlenecks, lambda v: v > 0, "positive ratios"),
            "expansions": (expansions, lambda v: v >= 0, "ratios >= 0"),
            "group_widths": (
                group_widths,
                lambda v: isinstance(v, int) and v >= 0,
                "integers >= 0",
            ),
            "se": (se, lambda v: 0 <= v <= 1, "ratios in [0, 1]"),
        }
        for name, (values, ok, what) in checks.items():
            bad = [v for v in values if isinstance(v, bool) or not ok(v)]
            if bad or not values:
                raise ValueError(f"{name}={tuple(values)!r} must be non-empty {what}")
        self.free = bool(free)
        self.n_stages, self.family = stages, family
        self.widths, self.depths = tuple(widths), tuple(depths)
        self.kernels, self.strides = tuple(kernels), tuple(strides)
        self.bottlenecks, self.expansions = tuple(bottlenecks), tuple(expansions)
        self.group_widths, self.se = tuple(group_widths), tuple(float(r) for r in se)
        self.stem_widths, self.head_widths = tuple(stem_widths), tuple(head_widths)
        self.resolution = resolution
        self._fixed = self._fixed_params()

    def _fixed_params(self) -> dict[str, Param]:
        if self.free:
            return {
                "stages": Int("stages", 1, 64),
                "stem_w": Int("stem_w", 1, _BIG),
                "block": Choice("block", ALL_BLOCKS),
                "w": Int("w", 1, _BIG),
                "e": Float("e", 0.0, 64.0),
                "k": Int("k", 1, 31, 2),
                "s": Int("s", 1, 8),
                "d": Int("d", 1, 4096),
                "se": Float("se", 0.0, 1.0),
                "head_w": Int("head_w", 0, _BIG),
                "resolution": Int("resolution", 1, 1 << 16),
                "test_resolution": Int("test_resolution", 0, 1 << 16),
            }
        blocks = BLOCKS if self.family == "any" else (self.family,)
        if self.blocks is not None:
            blocks = self.blocks
        return {
            "stages": Choice("stages", (self.n_stages,)),
            "stem_w": Choice("stem_w", self.stem_widths),
            "block": Choice("block", blocks),
            "w": Choice("w", self.widths),
            "e": Choice("e", tuple(float(e) for e in self.expansions)),
            "k": Choice("k", self.kernels),
            "s": Choice("s", self.strides),
            "d": Int("d", self.depths[0], self.depths[1]),
            "se": Choice("se", self.se),
            "head_w": Choice("head_w", self.head_widths),
            "resolution": Choice("resolution", (self.resolution,)),
            "test_resolution": Choice("test_resolution", (0,)),
        }

    def _stage_param(self, field: str, prefix: str, partial: Mapping[str, Value]) -> Param:
        name = prefix + field
        block = partial.get(prefix + "block")
        if field == "k" and block == "dilated-reparam":
            return Choice(name, _LK_KERNELS if self.free else self.large_kernels)
        if field == "n":
            return self._n_param(name, prefix, partial)
        if field == "b":
            if block in _MB and partial[prefix + "e"]:
                return Choice(name, (0,))
            if self.free:
                return Int(name, 1, _BIG)
            w = int(partial[prefix + "w"])
            if block in _MB:
                return Choice(name, (w,))
            return Choice(name, tuple(sorted({_round8(w * r) for r in self.bottlenecks})))
        if field == "g":
            b = int(partial[prefix + "b"])
            if self.free:
                return Choice(name, (0, *_divisors(b)))
            return Choice(name, tuple(g for g in self.group_widths if g == 0 or b % g == 0))
        return self._fixed[field].renamed(name)

    def _n_param(self, name: str, prefix: str, partial: Mapping[str, Value]) -> Param:
        """gnConv order (hornet) or ULSAM subspaces (ulsam-mbconv) that fit the widths."""
        w = int(partial[prefix + "w"])
        # Free or not, only orders / subspace counts that fit the widths are offered, so a
        # drawn record is always a valid network.
        if partial[prefix + "block"] == "hornet":
            orders = range(1, 6) if self.free else self.orders
            fit = tuple(n for n in orders if w % 2 ** (n - 1) == 0)
            return Choice(name, fit or (1,))
        i = int(prefix[len("stage") : -1])
        w_in = int(partial["stem_w"] if i == 1 else partial[f"stage{i - 1}/w"])
        e, b = float(partial[prefix + "e"]), int(partial[prefix + "b"])
        inner = {int(w_in * e), int(w * e)} if e else {b}
        if self.free:
            common = math.gcd(*inner)
            return Choice(name, tuple(n for n in _divisors(common) if n <= 4096) or (1,))
        fit = tuple(n for n in self.ulsam_groups if all(c % n == 0 for c in inner))
        return Choice(name, fit or (1,))

    def next_param(self, partial: Mapping[str, Value]) -> Param | None:
        fixed = self._fixed
        for name in ("stages", "stem_w"):
            if name not in partial:
                return fixed[name].renamed(name)
        n = partial["stages"]
        for i in range(1, int(n) + 1):
            prefix = f"stage{i}/"
            fields = ["block", "w", *_fields(partial.get(prefix + "block"))]
            for field in fields:
                if prefix + field not in partial:
                    return self._stage_param(field, prefix, partial)
        for name in ("head_w", "resolution", "test_resolution"):
            if name not in partial:
                return fixed[name].renamed(name)
        return None

    def spec(self, arch: Architecture) -> CNNSpec:
        """The validated spec of ``arch``."""
        return decode(self.validate(arch))

    def build(self, arch: Architecture, task: Task) -> torch.nn.Module:
        return build(self.spec(arch), task)

    def complexity(self, arch: Architecture, task: Task) -> dict[str, float]:
        """Complexity of ``arch`` at the task's input size (not the design resolution)."""
        c, h, w = task.input_shape
        cx = complexity(self.spec(arch), task.num_classes, c, (h, w), count_bias=False)
        return {k: float(v) for k, v in cx.items()}


def build(spec: CNNSpec | Architecture, task: Task) -> torch.nn.Module:
    """The torch model of a spec (or ``cnn`` Architecture) for ``task``."""
    from archsearch.spaces.cnn.model import build_model

    if isinstance(spec, Architecture):
        spec = decode(spec)
    if len(task.input_shape) != 3:
        raise ValueError(f"the cnn space needs image inputs (C, H, W), got {task.input_shape}")
    return build_model(spec, task.num_classes, task.input_shape[0])


def cnn_space(**options: Any) -> CNNSpace:
    """The ``cnn`` space; ``free=True`` accepts every spec (see the module docstring)."""
    return CNNSpace(**options)


# The options are CNNSpace's: let the command line list them and check their names and types.
cnn_space.__signature__ = inspect.signature(CNNSpace)  # type: ignore[attr-defined]
