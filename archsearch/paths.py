"""Path encoding of a cell: which sequences of operations lead from the cell's input to its output.

After White, Neiswanger and Savani, "BANANAS: Bayesian Optimization with Neural Architectures
for Neural Architecture Search" (AAAI 2021), section 4: a cell is a DAG whose edges (or nodes)
carry operations; every path from the input node to the output node reads a sequence of
operations, and the encoding has one indicator per possible sequence. Predictors trained on it
generalize better than on the adjacency matrix, because cells that compute alike share paths.

Notation: nodes ``0..n`` with ``0`` the input and ``n`` the output; an edge ``(j, i)`` (``i < j``)
is one decision naming the operation applied to node ``i``'s output on its way to node ``j``.
An edge whose operation is a *null* one (``none``: the edge is absent) breaks every path through
it, so null operations never appear in a path. With ``k`` non-null operations and node paths of
lengths ``L``, the encoding has ``sum(k ** L)`` columns over the distinct lengths ``L``
(NAS-Bench-201: 4 non-null operations, paths of length 1, 2 and 3: 4 + 16 + 64 = 84 columns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from archsearch.params import Value


class PathEncoding:
    """Indicators of the operation sequences along input-to-output paths of a cell DAG."""

    def __init__(
        self,
        edges: Mapping[tuple[int, int], str],
        ops: Sequence[str],
        null: Sequence[str] = ("none",),
    ) -> None:
        if not edges:
            raise ValueError("a path encoding needs at least one edge")
        self.edges = dict(edges)
        self.output = max(j for j, _ in self.edges)
        self.ops = [op for op in ops if op not in null]
        self.null = frozenset(null)
        self.node_paths = self._node_paths()
        if not self.node_paths:
            raise ValueError(f"no path leads from node 0 to node {self.output}")
        k = len(self.ops)
        lengths = sorted({len(p) for p in self.node_paths})
        self.offset = {}
        total = 0
        for length in lengths:
            self.offset[length] = total
            total += k**length
        self.size = total
        self._index = {op: i for i, op in enumerate(self.ops)}

    def _node_paths(self) -> list[tuple[str, ...]]:
        """Each path from node 0 to the output as the decision names of its edges."""
        out_of: dict[int, list[tuple[int, str]]] = {}
        for (j, i), name in self.edges.items():
            if not i < j:
                raise ValueError(f"edge ({j}, {i}) must point forward (i < j)")
            out_of.setdefault(i, []).append((j, name))
        paths: list[tuple[str, ...]] = []

        def walk(node: int, names: tuple[str, ...]) -> None:
            if node == self.output:
                paths.append(names)
                return
            for nxt, name in sorted(out_of.get(node, [])):
                walk(nxt, (*names, name))

        walk(0, ())
        return paths

    def columns(self, decisions: Mapping[str, Value]) -> list[int]:
        """The columns set for one cell, one per path whose edges are all present."""
        k = len(self.ops)
        cols = []
        for names in self.node_paths:
            ops = [decisions[n] for n in names]
            if any(op in self.null for op in ops):
                continue
            col = self.offset[len(ops)]
            for depth, op in enumerate(ops):
                col += self._index[op] * k**depth  # type: ignore[index]
            cols.append(col)
        return cols

    def encode(self, cells: Sequence[Mapping[str, Value]]) -> np.ndarray:
        """The ``(len(cells), size)`` 0/1 matrix of the cells' paths."""
        X = np.zeros((len(cells), self.size))
        for r, d in enumerate(cells):
            X[r, self.columns(d)] = 1.0
        return X
