"""A Gaussian process that learns one observation at a time at a bounded cost, for model-based search.

Squared-exponential kernel ``k(a, b) = exp(-|a - b|^2 / (2 s m))`` on feature vectors, with ``m``
the median pairwise squared distance of the training points and ``s`` a relative length scale;
``noise`` is added to the diagonal. Targets are rank-transformed to normal scores (a Gaussian
copula), which keeps the fit robust to outliers such as diverged trainings. ``(s, noise)`` is
picked by marginal likelihood on a small grid (one Cholesky factor per grid point, on at most
``TUNE_POINTS`` of the kept observations: the best and the most recent).

Why online: a search asks for the model after every result, and refitting on every result seen
grows without bound (the first landing stalled 60-380 ms at a refit after thousands of trials).
Here at most ``max_points`` observations are kept (the best half by score and the most recent
others; a new one evicts the oldest of the others), the squared distances among them are kept
and extended by one row per observation, the factor is rebuilt with fixed ``(s, noise)`` on the
next query (``O(max_points^3)``, a fraction of a millisecond at 128), and the grid search runs
every ``tune_every`` observations. So one observation costs the same at trial 10 and at 10,000.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import solve_triangular

SCALES = (0.25, 0.5, 1.0, 2.0)
NOISES = (1e-3, 1e-2, 1e-1)
TUNE_POINTS = 64


class OnlineGP:
    """GP regression on a bounded, sliding training set (see the module docstring)."""

    def __init__(self, max_points: int = 128, tune_every: int = 8) -> None:
        if max_points < 2 or tune_every < 1:
            raise ValueError(
                f"need max_points >= 2 and tune_every >= 1; got {max_points}, {tune_every}"
            )
        self.max_points, self.tune_every = int(max_points), int(tune_every)
        self.X = np.zeros((0, 0))
        self.y = np.zeros(0)
        self.age = np.zeros(0, dtype=np.int64)
        self.D2 = np.zeros((0, 0))
        self.count = 0
        self.scale, self.noise, self.med = 1.0, 1e-2, 1.0
        self.since_tune = 0
        self.factor: Any = None

    def __len__(self) -> int:
        return len(self.y)

    def _width(self, d: int) -> None:
        if d > self.X.shape[1]:
            self.X = np.hstack([self.X, np.zeros((len(self.X), d - self.X.shape[1]))])

    def add(self, x: np.ndarray, y: float) -> None:
        """Learn one observation: features ``x`` (a vocabulary may only grow) and score ``y``."""
        x = np.asarray(x, dtype=float)
        self._width(len(x))
        if len(x) < self.X.shape[1]:
            x = np.concatenate([x, np.zeros(self.X.shape[1] - len(x))])
        if len(self.y) >= self.max_points:
            self._evict()
        d2 = np.clip(((self.X - x) ** 2).sum(axis=1), 0.0, None)
        n = len(self.y)
        D2 = np.zeros((n + 1, n + 1))
        D2[:n, :n], D2[n, :n], D2[:n, n] = self.D2, d2, d2
        self.D2, self.X = D2, np.vstack([self.X, x[None, :]])
        self.y = np.append(self.y, float(y))
        self.age = np.append(self.age, self.count)
        self.count += 1
        self.since_tune += 1
        self.factor = None

    def _evict(self) -> None:
        # Keep the best half; of the rest, the oldest leaves.
        half = self.max_points // 2
        best = set(np.argsort(-self.y, kind="stable")[:half].tolist())
        others = [i for i in range(len(self.y)) if i not in best]
        drop = min(others, key=lambda i: self.age[i])
        keep = np.array([i for i in range(len(self.y)) if i != drop])
        self.X, self.y, self.age = self.X[keep], self.y[keep], self.age[keep]
        self.D2 = self.D2[np.ix_(keep, keep)]

    def _z(self) -> np.ndarray:
        from scipy.special import ndtri

        _, inverse, counts = np.unique(self.y, return_inverse=True, return_counts=True)
        ends = np.cumsum(counts)
        ranks = ((ends - counts + 1 + ends) / 2.0)[inverse]
        return ndtri((ranks - 0.5) / len(self.y))

    def _tune(self, z: np.ndarray) -> None:
        # Grid search on at most ``TUNE_POINTS`` kept points (the best and the most recent).
        n = len(z)
        idx = np.arange(n)
        if n > TUNE_POINTS:
            best = np.argsort(-z, kind="stable")[: TUNE_POINTS // 2]
            rest = np.setdiff1d(idx, best)[-(TUNE_POINTS - len(best)) :]
            idx = np.concatenate([best, rest])
        D2, zz = self.D2[np.ix_(idx, idx)], z[idx]
        pos = D2[np.triu_indices(len(idx), 1)]
        pos = pos[pos > 0]
        self.med = float(np.median(pos)) if pos.size else 1.0
        best_ll, eye = -np.inf, np.eye(len(idx))
        for s in SCALES:
            K0 = np.exp(-D2 / (2.0 * s * self.med))
            for noise in NOISES:
                L = np.linalg.cholesky(K0 + noise * eye)
                v = solve_triangular(L, zz, lower=True)
                ll = -0.5 * v @ v - np.log(np.diag(L)).sum()
                if ll > best_ll:
                    best_ll, self.scale, self.noise = ll, s, noise
        self.since_tune = 0

    def _refresh(self) -> None:
        if self.factor is not None or not len(self.y):
            return
        z = self._z()
        if self.since_tune >= self.tune_every or self.count <= self.tune_every:
            self._tune(z)
        K = np.exp(-self.D2 / (2.0 * self.scale * self.med))
        K[np.diag_indices_from(K)] += self.noise
        L = np.linalg.cholesky(K)
        alpha = solve_triangular(L.T, solve_triangular(L, z, lower=True), lower=False)
        self.factor = (L, alpha, float(z.max()))

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the transformed score at rows of ``X``."""
        self._refresh()
        X = np.asarray(X, dtype=float)
        w = self.X.shape[1]
        if X.shape[1] < w:
            X = np.hstack([X, np.zeros((len(X), w - X.shape[1]))])
        elif X.shape[1] > w:
            # Features no observation has are zero in every training row: distance adds x^2.
            extra = (X[:, w:] ** 2).sum(axis=1)
            X = X[:, :w]
        else:
            extra = 0.0
        if not len(self.y):
            return np.zeros(len(X)), np.ones(len(X))
        L, alpha, _ = self.factor
        d2 = (X * X).sum(1)[:, None] + (self.X * self.X).sum(1)[None, :] - 2.0 * X @ self.X.T
        d2 = np.clip(d2 + (extra[:, None] if np.ndim(extra) else 0.0), 0.0, None)
        Ks = np.exp(-d2 / (2.0 * self.scale * self.med))
        V = solve_triangular(L, Ks.T, lower=True)
        var = np.clip(1.0 - (V * V).sum(axis=0), 1e-12, None)
        return Ks @ alpha, np.sqrt(var)

    def expected_improvement(self, X: np.ndarray) -> np.ndarray:
        """Expected improvement over the best kept (transformed) score."""
        from scipy.special import ndtr

        mean, std = self.predict(X)
        best = self.factor[2] if self.factor is not None else 0.0
        u = (mean - best) / std
        pdf = np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi)
        return (mean - best) * ndtr(u) + std * pdf


_CONTROLLER: Any = None


def one_thread() -> Any:
    """Run small dense linear algebra on one BLAS thread (threads only thrash at this size)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
