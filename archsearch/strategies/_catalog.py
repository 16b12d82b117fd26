"""The parameters of every decision a model-based strategy has seen, for its surrogate.

SMBO and BANANAS encode architectures by the ``Param`` of each decision (its kind and
range), and conditional spaces reveal a decision's ``Param`` only along the path that takes
it; so the catalogue grows with every architecture noted. It holds live ``Param`` objects of
the attached space: it is rebuilt on ``attach`` and never copied into a snapshot.
"""

from __future__ import annotations

from typing import Any

from archsearch.arch import Architecture
from archsearch.params import Param
from archsearch.space import Space


class DecisionCatalog:
    """Mixin for strategies with ``archs`` (told) and ``pool`` (candidates) lists."""

    params: dict[str, Param]
    archs: list[Architecture]
    pool: list[Architecture]
    space: Space

    def attach(self, space: Space) -> None:
        super().attach(space)  # type: ignore[misc]
        self.params = {}
        for a in self.archs + self.pool:
            self._note(a)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # type: ignore[misc]
        state["params"] = {}
        return state

    def _note(self, arch: Architecture) -> None:
        """Add the decisions of ``arch`` not seen yet (an architecture the space refuses adds
        nothing: it is told as a failure and never encoded by these parameters)."""
        if any(name not in self.params for name in arch.decisions):
            try:
                for p in self.space.params(arch):
                    self.params[p.name] = p
            except ValueError:
                pass
