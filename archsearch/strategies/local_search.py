"""Local search with random restarts, on any space (conditional ones included).

After White, Nolen and Savani, "Exploring the Loss Landscape in Neural Architecture Search"
(UAI 2021), where this simple hill climber is a hard baseline on NAS-Bench-201.

Notation: the *centre* is the architecture the search stands on; a *move* is one decision of
the centre set to another value (:func:`neighbours`); the neighbour it gives is the centre with
that change, re-completed through the space (:func:`archsearch.variation.change`: decisions the
change opens are sampled, decisions it closes are dropped), so a move always yields a valid
architecture of a conditional space. The first ``initial`` trials are uniform random samples;
the best of them becomes the centre. Its moves are visited in a random order, skipping
neighbours already proposed (no architecture is proposed twice while unseen ones are found).

``move="first"`` (first improvement, the default) moves the centre to the first neighbour told
better than it; ``move="best"`` (best improvement, the paper's variant) evaluates the whole
neighbourhood, then moves to its best member if that beats the centre. When a neighbourhood is
used up without improvement the centre is a local optimum: the search restarts from a fresh
uniform random architecture. Failed and NaN results score below everything.

Numeric decisions have a bounded neighbourhood: an ``Int`` with at most ``width`` values moves
to every other value; a larger ``Int`` to ``width`` evenly spaced values and the two adjacent
ones; a ``Float`` to ``width`` grid points (:meth:`Param.grid`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from archsearch.arch import Architecture
from archsearch.novelty import RETRIES, draw_unseen
from archsearch.params import Float, Int, Param, Value
from archsearch.space import Space
from archsearch.strategy import Result, Strategy, Trial
from archsearch.variation import change, index_of, mutable

MOVES = ("first", "best")


def alternatives(param: Param, value: Value, width: int) -> list[Value]:
    """The values one move may give ``param`` (never ``value`` itself)."""
    if isinstance(param, Float):
        grid = param.grid(width)
    elif isinstance(param, Int) and param.size > width:
        idx = np.unique(np.linspace(0, param.size - 1, width).round().astype(int))
        grid = [param.low + int(i) * param.step for i in idx]
        grid += [v for v in (value - param.step, value + param.step) if param.contains(v)]
    else:
        grid = param.grid()
    out: list[Value] = []
    for v in grid:
        if index_of([value], v) is None and index_of(out, v) is None:
            out.append(v)
    return out


def neighbours(space: Space, arch: Architecture, width: int = 8) -> list[tuple[str, Value]]:
    """Every move of ``arch``: (decision name, new value), in the space's decision order."""
    return [
        (p.name, v)
        for p in space.params(arch)
        if mutable(p)
        for v in alternatives(p, arch.decisions[p.name], width)
    ]


class LocalSearch(Strategy):
    """Hill climbing over one-decision moves with random restarts (see the module docstring)."""

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        initial: int = 5,
        move: str = "first",
        width: int = 8,
        retries: int = RETRIES,
    ) -> None:
        super().__init__(space, objectives, seed)
        if initial < 1:
            raise ValueError(f"initial={initial} must be >= 1")
        if move not in MOVES:
            raise ValueError(f"move={move!r} is not allowed; expected one of {', '.join(MOVES)}")
        if width < 2:
            raise ValueError(f"width={width} must be >= 2")
        self.initial, self.move, self.width = int(initial), move, int(width)
        self.retries = int(retries)
        self.seen: set[str] = set()
        self.told: dict[str, float] = {}  # key -> score (-inf for failed / NaN)
        self.starts: list[Architecture] = []  # random starts not yet made a centre
        self.center: Architecture | None = None
        self.center_score = -math.inf
        self.moves: list[tuple[str, Value]] | None = None  # None: not drawn yet
        self.family: set[str] = set()  # neighbours proposed from the current centre
        self.best_neighbour: tuple[Architecture, float] | None = None
        self.restarts = 0

    def _random(self) -> Architecture:
        arch = draw_unseen(lambda: self.space.sample(self.rng), self.seen, self.retries)
        self.starts.append(arch)
        return arch

    def _settle(self, arch: Architecture, score: float) -> None:
        self.center, self.center_score = arch, score
        self.moves, self.family, self.best_neighbour = None, set(), None

    def _restart(self) -> Architecture:
        self.center, self.center_score, self.moves = None, -math.inf, None
        self.starts, self.restarts = [], self.restarts + 1
        return self._random()

    def _from_starts(self) -> bool:
        """Make the best told start the centre; False while no start has been told."""
        told = [a for a in self.starts if a.key in self.told]
        if not told:
            return False
        best = max(told, key=lambda a: self.told[a.key])
        self._settle(best, self.told[best.key])
        self.starts = []
        return True

    def _neighbour(self) -> Architecture | None:
        """The next unseen neighbour of the centre, or None when the moves are used up."""
        assert self.center is not None
        if self.moves is None:
            moves = neighbours(self.space, self.center, self.width)
            order = self.rng.permutation(len(moves))
            self.moves = [moves[int(i)] for i in order[::-1]]  # popped from the end
        while self.moves:
            name, value = self.moves.pop()
            arch = change(self.space, self.center, name, value, self.rng)
            if arch.key not in self.seen:
                return arch
        return None

    def _next(self) -> Architecture:
        if self.n_asked < self.initial:
            return self._random()
        if self.center is None and not self._from_starts():
            return self._random()  # the start is still being evaluated (concurrent runs)
        while True:
            arch = self._neighbour()
            if arch is not None:
                self.family.add(arch.key)
                return arch
            best = self.best_neighbour
            if self.move == "best" and best is not None and best[1] > self.center_score:
                self._settle(*best)
                continue
            return self._restart()

    def ask(self) -> Trial:
        arch = self._next()
        self.seen.add(arch.key)
        return self._trial(arch)

    def tell(self, trial: Trial, result: Result) -> None:
        super().tell(trial, result)
        s = self.score(result)
        score = -math.inf if s is None else s
        key = trial.arch.key
        self.seen.add(key)
        self.told.setdefault(key, score)
        if key not in self.family:
            return
        if self.move == "first":
            if score > self.center_score:
                self._settle(trial.arch, score)
        elif self.best_neighbour is None or score > self.best_neighbour[1]:
            self.best_neighbour = (trial.arch, score)
