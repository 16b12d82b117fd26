"""NSGA-II for several objectives: elitist selection by Pareto rank and crowding distance.

After Deb, Pratap, Agarwal and Meyarivan, "A fast and elitist multiobjective genetic algorithm:
NSGA-II" (IEEE TEC 2002). Notation: ``P`` is the population size; ``F`` the ``(n, m)`` matrix of
objective values oriented for maximization (:mod:`archsearch.pareto`). Each generation makes
``P`` offspring: two binary tournaments (lower front wins, then larger crowding distance) pick
the parents, uniform crossover mixes them with probability ``crossover``
(:func:`archsearch.variation.crossover`; on conditional spaces a decision only one parent has is
inherited from it, missing ones are sampled), then one decision is mutated with probability
``mutation``. Parents and offspring are pooled and the best ``P`` by (front, crowding) survive.

With ``steady`` (the default for one objective) the strategy is the steady-state variant
(Durillo, Nebro, Luna and Alba, "On the Effect of the Steady-State Selection Scheme in
Multi-Objective Genetic Algorithms", EMO 2009): after the first ``P`` random trials, each ask
breeds one child of the current parents and each result joins the pool at once, so selection
uses every result as soon as it arrives; on one objective this is an elitist (mu + 1) GA with
binary tournaments and uniform crossover. The generational scheme waits for ``P`` results.

The core is :class:`NSGA2`, usable on its own as an inner optimizer
(``NSGA2(space, P).evolve(fitness, generations, rng)`` with a vectorized ``fitness(archs) ->
(n, m) array``, e.g. predicted accuracy and latency), and inside the :class:`NSGA2Strategy`
(registered as ``nsga2``), which runs the same generations through ask/tell. Failed or NaN
results never enter the population.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from archsearch.arch import Architecture
from archsearch.novelty import RETRIES, draw_unseen
from archsearch.pareto import crowding_distance, non_dominated_sort, pareto_mask
from archsearch.space import Space
from archsearch.strategy import Result, Strategy, Trial
from archsearch.variation import crossover, mutate


def rank_and_crowding(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Front number and crowding distance (within its front) of every point."""
    ranks = np.zeros(len(F), dtype=int)
    crowd = np.zeros(len(F))
    for k, front in enumerate(non_dominated_sort(F)):
        ranks[front] = k
        crowd[front] = crowding_distance(F[front])
    return ranks, crowd


