"""Surrogate models of a search space: architecture features and the regressors fitted on them.

Two feature maps of an :class:`~archsearch.arch.Architecture`:

* :class:`DecisionFeatures`: one indicator per (decision, option) of a ``Choice``; ``Int`` and
  ``Float`` decisions become one number scaled to [0, 1] (log scale for log floats). Decisions a
  conditional space did not open are all-zero. The vocabulary grows as new pairs are seen.
* :class:`NgramFeatures`: DeepArchitect's surrogate features (Negrinho and Gordon, 2017): the
  number of decisions, plus counts of the n-grams (``n = 1..max_n``) of the sequence of decided
  values, keeping n-grams seen at least ``min_count`` times in the fitted architectures.

:class:`Surrogate` pairs a feature map with a regressor: a random forest (scikit-learn; after
SMAC, Hutter, Hoos and Leyton-Brown 2011), ridge regression (DeepArchitect used ridge with
``alpha = 1000`` on n-gram counts) or the bounded online Gaussian process of :mod:`archsearch.gp`,
which alone also learns one result at a time (:meth:`Surrogate.observe`) at a flat cost.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from archsearch.arch import Architecture
from archsearch.gp import OnlineGP, one_thread
from archsearch.params import Choice, Float, Param


class DecisionFeatures:
    """One-hot decisions and scaled numbers (see the module docstring).

    Feature items are memoized per architecture key (the vocabulary only grows, so they stay
    valid); :meth:`retain` drops the memo of architectures no longer needed.
    """

    def __init__(self) -> None:
        self.columns: dict[tuple, int] = {}
        self.memo: dict[str, list[tuple[tuple, float]]] = {}

    def _items(self, arch: Architecture, params: dict[str, Param]) -> list[tuple[tuple, float]]:
        hit = self.memo.get(arch.key)
        if hit is not None:
            return hit
        out = []
        for name, value in arch.decisions.items():
            p = params.get(name)
            if type(value) is str:
                out.append(((name, value), 1.0))
            elif p is None or isinstance(p, Choice):
                out.append(((name, repr(value), 0), 1.0))
            elif isinstance(p, Float) and p.log:
                span = math.log(p.high) - math.log(p.low)
                x = (math.log(value) - math.log(p.low)) / span if span > 0 else 0.0
                out.append(((name,), x))
            else:
                span = p.high - p.low  # type: ignore[attr-defined]
                out.append(((name,), (value - p.low) / span if span > 0 else 0.0))  # type: ignore[attr-defined]
        self.memo[arch.key] = out
        return out

    def retain(self, keys: set[str]) -> None:
        """Forget the memoized items of every architecture not in ``keys``."""
        self.memo = {k: v for k, v in self.memo.items() if k in keys}

    def fit(self, archs: Sequence[Architecture], params: dict[str, Param]) -> None:
        """Add every feature of ``archs`` to the vocabulary."""
        for a in archs:
            for k, _ in self._items(a, params):
                if k not in self.columns:
                    self.columns[k] = len(self.columns)

    def transform(self, archs: Sequence[Architecture], params: dict[str, Param]) -> np.ndarray:
        """The ``(n, d)`` feature matrix; features outside the vocabulary are dropped."""
        X = np.zeros((len(archs), len(self.columns)))
        cols = self.columns
        for r, a in enumerate(archs):
            row = X[r]
            for k, v in self._items(a, params):
                c = cols.get(k)
                if c is not None:
                    row[c] = v
        return X


class NgramFeatures:
    """DeepArchitect's n-gram counts of the decided values (see the module docstring)."""

    def __init__(self, max_n: int = 4, min_count: int = 3) -> None:
        self.max_n, self.min_count = int(max_n), int(min_count)
        self.columns: dict[tuple, int] = {}
        self.memo: dict[str, Counter] = {}

    def retain(self, keys: set[str]) -> None:
        """Forget the memoized n-grams of every architecture not in ``keys``."""
        self.memo = {k: v for k, v in self.memo.items() if k in keys}

    def _grams(self, arch: Architecture) -> Counter:
        hit = self.memo.get(arch.key)
        if hit is None:
            hit = self.memo[arch.key] = self._count(arch)
        return hit

    def _count(self, arch: Architecture) -> Counter:
        tokens = [repr(v) for v in arch.decisions.values()]
        grams: Counter = Counter()
        for n in range(1, self.max_n + 1):
            grams.update(zip(*(tokens[i:] for i in range(n))))
        return grams

    def fit(self, archs: Sequence[Architecture], params: dict[str, Param]) -> None:
        """Rebuild the vocabulary from the n-grams frequent in ``archs``."""
        total: Counter = Counter()
        for a in archs:
            total.update(self._grams(a))
        keep = sorted(g for g, c in total.items() if c >= self.min_count)
        self.columns = {g: i + 1 for i, g in enumerate(keep)}

    def transform(self, archs: Sequence[Architecture], params: dict[str, Param]) -> np.ndarray:
        """Column 0: number of decisions; then one count per kept n-gram."""
        X = np.zeros((len(archs), len(self.columns) + 1))
        for r, a in enumerate(archs):
            X[r, 0] = len(a)
            for g, c in self._grams(a).items():
                col = self.columns.get(g)
                if col is not None:
                    X[r, col] = c
        return X


