"""A position in MCTS's decision tree: the decisions made, the open one and its index interval.

See :mod:`archsearch.strategies.mcts`. In the plain tree an action picks a value index of the
open decision; in the restructured tree (``bisect``) an action keeps the lower (0) or upper (1)
half of the index interval ``[lo, hi)``. A decision with one value left is made at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archsearch.params import Param, Value

if TYPE_CHECKING:
    from archsearch.strategies.mcts import MCTS


class Walk:
    """A position in the decision tree: decisions so far, the open param and its index interval."""

    def __init__(self, owner: MCTS) -> None:
        self.owner = owner
        self.partial: dict[str, Value] = {}
        self._next()

    def _next(self) -> None:
        self._next_raw()
        self._settle()

    def _settle(self) -> None:
        # Decisions with one value left are made at once: they are not branching points.
        while self.param is not None and self.hi - self.lo == 1:
            self.partial[self.param.name] = self.owner._value(self.param, self.lo)
            self._next_raw()

    def _next_raw(self) -> None:
        self.param: Param | None = self.owner.space.next_param(self.partial)
        self.lo, self.hi = 0, self.owner._size(self.param) if self.param is not None else 0

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
        i = self.owner._index(self.param, value)
        if i is None or not self.lo <= i < self.hi:
            return None
        if self.owner.bisect:
            return int(i >= (self.lo + self.hi) // 2)
        return i - self.lo

    def rollout(self, rng: Any) -> dict[str, Value]:
        """Finish the architecture uniformly at random (on the grid)."""
        out = dict(self.partial)
        if self.param is not None:
            out[self.param.name] = self.owner._value(
                self.param, self.lo + int(rng.integers(self.hi - self.lo))
            )
        own = self.owner
        while (p := own.space.next_param(out)) is not None:
            out[p.name] = own._value(p, int(rng.integers(own._size(p))))
        return out