def survivors(F: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best points by (front, then larger crowding distance)."""
    ranks, crowd = rank_and_crowding(F)
    order = np.lexsort((-crowd, ranks))
    return order[:k]


class NSGA2:
    """The NSGA-II operators on a space (see the module docstring)."""

    def __init__(
        self,
        space: Space,
        population: int = 20,
        crossover: float = 0.9,
        mutation: float = 1.0,
        retries: int = RETRIES,
    ) -> None:
        if population < 2:
            raise ValueError(f"population={population} must be >= 2")
        if not (0 <= crossover <= 1 and 0 <= mutation <= 1):
            raise ValueError(f"crossover={crossover} and mutation={mutation} must lie in [0, 1]")
        self.space, self.population = space, int(population)
        self.crossover, self.mutation, self.retries = (
            float(crossover),
            float(mutation),
            int(retries),
        )

    def offspring(
        self,
        parents: Sequence[Architecture],
        F: np.ndarray,
        n: int,
        rng: np.random.Generator,
        seen: set[str] | None = None,
    ) -> list[Architecture]:
        """``n`` children of ``parents`` (objectives ``F``), avoiding keys in ``seen``."""
        ranks, crowd = rank_and_crowding(F)

        def tournament() -> Architecture:
            i, j = rng.integers(len(parents), size=2)
            better = i if (ranks[i], -crowd[i]) <= (ranks[j], -crowd[j]) else j
            return parents[int(better)]

        def child() -> Architecture:
            a, b = tournament(), tournament()
            kid = crossover(self.space, a, b, rng) if rng.random() < self.crossover else a
            if rng.random() < self.mutation or kid.key == a.key:
                kid = mutate(self.space, kid, rng)
            return kid

        seen = set() if seen is None else seen
        out: list[Architecture] = []
        for _ in range(n):
            kid = draw_unseen(child, seen, self.retries)
            seen.add(kid.key)
            out.append(kid)
        return out

    def fresh(self, n: int, rng: np.random.Generator, seen: set[str]) -> list[Architecture]:
        """``n`` uniform samples, each redrawn while its key is in ``seen`` (then added to it)."""
        out: list[Architecture] = []
        for _ in range(n):
            arch = draw_unseen(lambda: self.space.sample(rng), seen, self.retries)
            seen.add(arch.key)
            out.append(arch)
        return out

    def evolve(
        self,
        fitness: Callable[[list[Architecture]], np.ndarray],
        generations: int,
        rng: np.random.Generator,
        initial: Sequence[Architecture] | None = None,
    ) -> tuple[list[Architecture], np.ndarray]:
        """Run ``generations`` generations; returns the final population and its objectives.

        ``fitness(archs)`` returns an ``(n, m)`` array oriented for maximization (NaN rows are
        dropped). Use :func:`archsearch.pareto.pareto_mask` on the result for the front.
        """
        archs = (
            list(initial) if initial else [self.space.sample(rng) for _ in range(self.population)]
        )
        F = np.asarray(fitness(archs), dtype=float).reshape(len(archs), -1)
        seen = {a.key for a in archs}
        archs, F = _clean(archs, F)
        for _ in range(generations):
            if not archs:
                kids = [self.space.sample(rng) for _ in range(self.population)]
            else:
                kids = self.offspring(archs, F, self.population, rng, seen)
            G = np.asarray(fitness(kids), dtype=float).reshape(len(kids), -1)
            kids, G = _clean(kids, G)
            archs, F = archs + kids, np.vstack([F, G]) if len(F) else G
            keep = survivors(F, self.population)
            archs, F = [archs[int(i)] for i in keep], F[keep]
        return archs, F


def _clean(archs: list[Architecture], F: np.ndarray) -> tuple[list[Architecture], np.ndarray]:
    ok = ~np.isnan(F).any(axis=1)
    return [a for a, k in zip(archs, ok) if k], F[ok]


class NSGA2Strategy(Strategy):
    """NSGA-II through ask/tell, for one or several objectives."""

    multi_objective = True

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        population: int | None = None,
        crossover: float = 0.9,
        mutation: float = 1.0,
        retries: int = RETRIES,
        steady: bool | None = None,
    ) -> None:
        super().__init__(space, objectives, seed)
        if population is None:
            # 8 for one objective (seeds 0-59, NB201 valid and test), 20 for several.
            population = 8 if len(self.objectives) == 1 else 20
        self.core = NSGA2(space, population, crossover, mutation, retries)
        # Steady state by default for one objective (see the module docstring).
        self.steady = len(self.objectives) == 1 if steady is None else bool(steady)
        self.parents: list[Architecture] = []
        self.F = np.zeros((0, len(self.objectives)))
        self.batch: list[tuple[Architecture, tuple[float, ...] | None]] = []
        self.queue: list[Architecture] = []
        self.seen: set[str] = set()

    def attach(self, space: Space) -> None:
        super().attach(space)
        self.core.space = space

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        core = NSGA2.__new__(NSGA2)
        core.__dict__.update(self.core.__dict__, space=None)
        state["core"] = core
        return state

    def ask(self) -> Trial:
        if self.steady and self.parents:
            arch = self.core.offspring(self.parents, self.F, 1, self.rng, self.seen)[0]
            self.seen.add(arch.key)
            return self._trial(arch)
        if not self.queue:
            P = self.core.population
            if self.parents:
                self.queue = self.core.offspring(self.parents, self.F, P, self.rng, self.seen)
            else:
                self.queue = self.core.fresh(P, self.rng, self.seen)
        arch = self.queue.pop(0)
        self.seen.add(arch.key)
        return self._trial(arch)

    def tell(self, trial: Trial, result: Result) -> None:
        super().tell(trial, result)
        self.seen.add(trial.arch.key)
        self.batch.append((trial.arch, self.scores(result)))
        if len(self.batch) < self.core.population and not (self.steady and self.parents):
            return
        ok = [(a, s) for a, s in self.batch if s is not None]
        self.batch = []
        if not ok:
            return
        archs = self.parents + [a for a, _ in ok]
        F = np.vstack([self.F, np.array([s for _, s in ok], dtype=float)])
        keep = survivors(F, self.core.population)
        self.parents, self.F = [archs[int(i)] for i in keep], F[keep]

    def front(self) -> tuple[list[Architecture], np.ndarray]:
        """The non-dominated members of the current population and their objectives."""
        if not self.parents:
            return [], self.F
        mask = pareto_mask(self.F)
        return [a for a, m in zip(self.parents, mask) if m], self.F[mask]
