"""Random search: every decision drawn uniformly, in the space's traversal order."""

from __future__ import annotations

from archsearch.strategy import Strategy, Trial


class RandomSearch(Strategy):
    """Uniform random search; supports any number of objectives (it ignores them)."""

    multi_objective = True

    def ask(self) -> Trial:
        return self._trial(self.space.sample(self.rng))
