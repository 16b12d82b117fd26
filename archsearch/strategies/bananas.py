"""BANANAS: Bayesian optimization with an ensemble of neural predictors, on any space.

After White, Neiswanger and Savani, "BANANAS: Bayesian Optimization with Neural Architectures
for Neural Architecture Search" (AAAI 2021). Its three parts:

* **Encoding.** The space's :meth:`Space.encode` (NAS-Bench-201 answers with the path encoding
  of :mod:`archsearch.paths`); where a space answers None, one-hot decisions
  (:class:`~archsearch.surrogates.DecisionFeatures`; a conditional space's closed decisions are
  all-zero).
* **Predictor.** An ensemble of ``ensemble`` small MLPs (:mod:`archsearch.strategies._mlp`),
  each from its own initialization, trained on the told trials with the mean absolute error on
  standardized scores; the ensemble's mean and spread are the posterior.
* **Acquisition.** Independent Thompson sampling (``acquisition="its"``, the paper's choice):
  each candidate gets one draw from ``Normal(mean, spread)`` and the largest draw wins;
  ``"ucb"`` takes ``mean + kappa * spread``. Candidates come from the paper's acquisition
  optimizer: ``candidates`` mutations of the ``top`` best architectures (one decision changed,
  re-completed through the space: :func:`archsearch.variation.mutate`; a further change with
  probability 1/2, repeated), plus ``fresh`` uniform samples. Unlike the paper, which draws
  100 candidates per batch of 10 proposals, one ask draws few, and they join a pool that keeps
  the ``pool`` most optimistic (largest mean + spread) unproposed candidates of earlier asks,
  so the cost of an ask stays small on spaces of many decisions.

Notation: ``n`` is the number of told trials. The first ``initial`` trials are uniform random.
Cost is bounded: the ensemble is retrained at an ask while ``n <= refit_warm``, then once
``refit_ratio * n`` new results have arrived, on at most ``max_points`` trials (the best half and
the most recent half), for ``epochs`` full-batch Adam steps. Failed and NaN results are fitted at
the worst score seen.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archsearch.arch import Architecture
from archsearch.novelty import RETRIES, draw_unseen
from archsearch.params import Param
from archsearch.space import Space
from archsearch.strategies._catalog import DecisionCatalog
from archsearch.strategies._mlp import Ensemble
from archsearch.strategy import Result, Strategy, Trial
from archsearch.surrogates import DecisionFeatures
from archsearch.variation import mutate

ACQUISITIONS = ("its", "ucb")


class BANANAS(DecisionCatalog, Strategy):
    """Neural-predictor BO with path encoding (see the module docstring)."""

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        initial: int = 10,
        ensemble: int = 5,
        hidden: int = 20,
        layers: int = 2,
        epochs: int = 100,
        lr: float = 0.01,
        acquisition: str = "its",
        kappa: float = 1.0,
        candidates: int = 10,
        top: int = 5,
        fresh: int = 5,
        pool: int = 100,
        max_points: int = 256,
        refit_warm: int = 20,
        refit_ratio: float = 0.1,
        retries: int = RETRIES,
    ) -> None:
        super().__init__(space, objectives, seed)
        if acquisition not in ACQUISITIONS:
            raise ValueError(
                f"acquisition={acquisition!r} is not allowed; expected one of "
                f"{', '.join(ACQUISITIONS)}"
            )
        positive = dict(
            initial=initial, ensemble=ensemble, hidden=hidden, layers=layers, epochs=epochs,
            top=top, pool=pool, max_points=max_points,
        )  # fmt: skip
        bad = [f"{k}={v}" for k, v in positive.items() if v < 1]
        if bad or candidates < 0 or fresh < 0 or candidates + fresh < 1:
            raise ValueError(
                "need initial, ensemble, hidden, layers, epochs, top, pool, max_points >= 1 and "
                f"candidates, fresh >= 0 with candidates + fresh >= 1; got "
                f"{', '.join(bad) or f'candidates={candidates}, fresh={fresh}'}"
            )
        if not lr > 0 or refit_ratio < 0 or kappa < 0:
            raise ValueError(
                f"need lr > 0, refit_ratio >= 0, kappa >= 0; got lr={lr}, "
                f"refit_ratio={refit_ratio}, kappa={kappa}"
            )
        self.initial, self.acquisition, self.kappa = int(initial), acquisition, float(kappa)
        self.n_candidates, self.top, self.fresh = int(candidates), int(top), int(fresh)
        self.pool_size = int(pool)
        self.pool: list[Architecture] = []
        self.max_points, self.refit_warm = int(max_points), int(refit_warm)
        self.refit_ratio, self.retries = float(refit_ratio), int(retries)
        self.model = Ensemble(int(ensemble), int(hidden), int(layers), int(epochs), float(lr))
        self.features = DecisionFeatures()
        self.own_features: bool | None = None  # None: not known until the first encoding
        self.rows: dict[str, np.ndarray] = {}
        self.params: dict[str, Param] = {}
        self.archs: list[Architecture] = []
        self.values: list[float | None] = []
        self.seen: set[str] = set()
        self.since_fit = 0
        self.fitted = False

    def _encode(self, archs: list[Architecture], fit: bool = False) -> np.ndarray:
        """The space's features of ``archs``, else one-hot decisions (vocabulary grown on fit).

        Rows are cached by key (the pool is re-scored at every ask); one-hot rows are dropped
        when a fit changes the vocabulary.
        """
        if self.own_features is None:
            self.own_features = self.space.encode(archs[:1]) is None
        if self.own_features and fit:
            for a in archs:
                self._note(a)
            self.features.fit(archs, self.params)
            self.rows = {}
        new = [a for a in archs if a.key not in self.rows]
        if new:
            if self.own_features:
                for a in new:
                    self._note(a)
                X = self.features.transform(new, self.params)
                self.features.retain(set())  # the rows cache replaces the memo
            else:
                X = np.asarray(self.space.encode(new), dtype=float)
            self.rows.update(zip((a.key for a in new), X))
        X = np.array([self.rows[a.key] for a in archs], dtype=float)
        if len(self.rows) > 2 * (
            len(self.archs) + self.pool_size + self.n_candidates + self.fresh
        ):
            keep = {a.key for a in self.archs + self.pool}
            self.rows = {k: v for k, v in self.rows.items() if k in keep}
        return X

    def _due(self) -> bool:
        n = len(self.archs)
        if not self.fitted:
            return True
        if self.since_fit == 0:
            return False
        return n <= self.refit_warm or self.since_fit >= self.refit_ratio * n

    def _refit(self) -> None:
        ok = [v for v in self.values if v is not None]
        worst = min(ok)
        y = np.array([worst if v is None else v for v in self.values])
        idx = np.arange(len(y))
        if len(y) > self.max_points:
            half = self.max_points // 2
            best = np.argsort(-y, kind="stable")[:half]
            recent = np.setdiff1d(idx, best)[-(self.max_points - half) :]
            idx = np.sort(np.concatenate([best, recent]))
        archs = [self.archs[int(i)] for i in idx]
        self.model.fit(self._encode(archs, fit=True), y[idx], self.rng)
        self.fitted, self.since_fit = True, 0

    def _candidates(self) -> list[Architecture]:
        """The pool topped up with this ask's mutants and fresh samples, proposed ones dropped."""
        scored = [i for i, v in enumerate(self.values) if v is not None]
        ranked = sorted(scored, key=lambda i: -self.values[i])[: self.top]  # type: ignore[operator]
        new = []
        for _ in range(self.n_candidates):
            child = self.archs[ranked[int(self.rng.integers(len(ranked)))]]
            child = mutate(self.space, child, self.rng)
            while self.rng.random() < 0.5:
                child = mutate(self.space, child, self.rng)
            new.append(child)
        new += [self.space.sample(self.rng) for _ in range(self.fresh)]
        keys: set[str] = set()
        out = []
        for a in self.pool + new:
            if a.key not in self.seen and a.key not in keys:
                keys.add(a.key)
                out.append(a)
        return out

    def _propose(self) -> Architecture:
        if self._due():
            self._refit()
        pool = self._candidates()
        if not pool:
            self.pool = []
            return draw_unseen(lambda: self.space.sample(self.rng), self.seen, self.retries)
        mean, spread = self.model.predict(self._encode(pool))
        if self.acquisition == "its":
            value = self.rng.normal(mean, spread)
        else:
            value = mean + self.kappa * spread
        # The pool keeps its most promising (optimistic) members for the next asks.
        order = np.argsort(-(mean + spread), kind="stable")[: self.pool_size]
        self.pool = [pool[int(i)] for i in order]
        return pool[int(np.argmax(value))]

    def ask(self) -> Trial:
        if self.n_asked < self.initial or not any(v is not None for v in self.values):
            arch = draw_unseen(lambda: self.space.sample(self.rng), self.seen, self.retries)
        else:
            arch = self._propose()
        self.seen.add(arch.key)
        return self._trial(arch)

    def tell(self, trial: Trial, result: Result) -> None:
        super().tell(trial, result)
        self.seen.add(trial.arch.key)
        self.archs.append(trial.arch)
        self.values.append(self.score(result))
        self.since_fit += 1