SURROGATES = ("gp", "forest", "ridge", "ngram")


class Surrogate:
    """Features plus regressor: ``gp`` (decision features, Gaussian process, ranks candidates by
    expected improvement), ``forest`` (random forest), ``ridge``, or ``ngram`` (DeepArchitect:
    n-gram counts, ridge); the last three rank by predicted score."""

    def __init__(
        self,
        kind: str = "gp",
        trees: int = 32,
        alpha: float | None = None,
        seed: int = 0,
        tune_every: int = 8,
    ) -> None:
        if kind not in SURROGATES:
            raise ValueError(
                f"surrogate {kind!r} is not known; expected one of {', '.join(SURROGATES)}"
            )
        self.kind, self.trees, self.seed = kind, int(trees), int(seed)
        self.tune_every = int(tune_every)  # of the online GP (archsearch.gp)
        self.alpha = alpha if alpha is not None else (1000.0 if kind == "ngram" else 1.0)
        self.features: Any = NgramFeatures() if kind == "ngram" else DecisionFeatures()
        self.model: Any = None

    @property
    def online(self) -> bool:
        """Whether :meth:`observe` learns one result at a time (else refit with :meth:`fit`)."""
        return self.kind == "gp"

    def observe(self, arch: Architecture, y: float, params: dict[str, Param]) -> None:
        """Learn one more result (``gp`` only): bounded cost, whatever came before."""
        if self.kind != "gp":
            raise ValueError(f"surrogate {self.kind!r} refits with fit(); only 'gp' observes")
        if self.model is None:
            self.model = OnlineGP(tune_every=self.tune_every)
        self.features.fit([arch], params)
        with one_thread():
            self.model.add(self.features.transform([arch], params)[0], y)

    def fit(self, archs: Sequence[Architecture], y: np.ndarray, params: dict[str, Param]) -> None:
        """Refit on the evaluated architectures and their (oriented) scores."""
        if self.kind == "gp":
            self.model = None
            for a, v in zip(archs, y):
                self.observe(a, float(v), params)
            return
        self.features.fit(archs, params)
        X = self.features.transform(archs, params)
        if self.kind == "forest":
            from sklearn.ensemble import RandomForestRegressor

            self.model = RandomForestRegressor(
                n_estimators=self.trees, max_features=0.5, random_state=self.seed, n_jobs=1
            )
        else:
            from sklearn.linear_model import Ridge

            self.model = Ridge(alpha=self.alpha)
        self.model.fit(X, y)

    def predict(self, archs: Sequence[Architecture], params: dict[str, Param]) -> np.ndarray:
        """Predicted scores (zeros before the first fit)."""
        if self.model is None or not archs:
            return np.zeros(len(archs))
        if self.kind == "gp":
            self.features.fit(archs, params)
            with one_thread():
                return self.model.predict(self.features.transform(archs, params))[0]
        return self.model.predict(self.features.transform(archs, params))

    def encode(self, archs: Sequence[Architecture], params: dict[str, Param]) -> np.ndarray:
        """Feature rows of ``archs``, their values joining the vocabulary (``gp``)."""
        self.features.fit(archs, params)
        return self.features.transform(archs, params)

    def acquire_matrix(self, X: np.ndarray) -> np.ndarray:
        """Expected improvement at rows from :meth:`encode` (``gp``, fitted)."""
        with one_thread():
            return self.model.expected_improvement(X)

    def acquire(self, archs: Sequence[Architecture], params: dict[str, Param]) -> np.ndarray:
        """Acquisition values (larger is better): EI for ``gp``, the prediction otherwise."""
        if self.kind == "gp" and self.model is not None and archs:
            # Values never observed join the vocabulary, so they count in the distances.
            self.features.fit(archs, params)
            X = self.features.transform(archs, params)
            with one_thread():
                return self.model.expected_improvement(X)
        return self.predict(archs, params)
