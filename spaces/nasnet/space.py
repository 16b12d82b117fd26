"""The NASNet cell search space (Zoph, Vasudevan, Shlens, Le, CVPR 2018, arXiv 1707.07012).

A cell reads the outputs of the two previous cells, h_i (label ``h0``) and h_{i-1} (``h1``).
It has B = 5 blocks; block k makes five decisions, in this order:

* ``{cell}/b{k}/input_left``, ``{cell}/b{k}/input_right``: ``h0``, ``h1`` or an earlier block
  ``b0`` .. ``b{k-1}`` of the same cell;
* ``{cell}/b{k}/op_left``, ``{cell}/b{k}/op_right``: one of the 13 ops in :data:`OPS`;
* ``{cell}/b{k}/combine``: ``add`` or ``concat`` (along channels).

``cell`` is ``normal`` (keeps the size) then ``reduce`` (ops reading h0/h1 use stride 2), so an
architecture is 2 x 5B = 50 decisions; the space is flat and ``next_param`` is O(1).
The cell output concatenates hidden states by one of two rules (:data:`CONCAT_RULES`):
``unused`` (the paper's text: blocks no later block reads) or ``released`` (the TF-slim model
behind the published parameter counts; see ``archsearch.spaces.nasnet.plan.concat_states``).

N @ F: N normal cells per stack, F = 24 x f0 filters of the penultimate layer (f0 = branch
filters of the first stack; F is exact for a six-state concatenation such as NASNet-A's under
``released``). Layouts: ``cifar`` (3x3 stem, [N normal, reduction] x 2, N normal) and
``imagenet`` (stride-2 3x3 stem, two reduction cells, then the CIFAR pattern).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archsearch.spaces.nasnet.cx import network_cx
from archsearch.spaces.nasnet.plan import (
    CELLS,
    COMBINERS,
    CONCAT_RULES,
    FIELDS,
    OPS,
    B,
    NetPlan,
    cell_blocks,
    input_labels,
    plan_network,
)

from archsearch.arch import Architecture
from archsearch.params import Choice, Param, Value
from archsearch.space import Space, Task

if TYPE_CHECKING:
    import torch

__all__ = [
    "B",
    "COMBINERS",
    "CONCAT_RULES",
    "GENOTYPES",
    "LAYOUTS",
    "OPS",
    "PUBLISHED",
    "NASNetConfig",
    "NASNetSpace",
    "cell_blocks",
    "draw_cell",
    "genotype",
]

LAYOUTS = ("cifar", "imagenet")


def _params() -> tuple[Param, ...]:
    out = []
    for cell in CELLS:
        for k in range(B):
            ins = input_labels(k)
            domains = (ins, ins, OPS, OPS, COMBINERS)
            out += [Choice(f"{cell}/b{k}/{fld}", d) for fld, d in zip(FIELDS, domains)]
    return tuple(out)


PARAMS = _params()


@dataclass(frozen=True)
class NASNetConfig:
    """How a cell pair is stacked: N @ F, layout, concatenation rule and training extras.

    ``stem_multiplier`` None means the layout's default: 3 for ``cifar`` (stem = 3 f0
    filters), 1 for ``imagenet`` (stem = 32 filters; NASNet-A Large uses 3, i.e. 96).
    """

    cells: int = 1
    filters: int = 96
    layout: str = "cifar"
    concat: str = "released"
    aux_head: bool = False
    drop_path: float = 0.0
    stem_multiplier: float | None = None
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.cells, bool) or not isinstance(self.cells, int) or self.cells < 1:
            raise ValueError(f"cells (N) must be an integer >= 1, got {self.cells!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}; known: {', '.join(LAYOUTS)}")
        if self.concat not in CONCAT_RULES:
            raise ValueError(
                f"unknown concat rule {self.concat!r}; known: {', '.join(CONCAT_RULES)}"
            )
        least = 48 if self.layout == "cifar" else 192
        if (
            isinstance(self.filters, bool)
            or not isinstance(self.filters, int)
            or self.filters % 24
            or self.filters < least
        ):
            raise ValueError(
                f"filters (F) must be a multiple of 24 (F = 24 x branch filters) and >= {least} "
                f"for layout {self.layout!r}, got {self.filters!r}"
            )
        for name in ("drop_path", "dropout"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {v!r}")
        if self.stem_multiplier is not None and self.stem_multiplier <= 0:
            raise ValueError(f"stem_multiplier must be > 0, got {self.stem_multiplier!r}")

    @property
    def stem(self) -> float:
        """The stem multiplier in effect."""
        if self.stem_multiplier is not None:
            return float(self.stem_multiplier)
        return 3.0 if self.layout == "cifar" else 1.0


class NASNetSpace(Space):
    """The NASNet search space (module docstring); ``config`` fixes how cells are stacked."""

    name = "nasnet"

    def __init__(self, config: NASNetConfig | None = None) -> None:
        self.config = config or NASNetConfig()

    def next_param(self, partial: Mapping[str, Value]) -> Param | None:
        n = len(partial)
        return PARAMS[n] if n < len(PARAMS) else None

    def plan(self, arch: Architecture, task: Task) -> NetPlan:
        """The network layout of ``arch`` for ``task`` (shapes of every cell)."""
        arch = self.validate(arch)
        if len(task.input_shape) != 3:
            raise ValueError(f"NASNet needs image inputs (C, H, W), got shape {task.input_shape}")
        c = self.config
        return plan_network(
            cell_blocks(arch, "normal"),
            cell_blocks(arch, "reduce"),
            cells=c.cells,
            filters=c.filters,
            layout=c.layout,
            concat=c.concat,
            stem_multiplier=c.stem,
            aux_head=c.aux_head,
            in_shape=task.input_shape,
            num_classes=task.num_classes,
        )

    def build(self, arch: Architecture, task: Task) -> torch.nn.Module:
        from archsearch.spaces.nasnet.net import NASNet

        return NASNet(self.plan(arch, task), self.config.drop_path, self.config.dropout)

    def complexity(self, arch: Architecture, task: Task) -> dict[str, float]:
        return network_cx(self.plan(arch, task))

    def draw(self, arch: Architecture, out_dir: str | Path) -> list[Path]:
        """Draw both cells of ``arch`` into ``out_dir`` (``{normal,reduce}_cell.{png,svg}``)."""
        return [
            p
            for which in CELLS
            for p in draw_cell(arch, which, Path(out_dir) / f"{which}_cell", self.config.concat)
        ]

    def genotype(self, name: str) -> Architecture:
        """A built-in genotype of this space (see :data:`GENOTYPES`)."""
        return genotype(name)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())
        return f"NASNetSpace({opts})"


def nasnet(
    cells: int = 1,
    filters: int = 96,
    layout: str = "cifar",
    concat: str = "released",
    aux_head: bool = False,
    drop_path: float = 0.0,
    stem_multiplier: float | None = None,
    dropout: float = 0.0,
) -> NASNetSpace:
    """The NASNet space stacked N @ F (defaults: 1 @ 96, CIFAR layout: seconds per digits epoch)."""
    return NASNetSpace(
        NASNetConfig(cells, filters, layout, concat, aux_head, drop_path, stem_multiplier, dropout)
    )


def _cell(which: str, rows: list[tuple[str, str, str, str, str]]) -> dict[str, Value]:
    return {f"{which}/b{k}/{fld}": v for k, row in enumerate(rows) for fld, v in zip(FIELDS, row)}


# NASNet-A (paper Fig. 4; TF-slim nasnet_utils.NasNetA*Cell): rows are
# (input_left, input_right, op_left, op_right, combine).
_NASNET_A = {
    **_cell(
        "normal",
        [
            ("h0", "h1", "sep_conv_5x5", "sep_conv_3x3", "add"),
            ("h1", "h1", "sep_conv_5x5", "sep_conv_3x3", "add"),
            ("h0", "h1", "avg_pool_3x3", "identity", "add"),
            ("h1", "h1", "avg_pool_3x3", "avg_pool_3x3", "add"),
            ("h0", "h0", "sep_conv_3x3", "identity", "add"),
        ],
    ),
    **_cell(
        "reduce",
        [
            ("h0", "h1", "sep_conv_5x5", "sep_conv_7x7", "add"),
            ("h0", "h1", "max_pool_3x3", "sep_conv_7x7", "add"),
            ("h0", "h1", "avg_pool_3x3", "sep_conv_5x5", "add"),
            ("b1", "b0", "identity", "avg_pool_3x3", "add"),
            ("b0", "h0", "sep_conv_3x3", "max_pool_3x3", "add"),
        ],
    ),
}

GENOTYPES: dict[str, dict[str, Value]] = {"nasnet-a": _NASNET_A}
"""Built-in genotypes. NASNet-B and -C are not expressible here: B uses B = 4 blocks, four cell
inputs and no concatenation of unused states; both B and C add 'add + layer norm' and
'add + instance norm' combiners (paper App. B), and their cells exist only as figures."""


@dataclass(frozen=True)
class Published:
    """A published NASNet-A model: stacking, input, and the counts the paper reports."""

    name: str
    config: NASNetConfig
    resolution: int
    classes: int
    params: float
    mult_adds: float | None = None


# Paper Tables 1-3 (trainable params; compute as multiply-adds). ImageNet: the released
# model's stem has 32 x stem_multiplier filters (mobile 1, large 3).
PUBLISHED = (
    Published("cifar10 6@768", NASNetConfig(6, 768), 32, 10, 3.3e6),
    Published("cifar10 7@2304", NASNetConfig(7, 2304), 32, 10, 27.6e6),
    Published(
        "imagenet mobile 4@1056",
        NASNetConfig(4, 1056, "imagenet", stem_multiplier=1.0),
        224,
        1000,
        5.3e6,
        564e6,
    ),
    Published(
        "imagenet large 6@4032",
        NASNetConfig(6, 4032, "imagenet", stem_multiplier=3.0),
        331,
        1000,
        88.9e6,
        23.8e9,
    ),
)


def genotype(name: str) -> Architecture:
    """The built-in genotype ``name`` (e.g. ``nasnet-a``) as an Architecture of this space."""
    key = name.lower()
    if key not in GENOTYPES:
        raise KeyError(f"unknown NASNet genotype {name!r}; known: {', '.join(GENOTYPES)}")
    return NASNetSpace().validate(Architecture("nasnet", GENOTYPES[key]))


def draw_cell(
    arch: Architecture,
    which: str = "normal",
    path: str | Path = "cell.png",
    concat: str = "released",
) -> list[Path]:
    """Draw one cell of ``arch``; writes ``path`` as .png and .svg and returns both paths."""
    from archsearch.spaces.nasnet.draw import draw

    return draw(NASNetSpace().validate(arch), which, Path(path), concat)
