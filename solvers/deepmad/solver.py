"""DeepMAD: design a CNN by mathematical programming (Shen et al., CVPR 2023).

A CNN is treated as an information system whose expressiveness (entropy) and effectiveness are
analytic functions of its structure; a constrained mathematical program picks the structure.
No data, no training, no GPU. This module defines the objective and the public :func:`solve`;
:mod:`archsearch.solvers.deepmad.program` solves the program by branch and bound.

Notation. The network is a list of entries: the stem conv (3x3, stride 2, 3 -> ``stem``
channels), then block entries j = 1..n (in-channels c_j = out-channels of the entry before,
out-channels w_j, bottleneck / expanded width b_j, kernel k_j, stride s_j, depth L_j: L_j block
units, the first taking c_j and s_j, the others w_j and stride 1), then for the ``mbconv``
family a 1x1 head conv (w_n -> ``head``). Per unit u with input channels c, its log-width is

* l(u) = ln(c b^2 k^2) for a ResNet bottleneck (the sum over its 1x1, kxk, 1x1 convs of
  ln(c_in k^2)), 3 layers;
* l(u) = ln(c k^2 b) for an inverted residual with depthwise kxk conv (and SE), 3 layers;
* l(u) = ln(c k^2) for a plain conv (the stem: ln(3 * 3^2); the head: ln(w_n)), 1 layer;

and its entropy term is h(u) = l(u) / 2. A resolution level ends just before each stride-2
entry after the stem, and at the end of the network (5 levels). With C_i the output channels and
r_i the output resolution at the end of level i, and N_i the units from the input to there:

* entropy       H_i = ln(C_i r_i^2) * sum_{u in N_i} h(u)
* objective     S = sum_i a_i H_i - beta * exp(std(L))        (a = (1,1,1,1,8), beta = 10;
                std is the population std of the block entries' depths, or of the last three
                entries' depths with ``depth_penalty="last3"``, as the reference code does for
                ResNet-like nets)
* effectiveness rho = max_i D_i / exp(sum_{u in N_i} l(u) / D_i), D_i the layers in N_i (depth
                over the geometric-mean per-layer width of each prefix); constraint rho <= rho0
                (0.3 for ResNet-like budgets, 0.5 for the depthwise family).
* budgets       FLOPs <= F and params <= P, FLOPs the multiply-adds of every conv and linear
                layer at the design resolution (pycls / fvcore convention, no bias adds),
                params with BN (2 per channel) and biases, classifier included;
* structure     stem <= w_1 <= ... <= w_n (<= head), all widths multiples of 8, depth bounds,
                bottleneck bounds (ResNet: 8 <= b_j <= w_j; mbconv: 1.5 w_j <= b_j <= 6 w_j),
                kernels from the family's set, a fixed stride template.

The solved structure is a network of the ``cnn`` space (:mod:`archsearch.spaces.cnn`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from archsearch.solvers.deepmad.families import (  # noqa: E402  (re-exported)
    A_DEFAULT,
    BOUNDS,
    DEPTH_PENALTIES,
    FAMILIES,
    MAX_BUDGET,
    RELAXED,
    RELEASED_HEADS,
    Family,
    family_template,
)

from archsearch.arch import Architecture

__all__ = [
    "A_DEFAULT",
    "BOUNDS",
    "DEPTH_PENALTIES",
    "FAMILIES",
    "MAX_BUDGET",
    "RELAXED",
    "RELEASED_HEADS",
    "Family",
    "family_template",
    "Objective",
    "Structure",
    "Terms",
    "Solution",
    "evaluate",
    "optimize",
    "solve",
    "to_architecture",
    "to_spec",
]


@dataclass(frozen=True)
class Objective:
    """The constants of the DeepMAD program (defaults from the paper's released configs)."""

    a: tuple[float, ...] = A_DEFAULT
    beta: float = 10.0
    rho0: float = 0.3
    depth_penalty: str = "all"
    resolution: int = 224
    num_classes: int = 1000

    def __post_init__(self) -> None:
        if self.depth_penalty not in DEPTH_PENALTIES:
            raise ValueError(
                f"depth_penalty {self.depth_penalty!r} is not allowed; expected one of "
                f"{', '.join(DEPTH_PENALTIES)}"
            )
        if not (self.rho0 > 0 and math.isfinite(self.rho0)):
            raise ValueError(f"rho0 must be a finite number > 0, got {self.rho0}")
        if self.beta < 0 or any(x < 0 for x in self.a):
            raise ValueError(f"weights a={self.a} and beta={self.beta} must be >= 0")
        if not 32 <= self.resolution <= 4096:
            raise ValueError(
                f"resolution must be in [32, 4096] (5 halvings), got {self.resolution}"
            )


@dataclass(frozen=True)
class Structure:
    """A DeepMAD network: stem, block entries (widths, bottlenecks, kernels, strides, depths)."""

    family: str
    stem: int
    widths: tuple[int, ...]
    bottlenecks: tuple[int, ...]
    kernels: tuple[int, ...]
    strides: tuple[int, ...]
    depths: tuple[int, ...]
    head: int = 0

    def entries(self) -> list[tuple[int, int, int, int, int, int]]:
        """Block entries as ``(in, out, bottleneck, kernel, stride, depth)``."""
        ins = (self.stem, *self.widths[:-1])
        return list(
            zip(ins, self.widths, self.bottlenecks, self.kernels, self.strides, self.depths)
        )

    def describe(self) -> str:
        """One line: ``stem 32 | 32->128 b40 k5 s2 L1 | ...``."""
        parts = [f"stem {self.stem}"]
        parts += [f"{c}->{w} b{b} k{k} s{s} L{d}" for c, w, b, k, s, d in self.entries()]
        if self.head:
            parts.append(f"head {self.widths[-1]}->{self.head}")
        return " | ".join(parts)


@dataclass(frozen=True)
class Terms:
    """The objective's parts for one structure."""

    objective: float
    entropy: tuple[float, ...]
    penalty: float
    rho: float
    rho_levels: tuple[float, ...]
    layers: int


def _units(s: Structure) -> list[tuple[float, int, int, int]]:
    """Every unit as ``(l(u), layers, out-channels, stride)``, stem first."""
    out = [(math.log(3 * 3**2), 1, s.stem, 2)]
    for c, w, b, k, st, d in s.entries():
        for u in range(d):
            cin = c if u == 0 else w
            if s.family == "resnet":
                ell = math.log(cin * b * b * k * k)
            else:
                ell = math.log(cin * k * k * b)
            out.append((ell, 3, w, st if u == 0 else 1))
    if s.head:
        out.append((math.log(s.widths[-1]), 1, s.head, 1))
    return out


def evaluate(s: Structure, obj: Objective | None = None) -> Terms:
    """The DeepMAD objective, per-level entropies and effectiveness of a structure."""
    obj = obj or Objective()
    res = obj.resolution
    levels: list[tuple[int, int, float, float, int]] = []
    total_h = total_l = 0.0
    layers = 0
    prev_c = 3
    for idx, (ell, ly, c, st) in enumerate(_units(s)):
        if idx > 0 and st == 2:
            levels.append((prev_c, res, total_h, total_l, layers))
        if st == 2:
            res = (res - 1) // 2 + 1
        total_h += ell / 2
        total_l += ell
        layers += ly
        prev_c = c
    levels.append((prev_c, res, total_h, total_l, layers))
    if len(levels) != len(obj.a):
        raise ValueError(
            f"structure has {len(levels)} resolution levels but the weights a have {len(obj.a)}"
        )
    entropy = tuple(math.log(c * r * r) * h for c, r, h, _, _ in levels)
    depths = s.depths[-3:] if obj.depth_penalty == "last3" else s.depths
    penalty = obj.beta * math.exp(float(np.std(depths)))
    rho_levels = tuple(d / math.exp(sl / d) for _, _, _, sl, d in levels)
    value = sum(a * h for a, h in zip(obj.a, entropy)) - penalty
    return Terms(value, entropy, penalty, max(rho_levels), rho_levels, layers)


@dataclass(frozen=True)
class Solution:
    """A solved design: the structure, its objective, constraint values and the proved bound."""

    structure: Structure
    objective: float
    bound: float
    flops: float
    params: float
    rho: float
    budget: dict[str, float]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Relative optimality gap (bound - objective) / |objective|."""
        return (self.bound - self.objective) / max(abs(self.objective), 1e-12)

    @property
    def arch(self) -> Architecture:
        """The structure as an Architecture of the ``cnn`` space."""
        return to_architecture(self.structure, self.budget.get("resolution", 224))


def to_spec(s: Structure, resolution: int = 224) -> Any:
    """The :class:`~archsearch.spaces.cnn.spec.CNNSpec` of a structure."""
    from archsearch.spaces.cnn.spec import CNNSpec, Stage

    fam = FAMILIES[s.family]
    stages = tuple(
        Stage(fam.block, w, b, k, st, d, se=fam.se) for _, w, b, k, st, d in s.entries()
    )
    return CNNSpec(s.stem, stages, head_w=s.head, resolution=resolution)


def to_architecture(s: Structure, resolution: int = 224) -> Architecture:
    """The structure as an Architecture of the ``cnn`` space."""
    from archsearch.spaces.cnn.space import encode

    return encode(to_spec(s, resolution))


def optimize(
    flops: float,
    params: float,
    family: str = "resnet",
    rho: float | None = None,
    resolution: int = 224,
    *,
    bounds: str = "published",
    head: int | None = None,
    a: tuple[float, ...] = A_DEFAULT,
    beta: float = 10.0,
    depth_penalty: str = "all",
    num_classes: int = 1000,
    max_nodes: int = 40,
    time_limit: float | None = None,
    gap_tol: float = 1e-3,
    template: Family | None = None,
) -> Solution:
    """Solve the DeepMAD program for a budget; the full :class:`Solution` with its bound.

    ``bounds="published"`` (default) is the released code's space and counting, ``"relaxed"``
    the wider one (:data:`RELAXED`). ``max_nodes`` is the search budget in relaxations solved
    (one result per call on any machine); ``time_limit`` (CPU seconds of this process, off by
    default) stops earlier only when given.
    """
    from archsearch.solvers.deepmad.program import branch_and_bound

    fam = template or family_template(family, bounds, head)
    for name, value in (("flops", flops), ("params", params)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} budget must be a number, got {value!r}")
        if not (math.isfinite(value) and 0 < value <= MAX_BUDGET):
            raise ValueError(
                f"{name} budget {value!r} is not allowed; expected a finite number in "
                f"(0, {MAX_BUDGET:.0e}]"
            )
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes={max_nodes!r} must be an integer >= 1")
    if time_limit is not None and not (
        isinstance(time_limit, (int, float)) and math.isfinite(time_limit) and time_limit > 0
    ):
        raise ValueError(f"time_limit={time_limit!r} must be a positive number of seconds")
    obj = Objective(
        a=tuple(float(x) for x in a),
        beta=beta,
        rho0=fam.rho0 if rho is None else float(rho),
        depth_penalty=depth_penalty,
        resolution=int(resolution),
        num_classes=int(num_classes),
    )
    return branch_and_bound(
        fam,
        obj,
        float(flops),
        float(params),
        max_nodes=max_nodes,
        gap_tol=gap_tol,
        time_limit=time_limit,
    )


def solve(
    flops: float,
    params: float,
    family: str = "resnet",
    rho: float | None = None,
    resolution: int = 224,
    **options: Any,
) -> Architecture:
    """The ``cnn``-space Architecture maximizing the DeepMAD objective within the budgets."""
    return optimize(flops, params, family, rho, resolution, **options).arch
