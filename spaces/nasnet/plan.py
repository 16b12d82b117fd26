"""Torch-free structure of a NASNet network: cells, shapes, concatenation, analytic counts.

Zoph et al., "Learning Transferable Architectures for Scalable Image Recognition", CVPR 2018
(arXiv 1707.07012), with the conventions of the authors' released TensorFlow-slim model.

Notation: ``f`` = branch filters of a cell (every op outputs ``f`` channels), ``f0`` = branch
filters of the first stack of normal cells, ``F = 24 f0`` (the N @ F notation's penultimate
width for a cell concatenating six ``f``-wide states, 4x filter growth). Hidden states of a cell
are indexed 0 = h_i (label ``h0``, previous cell), 1 = h_{i-1} (``h1``), k + 2 = block k
(``bk``). A shape is ``(C, H, W)``.

Both the analytic counts (``archsearch.spaces.nasnet.cx``) and the torch builder (``archsearch.spaces.nasnet.net``) walk the same
:class:`NetPlan`, so the layout logic exists once and the per-op formulas are checked against
the built modules in the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from archsearch.arch import Architecture
from archsearch.params import Value

OPS = (
    "identity",
    "conv_1x3_3x1",
    "conv_1x7_7x1",
    "dil_conv_3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
    "conv_1x1",
    "conv_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
)
COMBINERS = ("add", "concat")
CONCAT_RULES = ("released", "unused")
B = 5

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class Block:
    """One block: two (input, op) pairs and the combiner."""

    left: str
    right: str
    op_left: str
    op_right: str
    combine: str


CELLS = ("normal", "reduce")
FIELDS = ("input_left", "input_right", "op_left", "op_right", "combine")


def cell_blocks(arch: Architecture | Mapping[str, Value], which: str) -> tuple[Block, ...]:
    """The five blocks of the ``normal`` or ``reduce`` cell of a complete architecture."""
    if which not in CELLS:
        raise ValueError(f"unknown cell {which!r}; known: {', '.join(CELLS)}")
    d = arch.decisions if isinstance(arch, Architecture) else arch
    return tuple(Block(*(d[f"{which}/b{k}/{fld}"] for fld in FIELDS)) for k in range(B))


def state_index(label: str) -> int:
    """Index of a hidden-state label: ``h0`` -> 0, ``h1`` -> 1, ``bk`` -> k + 2."""
    if label in ("h0", "h1"):
        return int(label[1])
    return int(label[1:]) + 2


def input_labels(block: int) -> tuple[str, ...]:
    """The inputs block ``block`` may read: ``h0``, ``h1`` and the earlier blocks."""
    return ("h0", "h1", *(f"b{k}" for k in range(block)))


def concat_states(blocks: tuple[Block, ...], rule: str) -> tuple[int, ...]:
    """Indices of the hidden states concatenated into the cell output under ``rule``.

    ``unused`` (paper text): every block output that no later block reads.
    ``released`` (TF-slim model): the unused blocks, plus every state from the last one any
    block reads (never before ``h1``) onwards; ``h0`` is never kept. For NASNet-A this gives
    [h1, b0..b4] (normal) and [b1..b4] (reduction), the released model's hard-coded masks.
    """
    read = {state_index(x) for b in blocks for x in (b.left, b.right)}
    unused = {k + 2 for k in range(len(blocks)) if k + 2 not in read}
    if rule == "unused":
        return tuple(sorted(unused))
    return tuple(sorted(unused | set(range(max(max(read), 1), len(blocks) + 2))))


def reduced(h: int) -> int:
    """Spatial size after a stride-2 'same' op."""
    return (h + 1) // 2


@dataclass(frozen=True)
class CellPlan:
    """One cell with its input shapes, branch filters and concatenation."""

    kind: str  # "normal" or "reduce"
    blocks: tuple[Block, ...]
    f: int
    in0: Shape  # h_i
    in1: Shape  # h_{i-1}
    raw1: bool  # h_{i-1} is the stem output itself (first cell): no projection
    concat: tuple[int, ...]

    @property
    def stride(self) -> int:
        """2 for a reduction cell (on ops reading the cell inputs), else 1."""
        return 2 if self.kind == "reduce" else 1

    def uses(self, i: int) -> bool:
        """Whether hidden state ``i`` feeds a block or the output (unused inputs get no layers)."""
        return i in self.concat or any(
            i in (state_index(b.left), state_index(b.right)) for b in self.blocks
        )

    @property
    def pre1(self) -> str:
        """How h_{i-1} is prepared: ``none``, ``conv`` (ReLU-1x1-BN) or ``reduce`` (ReLU-FR)."""
        if self.raw1:
            return "none"
        if self.in1[1:] != self.in0[1:]:
            return "reduce"
        return "conv" if self.in1[0] != self.f else "none"

    def states(self) -> list[Shape]:
        """Shapes of all hidden states: prepared inputs, then block outputs."""
        h, w = self.in0[1:]
        s1 = self.in1 if self.pre1 == "none" else (self.f, h, w)
        out: list[Shape] = [(self.f, h, w), s1]
        oh, ow = (reduced(h), reduced(w)) if self.kind == "reduce" else (h, w)
        for b in self.blocks:
            out.append((2 * self.f if b.combine == "concat" else self.f, oh, ow))
        return out

    def op_inputs(self) -> list[tuple[str, int, int, int, int]]:
        """For every op in order (b0 left, b0 right, ...): (op, cin, stride, H, W)."""
        states = self.states()
        res = []
        for b in self.blocks:
            for label, op in ((b.left, b.op_left), (b.right, b.op_right)):
                i = state_index(label)
                c, h, w = states[i]
                res.append((op, c, self.stride if i < 2 else 1, h, w))
        return res

    def concat_fix(self) -> list[str]:
        """Per concatenated state: ``none``, ``conv`` (1x1-BN to f) or ``reduce`` (FR to f)."""
        states = self.states()
        out_hw = states[-1][1:]
        fixes = []
        for i in self.concat:
            c, h, w = states[i]
            if (h, w) != out_hw:
                fixes.append("reduce")
            elif i < 2 and c != self.f:
                fixes.append("conv")
            else:
                fixes.append("none")
        return fixes

    def out(self) -> Shape:
        """Output shape: the concatenated states at the block resolution."""
        states = self.states()
        c = sum(
            self.f if fix != "none" else states[i][0]
            for i, fix in zip(self.concat, self.concat_fix())
        )
        return (c, *states[-1][1:])


@dataclass(frozen=True)
class NetPlan:
    """The stacked network: stem, cells, auxiliary head position and classifier."""

    in_shape: Shape
    stem_stride: int
    stem: Shape
    cells: tuple[CellPlan, ...]
    aux_after: int | None  # index of the cell feeding the auxiliary head
    num_classes: int


def plan_network(
    normal: tuple[Block, ...],
    reduce: tuple[Block, ...],
    *,
    cells: int,
    filters: int,
    layout: str,
    concat: str,
    stem_multiplier: float,
    aux_head: bool,
    in_shape: Shape,
    num_classes: int,
) -> NetPlan:
    """Lay out the network for N = ``cells`` and F = ``filters`` (see the module docstring)."""
    f0 = filters // 24
    c, h, w = in_shape
    if layout == "cifar":
        stem_stride, stem = 1, (int(f0 * stem_multiplier), h, w)
        scales = []
    else:
        if h < 3 or w < 3:
            raise ValueError(f"layout 'imagenet' needs inputs of at least 3x3, got {h}x{w}")
        stem_stride, stem = 2, (int(32 * stem_multiplier), (h - 3) // 2 + 1, (w - 3) // 2 + 1)
        scales = [0.25, 0.5]  # two reduction cells in the stem
    kinds = [("reduce", s) for s in scales]
    for stack in range(3):
        if stack:
            kinds.append(("reduce", 2.0**stack))
        kinds += [("normal", 2.0**stack)] * cells
    plans: list[CellPlan] = []
    s0 = s1 = stem
    for i, (kind, scale) in enumerate(kinds):
        blocks = normal if kind == "normal" else reduce
        p = CellPlan(kind, blocks, int(f0 * scale), s0, s1, i == 0, concat_states(blocks, concat))
        plans.append(p)
        s1, s0 = s0, p.out()
    aux_after = None
    if aux_head:
        second_reduction = [i for i, p in enumerate(plans) if p.kind == "reduce"][len(scales) + 1]
        aux_after = second_reduction - 1
    return NetPlan(in_shape, stem_stride, stem, tuple(plans), aux_after, num_classes)
