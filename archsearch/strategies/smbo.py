"""Sequential model-based optimization (SMBO): rank sampled candidates with a fitted surrogate.

After Negrinho and Gordon, "DeepArchitect" (2017; ridge regression on n-gram counts, rank
random samples, epsilon-greedy) and Hutter, Hoos and Leyton-Brown, "Sequential Model-Based
Optimization for General Algorithm Configuration" (SMAC, LION 2011; random forest surrogate,
local search around the incumbents). Surrogates are in :mod:`archsearch.surrogates`.

Notation: ``n`` is the number of told trials. The first ``initial`` trials are uniform random.
Afterwards a candidate pool is kept: each ask adds ``fresh`` uniform samples and ``mutants``
one-decision mutations of the ``top`` best architectures, drops what was already proposed, and
proposes the candidate with the best predicted score, or with probability ``epsilon`` one of the
fresh random samples. The pool keeps its ``pool`` best-predicted candidates, so candidates
accumulate across asks at a fixed cost per ask. The default ``gp`` surrogate learns each result
as it is told (:mod:`archsearch.gp`: a bounded training set, so a trial costs the same at trial
100 and 5,000) and re-scores the whole pool on every ask, from feature rows encoded once per
candidate; the best ``top`` results are kept in a sorted list as they arrive. The other
surrogates are refitted after every tell while ``n <= refit_warm``, then once
``refit_ratio * n`` new results have arrived. Failed or NaN results are fitted at the worst
score seen (the online GP: the worst seen so far, and not at all before the first success).
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from archsearch.arch import Architecture
from archsearch.novelty import RETRIES, draw_unseen
from archsearch.params import Param
from archsearch.space import Space
from archsearch.strategies._catalog import DecisionCatalog
from archsearch.strategy import Result, Strategy, Trial
from archsearch.surrogates import Surrogate
from archsearch.variation import mutate


class SMBO(DecisionCatalog, Strategy):
    """Model-based search (see the module docstring); ``surrogate`` = forest, ridge or ngram."""

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        surrogate: str = "gp",
        trees: int = 32,
        alpha: float | None = None,
        initial: int = 6,
        epsilon: float = 0.05,
        fresh: int = 4,
        mutants: int = 10,
        top: int = 5,
        pool: int = 128,
        refit_warm: int = 40,
        refit_ratio: float = 0.1,
        retries: int = RETRIES,
    ) -> None:
        super().__init__(space, objectives, seed)
        if not 0 <= epsilon <= 1:
            raise ValueError(f"epsilon={epsilon} must lie in [0, 1]")
        if fresh < 1 or pool < 1 or top < 1 or mutants < 0 or initial < 0:
            raise ValueError(
                f"need fresh >= 1, pool >= 1, top >= 1, mutants >= 0, initial >= 0; got "
                f"fresh={fresh}, pool={pool}, top={top}, mutants={mutants}, initial={initial}"
            )
        if refit_ratio < 0:
            raise ValueError(f"refit_ratio={refit_ratio} must be >= 0")
        self.model = Surrogate(surrogate, trees=trees, alpha=alpha, seed=seed)
        self.initial, self.epsilon = int(initial), float(epsilon)
        self.fresh, self.mutants, self.top, self.pool_size = (
            int(fresh),
            int(mutants),
            int(top),
            int(pool),
        )
        self.refit_warm, self.refit_ratio, self.retries = (
            int(refit_warm),
            float(refit_ratio),
            int(retries),
        )
        self.archs: list[Architecture] = []
        self.values: list[float | None] = []
        self.seen: set[str] = set()
        self.pool: list[Architecture] = []
        self.pool_X = np.zeros((0, 0))
        self.preds = np.zeros(0)
        # The ``top`` best told trials as sorted (-score, index) pairs, kept as results arrive.
        self.ranked: list[tuple[float, int]] = []
        self.since_fit = 0
        self.fitted = False
        self.worst: float | None = None
        self.params: dict[str, Param] = {}

    def _sample(self) -> Architecture:
        arch = self.space.sample(self.rng)
        self._note(arch)
        return arch

    def _refit(self) -> None:
        ok = [v for v in self.values if v is not None]
        if not ok:
            return
        worst = min(ok)
        y = np.array([worst if v is None else v for v in self.values])
        self.model.fit(self.archs, y, self.params)
        self.fitted, self.since_fit = True, 0

    def _due(self) -> bool:
        n = len(self.archs)
        if self.since_fit == 0 and self.fitted:
            return False
        return n <= self.refit_warm or self.since_fit >= self.refit_ratio * n

    def ask(self) -> Trial:
        if self.n_asked < self.initial or (
            self.model.model is None if self.model.online else not any(
                v is not None for v in self.values)
        ):
            arch = draw_unseen(self._sample, self.seen, self.retries)
        else:
            arch = self._propose()
        self.seen.add(arch.key)
        self._note(arch)
        return self._trial(arch)

    def _propose(self) -> Architecture:
        fresh = [self._sample() for _ in range(self.fresh)]
        ranked = [i for _, i in self.ranked]
        mutants = []
        for _ in range(self.mutants):
            parent = self.archs[ranked[int(self.rng.integers(len(ranked)))]]
            child = mutate(self.space, parent, self.rng)
            self._note(child)
            mutants.append(child)
        new = [a for a in fresh + mutants if a.key not in self.seen]
        keep = [i for i, a in enumerate(self.pool) if a.key not in self.seen]
        self.pool = [self.pool[i] for i in keep]
        self.preds = self.preds[keep]
        if self.model.online:
            # Pool rows are encoded once; a grown vocabulary only appends zero columns.
            self.pool += new
            self.pool_X = _stack(self.pool_X[keep], self.model.encode(new, self.params))
            self.preds = self.model.acquire_matrix(self.pool_X)
        elif self._due():
            self._refit()
            self.pool += new
            self.preds = self.model.acquire(self.pool, self.params)
        else:
            self.pool += new
            self.preds = np.concatenate([self.preds, self.model.acquire(new, self.params)])
        unseen_fresh = [a for a in fresh if a.key not in self.seen]
        if not self.pool or (unseen_fresh and self.rng.random() < self.epsilon):
            return (
                unseen_fresh[int(self.rng.integers(len(unseen_fresh)))]
                if unseen_fresh
                else fresh[0]
            )
        # Dedupe the pool by key, keeping the best-predicted copy, then keep the top ``pool``.
        order = np.argsort(-self.preds, kind="stable")
        picked, kept = None, []
        keys: set[str] = set()
        for i in order:
            a = self.pool[int(i)]
            if a.key in keys:
                continue
            keys.add(a.key)
            if picked is None:
                picked = a
            elif len(kept) < self.pool_size:
                kept.append(int(i))
        self.pool = [self.pool[i] for i in kept]
        self.preds = self.preds[kept]
        if self.model.online:
            self.pool_X = self.pool_X[kept]
        assert picked is not None
        memo = self.model.features.memo
        if len(memo) > 2 * (len(self.archs) + self.pool_size + self.fresh + self.mutants):
            self.model.features.retain({a.key for a in self.archs + self.pool})
        return picked

    def tell(self, trial: Trial, result: Result) -> None:
        super().tell(trial, result)
        self.seen.add(trial.arch.key)
        self._note(trial.arch)
        self.archs.append(trial.arch)
        value = self.score(result)
        self.values.append(value)
        if value is not None:
            bisect.insort(self.ranked, (-value, len(self.values) - 1))
            del self.ranked[self.top :]
        self.since_fit += 1
        if self.model.online:
            if value is None:
                # A failure is learnt as the worst score seen (not at all before any success).
                if self.worst is None:
                    return
                value = self.worst
            self.worst = value if self.worst is None else min(self.worst, value)
            self.model.observe(trial.arch, value, self.params)


class NgramSMBO(SMBO):
    """DeepArchitect's SMBO: ridge (alpha 1000) on n-gram counts, 50 random candidates, epsilon 0.25."""

    def __init__(self, space: Space, objectives: Any = None, seed: int = 0, **knobs: Any) -> None:
        for k, v in dict(
            surrogate="ngram", initial=1, epsilon=0.25, fresh=50, mutants=0, pool=1
        ).items():
            knobs.setdefault(k, v)
        super().__init__(space, objectives, seed, **knobs)


def _stack(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Rows of ``A`` over rows of ``B``, the narrower padded with zero columns."""
    w = max(A.shape[1], B.shape[1])
    pad = [np.hstack([M, np.zeros((len(M), w - M.shape[1]))]) for M in (A, B)]
    return np.vstack(pad)
