"""Surrogate models of a search space: architecture features and the regressors fitted on them.

Two feature maps of an :class:`~archsearch.arch.Architecture`:

* :class:`DecisionFeatures`: one indicator per (decision, option) of a ``Choice``; ``Int`` and
  ``Float`` decisions become one number scaled to [0, 1] (log scale for log floats). Decisions a
  conditional space did not open are all-zero. The vocabulary grows as new pairs are seen.
* :class:`NgramFeatures`: DeepArchitect's surrogate features (Negrinho and Gordon, 2017): the
  number of decisions, plus counts of the n-grams (``n = 1..max_n``) of the sequence of decided
  values, keeping n-grams seen at least ``min_count`` times in the fitted architectures.

:class:`Surrogate` pairs a feature map with a regressor: a random forest (scikit-learn; after
SMAC, Hutter, Hoos and Leyton-Brown 2011) or ridge regression (DeepArchitect used ridge with
``alpha = 1000`` on n-gram counts).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from archsearch.arch import Architecture
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


class GaussianProcess:
    """GP regression with a squared-exponential kernel on decision features, for SMBO.

    Targets are rank-transformed to normal scores (a Gaussian copula), which makes the fit
    robust to outliers such as diverged trainings. The length scale (relative to the median
    pairwise distance) and the noise are picked by marginal likelihood on a small grid. At most
    ``max_points`` observations are fitted (the best half and the most recent half), so a refit
    costs a bounded amount however many trials were told.
    """

    SCALES = (0.25, 0.5, 1.0, 2.0)
    NOISES = (1e-3, 1e-2, 1e-1)

    def __init__(self, max_points: int = 256) -> None:
        self.max_points = int(max_points)

    def fit(self, X: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """Fit on features ``X`` and scores ``y`` (larger is better)."""
        from scipy.special import ndtri

        n = len(y)
        if n > self.max_points:
            half = self.max_points // 2
            best = np.argsort(-y, kind="stable")[:half]
            recent = np.setdiff1d(np.arange(n), best)[-(self.max_points - half) :]
            idx = np.concatenate([best, recent])
            X, y = X[idx], y[idx]
        z = ndtri((_ranks(y) - 0.5) / len(y))
        d2 = _sqdist(X, X)
        pos = d2[d2 > 0]
        med = float(np.median(pos)) if pos.size else 1.0
        best_ll, choice = -np.inf, (1.0, 1e-2)
        for scale in self.SCALES:
            # One eigendecomposition per length scale serves every noise level.
            lam, Q = np.linalg.eigh(np.exp(-d2 / (2.0 * scale * med)))
            lam = np.clip(lam, 0.0, None)
            qz2 = (Q.T @ z) ** 2
            for noise in self.NOISES:
                ll = -0.5 * (qz2 / (lam + noise)).sum() - 0.5 * np.log(lam + noise).sum()
                if ll > best_ll:
                    best_ll, choice = ll, (scale, noise)
        self.scale, self.noise = choice
        K = np.exp(-d2 / (2.0 * self.scale * med)) + self.noise * np.eye(len(z))
        L_inv = np.linalg.inv(np.linalg.cholesky(K))
        self.K_inv = L_inv.T @ L_inv
        self.alpha = self.K_inv @ z
        self.med, self.X, self.z_best = med, X, float(z.max())
        return self

    def predict(self, X: np.ndarray, return_std: bool = False) -> Any:
        """Posterior mean (and standard deviation) of the transformed score."""
        Ks = np.exp(-_sqdist(X, self.X) / (2.0 * self.scale * self.med))
        mean = Ks @ self.alpha
        if not return_std:
            return mean
        var = np.clip(1.0 - ((Ks @ self.K_inv) * Ks).sum(axis=1), 1e-12, None)
        return mean, np.sqrt(var)

    def expected_improvement(self, X: np.ndarray) -> np.ndarray:
        """Expected improvement over the best fitted (transformed) score."""
        from scipy.special import ndtr

        mean, std = self.predict(X, return_std=True)
        u = (mean - self.z_best) / std
        pdf = np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi)
        return (mean - self.z_best) * ndtr(u) + std * pdf


_CONTROLLER: Any = None


def _one_thread() -> Any:
    """Run small dense linear algebra on one BLAS thread (threads only thrash at this size)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _ranks(y: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank."""
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse]


def _sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.clip(d2, 0.0, None)


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
    ) -> None:
        if kind not in SURROGATES:
            raise ValueError(
                f"surrogate {kind!r} is not known; expected one of {', '.join(SURROGATES)}"
            )
        self.kind, self.trees, self.seed = kind, int(trees), int(seed)
        self.alpha = alpha if alpha is not None else (1000.0 if kind == "ngram" else 1.0)
        self.features: Any = NgramFeatures() if kind == "ngram" else DecisionFeatures()
        self.model: Any = None

    def fit(self, archs: Sequence[Architecture], y: np.ndarray, params: dict[str, Param]) -> None:
        """Refit on the evaluated architectures and their (oriented) scores."""
        self.features.fit(archs, params)
        X = self.features.transform(archs, params)
        if self.kind == "gp":
            with _one_thread():
                self.model = GaussianProcess().fit(X, y)
            return
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
        return self.model.predict(self.features.transform(archs, params))

    def acquire(self, archs: Sequence[Architecture], params: dict[str, Param]) -> np.ndarray:
        """Acquisition values (larger is better): EI for ``gp``, the prediction otherwise."""
        if self.kind == "gp" and self.model is not None and archs:
            X = self.features.transform(archs, params)
            with _one_thread():
                return self.model.expected_improvement(X)
        return self.predict(archs, params)
