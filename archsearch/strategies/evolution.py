"""Regularized (aging) evolution with tournament selection, for one objective.

After Real, Aggarwal, Huang and Le, "Regularized Evolution for Image Classifier Architecture
Search" (AAAI 2019). Notation: ``P`` is the population size, ``S`` the tournament size. The
first ``P`` trials are uniform random samples. Afterwards each trial draws ``S`` members of the
population at random (with replacement), mutates the best of them (one decision changed, the
space re-completed around it: :func:`archsearch.variation.mutate`), and every told result joins
the population while the oldest member leaves (aging), so no architecture survives for ever.
Failed or NaN results join too (they lose every tournament against a scored member) and age out.
A child equal to an architecture already proposed is redrawn up to ``retries`` times.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from archsearch.arch import Architecture
from archsearch.novelty import RETRIES, draw_unseen
from archsearch.space import Space
from archsearch.strategy import Result, Strategy, Trial
from archsearch.variation import mutate


class RegularizedEvolution(Strategy):
    """Aging evolution (see the module docstring); knobs ``population``, ``sample``, ``retries``."""

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        population: int = 12,
        sample: int = 8,
        retries: int = RETRIES,
    ) -> None:
        super().__init__(space, objectives, seed)
        if population < 1:
            raise ValueError(f"population={population} must be >= 1")
        if not 1 <= sample <= population:
            raise ValueError(f"sample={sample} must lie in [1, population={population}]")
        self.population_size, self.sample_size = int(population), int(sample)
        self.retries = int(retries)
        self.population: deque[tuple[Architecture, float | None]] = deque()
        self.seen: set[str] = set()

    def _parent(self) -> Architecture:
        idx = self.rng.integers(len(self.population), size=self.sample_size)
        best, best_s = None, None
        for i in idx:
            arch, s = self.population[int(i)]
            if best is None or (s is not None and (best_s is None or s > best_s)):
                best, best_s = arch, s
        assert best is not None
        return best

    def ask(self) -> Trial:
        if self.n_asked < self.population_size or not self.population:
            arch = draw_unseen(lambda: self.space.sample(self.rng), self.seen, self.retries)
        else:
            parent = self._parent()
            arch = draw_unseen(
                lambda: mutate(self.space, parent, self.rng), self.seen, self.retries
            )
        self.seen.add(arch.key)
        return self._trial(arch)

    def tell(self, trial: Trial, result: Result) -> None:
        super().tell(trial, result)
        self.seen.add(trial.arch.key)
        self.population.append((trial.arch, self.score(result)))
        while len(self.population) > self.population_size:
            self.population.popleft()
