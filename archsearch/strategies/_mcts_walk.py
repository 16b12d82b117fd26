"""MCTS's decision tree: its value grid and a position in it (decisions made, open one, interval).

See :mod:`archsearch.strategies.mcts`. In the plain tree an action picks a value index of the
open decision; in the restructured tree (``bisect``) an action keeps the lower (0) or upper (1)
half of the index interval ``[lo, hi)``. A decision with one value left is made at once.
"""

from __future__ import annotations

from typing import Any, Protocol

from archsearch.params import Float, Int, Param, Value
from archsearch.space import Space
from archsearch.variation import index_of


class Grid:
    """The finite values MCTS branches on: every value of a discrete param, ``bins`` of a Float."""

    def __init__(self, bins: int) -> None:
        self.bins = int(bins)
        self.cache: dict[Param, list[Value]] = {}
        self.every: dict[Param, list[Value]] = {}

    def size(self, p: Param) -> int:
        """Number of branches of ``p``."""
        return self.bins if isinstance(p, Float) else int(p.size)  # type: ignore[arg-type]

    def _floats(self, p: Param) -> list[Value]:
        g = self.cache.get(p)
        if g is None:
            g = self.cache[p] = p.grid(self.bins)
        return g

    def values(self, p: Param) -> list[Value]:
        """Every branch value of ``p``, in order (cached: rollouts draw from it)."""
        vs = self.every.get(p)
        if vs is None:
            vs = self.every[p] = [self.value(p, i) for i in range(self.size(p))]
        return vs

    def value(self, p: Param, i: int) -> Value:
        """The value of branch ``i``."""
        if isinstance(p, Float):
            return self._floats(p)[i]
        if isinstance(p, Int):
            return p.low + p.step * i
        return p.options[i]  # type: ignore[attr-defined]

    def index(self, p: Param, value: Value) -> int | None:
        """The branch of ``value`` (the nearest grid point for a Float), or None."""
        if isinstance(p, Float):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                return None
            g = self._floats(p)
            return min(range(len(g)), key=lambda k: abs(g[k] - value))  # type: ignore[operator]
        if isinstance(p, Int):
            if not p.contains(value):
                return None
            return (value - p.low) // p.step  # type: ignore[operator]
        return index_of(list(p.options), value)  # type: ignore[attr-defined]


class Tree(Protocol):
    """What a walk reads of its strategy: the space, its value grid and the tree shape."""

    space: Space
    grid: Grid
    bisect: bool


class Walk:
    """A position in the decision tree: decisions so far, the open param and its index interval."""

    def __init__(self, owner: Tree) -> None:
        self.owner = owner
        self.partial: dict[str, Value] = {}
        self._next()

    def _next(self) -> None:
        self._next_raw()
        self._settle()

    def _settle(self) -> None:
        # Decisions with one value left are made at once: they are not branching points.
        while self.param is not None and self.hi - self.lo == 1:
            self.partial[self.param.name] = self.owner.grid.value(self.param, self.lo)
            self._next_raw()

    def _next_raw(self) -> None:
        self.param: Param | None = self.owner.space.next_param(self.partial)
        self.lo, self.hi = 0, self.owner.grid.size(self.param) if self.param is not None else 0

    @property
    def width(self) -> int:
        """Number of actions at this point (0 when the architecture is complete)."""
        if self.param is None:
            return 0
        return 2 if self.owner.bisect else self.hi - self.lo

    def apply(self, action: int) -> None:
        """Take one branch of the tree."""
        assert self.param is not None
        if self.owner.bisect:
            mid = (self.lo + self.hi) // 2
            self.lo, self.hi = (self.lo, mid) if action == 0 else (mid, self.hi)
        else:
            self.lo, self.hi = action, action + 1
        self._settle()

    def action_for(self, value: Value) -> int | None:
        """The branch that leads toward ``value`` of the open decision, or None if off the grid."""
        assert self.param is not None
        i = self.owner.grid.index(self.param, value)
        if i is None or not self.lo <= i < self.hi:
            return None
        if self.owner.bisect:
            return int(i >= (self.lo + self.hi) // 2)
        return i - self.lo

    def rollout(self, rng: Any) -> dict[str, Value]:
        """Finish the architecture uniformly at random (on the grid)."""
        out = dict(self.partial)
        if self.param is not None:
            out[self.param.name] = self.owner.grid.value(
                self.param, self.lo + int(rng.integers(self.hi - self.lo))
            )
        own = self.owner
        values = own.grid.values
        while (p := own.space.next_param(out)) is not None:
            vs = values(p)
            out[p.name] = vs[int(rng.integers(len(vs)))]
        return out
