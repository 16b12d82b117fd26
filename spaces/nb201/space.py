"""The NAS-Bench-201 cell space: 6 edges of a 4-node cell, 5 operations each (15,625 cells).

After Dong and Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
Search" (ICLR 2020) and NATS-Bench's topology space. Notation: nodes 0..3 of a cell; node 0 is
the cell input, node ``j`` sums ``op_{j,i}(node_i)`` over ``i < j``, node 3 is the output. The
decision ``edge_j_i`` picks ``op_{j,i}`` from :data:`OPS`. Decisions come in ``arch_str`` order
(``edge_1_0, edge_2_0, edge_2_1, edge_3_0, edge_3_1, edge_3_2``), so :func:`arch_str` is the
benchmark's string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.

The network (``C`` channels, ``N`` cells per stage): a 3x3 conv stem, three stages of ``N``
cells with ``C``, ``2C``, ``4C`` channels joined by residual reduction blocks (stride 2), then
BN-ReLU, global average pooling and a linear classifier. ``nor_conv_kxk`` is ReLU-Conv-BN.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from archsearch.arch import Architecture
from archsearch.params import Choice, Param, Value
from archsearch.paths import PathEncoding
from archsearch.space import Space, Task

if TYPE_CHECKING:
    import torch

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
EDGE_NAMES = tuple(f"edge_{j}_{i}" for j, i in EDGES)
_PARAMS = tuple(Choice(name, OPS) for name in EDGE_NAMES)
_PATHS = PathEncoding(dict(zip(EDGES, EDGE_NAMES)), OPS)
_ARCH_STR = re.compile(r"^\|(\w+)~0\|\+\|(\w+)~0\|(\w+)~1\|\+\|(\w+)~0\|(\w+)~1\|(\w+)~2\|$")


def arch_str(arch: Architecture | Mapping[str, Value]) -> str:
    """The NAS-Bench-201 string of a cell, e.g. ``|nor_conv_3x3~0|+|...|``."""
    d = arch.decisions if isinstance(arch, Architecture) else arch
    ops = [d[n] for n in EDGE_NAMES]
    return f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"


def from_arch_str(text: str) -> Architecture:
    """Inverse of :func:`arch_str`."""
    m = _ARCH_STR.match(text.strip())
    if m is None or any(op not in OPS for op in m.groups()):
        raise ValueError(
            f"not a NAS-Bench-201 cell string: {text!r}; expected "
            f"|op~0|+|op~0|op~1|+|op~0|op~1|op~2| with ops from {', '.join(OPS)}"
        )
    return Architecture("nb201", dict(zip(EDGE_NAMES, m.groups())))


class NB201Space(Space):
    """The NAS-Bench-201 cell space; ``C`` stem channels and ``N`` cells per stage."""

    name = "nb201"

    def __init__(self, C: int = 16, N: int = 5, table: str | None = None) -> None:
        if C < 1 or N < 1:
            raise ValueError(f"NB201 needs C >= 1 and N >= 1, got C={C}, N={N}")
        if table is not None and not os.path.isfile(table):
            raise FileNotFoundError(f"NAS-Bench-201 table not found: {table}")
        self.C, self.N, self.table = int(C), int(N), table
        self._lookup = None
        if table is not None:  # read (and checked) now: a file that is no table fails here
            from archsearch.spaces.nb201.table import TableEvaluator

            self._lookup = TableEvaluator(table)

    def evaluator(self, data: Any, **options: Any) -> Any:
        """The table lookup when a table is set (``table=`` or ``ARCHSEARCH_NB201_TABLE``), else None."""
        from archsearch.spaces.nb201.table import ENV_VAR, TableEvaluator

        if self._lookup is not None:
            return self._lookup
        path = os.environ.get(ENV_VAR)
        return TableEvaluator(path) if path else None

    def encode(self, archs: Sequence[Architecture]) -> np.ndarray:
        """BANANAS's path encoding (:mod:`archsearch.paths`): 84 indicators of op sequences."""
        return _PATHS.encode([a.decisions for a in archs])

    def next_param(self, partial: Mapping[str, Value]) -> Param | None:
        k = len(partial)
        return _PARAMS[k] if k < len(_PARAMS) else None

    def build(self, arch: Architecture, task: Task) -> torch.nn.Module:
        from archsearch.spaces.nb201.net import NB201Network

        arch = self.validate(arch)
        return NB201Network([arch[n] for n in EDGE_NAMES], self.C, self.N, task)


def nb201(C: int = 16, N: int = 5, table: str | None = None) -> NB201Space:
    """The NAS-Bench-201 space (``C=16, N=5`` is the benchmark's network; smaller for digits).

    With ``table`` (a CSV path) or ``ARCHSEARCH_NB201_TABLE`` set, searches look results up in
    the table instead of training.
    """
    return NB201Space(C=C, N=N, table=table)
