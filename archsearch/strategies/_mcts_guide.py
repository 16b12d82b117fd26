"""MCTS's value model: picks the rollout worth an evaluation among several (AlphaX style).

See :mod:`archsearch.strategies.mcts`. A Gaussian process surrogate (:mod:`archsearch.gp`,
online and bounded) learns every told result; a failure is learnt as the worst score seen so
far (not at all before the first success). Once it holds ``initial`` results, :meth:`pick`
draws ``k`` rollouts below the selected node and returns the unseen one with the largest
expected improvement.
"""

from __future__ import annotations

from collections.abc import Callable, Container

import numpy as np

from archsearch.arch import Architecture
from archsearch.params import Param, Value
from archsearch.space import Space
from archsearch.surrogates import Surrogate


class RolloutGuide:
    """A surrogate over the architectures told to MCTS, ranking candidate rollouts."""

    def __init__(self, k: int, initial: int, seed: int) -> None:
        if k < 0 or initial < 0:
            raise ValueError(f"need guide >= 0 and initial >= 0; got {k}, {initial}")
        self.k, self.initial = int(k), int(initial)
        # Hyperparameters re-tuned every 16 results (measured so; smbo's GP: every 8).
        self.model = Surrogate("gp", seed=seed, tune_every=16)
        self.params: dict[str, Param] = {}
        self.worst: float | None = None

    @property
    def active(self) -> bool:
        """Whether rollouts are ranked (``k > 1`` and ``initial`` results learnt)."""
        gp = self.model.model
        return self.k > 1 and gp is not None and len(gp) >= self.initial

    def pick(
        self,
        space: Space,
        rollout: Callable[[], dict[str, Value]],
        seen: Container[str],
    ) -> dict[str, Value] | None:
        """The best-ranked of ``k`` unseen rollouts, or None if every draw was seen."""
        found: dict[str, Architecture] = {}
        for _ in range(self.k):
            arch = Architecture(space.name, rollout())
            if arch.key not in seen:
                found.setdefault(arch.key, arch)
        if not found:
            return None
        archs = list(found.values())
        return archs[int(np.argmax(self.model.acquire(archs, self.params)))].decisions

    def learn(self, space: Space, arch: Architecture, score: float | None) -> None:
        """Teach the model one result (``None`` = failed)."""
        if self.k <= 1:
            return
        if any(name not in self.params for name in arch.decisions):
            try:
                self.params.update((p.name, p) for p in space.params(arch))
            except ValueError:
                pass
        if score is None:
            if self.worst is None:
                return
            score = self.worst
        self.worst = score if self.worst is None else min(self.worst, score)
        self.model.observe(arch, score, self.params)
