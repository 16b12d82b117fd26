"""Random search: every decision drawn uniformly, in the space's traversal order."""

from __future__ import annotations

from typing import Any

from archsearch.strategy import Strategy, Trial


class RandomSearch(Strategy):
    """Uniform random search; supports any number of objectives (it ignores them)."""

    multi_objective = True

    def ask(self) -> Trial:
        return self._trial(self.space.sample(self.rng))

    def state(self) -> dict[str, Any]:
        """The generator and the counters: all random search needs to go on."""
        return self._counters()

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state`."""
        self._load_counters(state)
