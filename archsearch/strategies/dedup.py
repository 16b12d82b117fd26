"""``Dedup``: a wrapper strategy that never proposes an architecture twice.

Cross-cutting behaviour as a wrapper that is itself a Strategy (the way Ray Tune's
``ConcurrencyLimiter`` wraps a searcher). When the inner strategy proposes an architecture that
was already evaluated, the wrapper tells it the known result at once and asks again (up to
``retries`` times), so the inner strategy learns as if it had paid for the repeat while the
evaluation budget goes to new architectures only. Useful around samplers that repeat themselves,
such as Optuna's TPE on small categorical spaces.
"""

from __future__ import annotations

from typing import Any

from archsearch.novelty import RETRIES, draw_unseen
from archsearch.registry import get_strategy
from archsearch.space import Space
from archsearch.strategy import Result, Strategy, Trial


class Dedup(Strategy):
    """``Dedup(space, strategy="optuna", options={...})`` or ``Dedup.wrap(inner)``."""

    multi_objective = True

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        strategy: str = "random",
        options: dict[str, Any] | None = None,
        retries: int = RETRIES,
    ) -> None:
        super().__init__(space, objectives, seed)
        if strategy == "dedup":
            raise ValueError("dedup cannot wrap itself; pick another strategy")
        inner = get_strategy(strategy)(space, objectives=objectives, seed=seed, **(options or {}))
        self.inner, self.retries = inner, int(retries)
        self.multi_objective = bool(getattr(inner, "multi_objective", False))
        self.known: dict[str, Result] = {}
        self.pending: dict[int, Trial] = {}

    @classmethod
    def wrap(cls, inner: Strategy, retries: int = RETRIES) -> Dedup:
        """Wrap an existing strategy object."""
        self = cls.__new__(cls)
        Strategy.__init__(self, inner.space, inner.objectives, inner.seed)
        self.inner, self.retries = inner, int(retries)
        self.multi_objective = bool(getattr(inner, "multi_objective", False))
        self.known, self.pending = {}, {}
        return self

    def attach(self, space: Space) -> None:
        super().attach(space)
        self.inner.attach(space)

    def ask(self) -> Trial:
        asked: list[Trial] = []

        def ask_inner() -> Trial:
            # A repeat is told its known result before the inner strategy is asked again.
            if asked:
                self.inner.tell(asked[-1], self.known[asked[-1].arch.key])
            asked.append(self.inner.ask())
            return asked[-1]

        inner = draw_unseen(ask_inner, self.known, self.retries)
        trial = self._trial(inner.arch, **inner.meta)
        self.pending[trial.number] = inner
        return trial

    def tell(self, trial: Trial, result: Result) -> None:
        super().tell(trial, result)
        self.known.setdefault(trial.arch.key, result)
        inner = self.pending.pop(trial.number, None)
        if inner is None or inner.arch.key != trial.arch.key:
            inner = Trial(-1 - trial.number, trial.arch, dict(trial.meta))
        self.inner.tell(inner, result)
