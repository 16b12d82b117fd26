"""An ensemble of small ReLU MLP regressors in numpy, trained together, for BANANAS.

After White, Neiswanger and Savani (AAAI 2021): every member sees the same data and differs only
in its initialization, so the spread of the members' predictions stands in for the posterior's
standard deviation (deep ensembles, Lakshminarayanan et al., NeurIPS 2017). The members are
stacked along a leading axis (weights ``(E, d_in, d_out)``), so one batched matrix product
serves the whole ensemble and a fit costs ``epochs`` full-batch Adam steps however many members
there are. Loss: mean absolute error (the paper's choice) on standardized targets.
"""

from __future__ import annotations

import numpy as np

from archsearch.gp import one_thread  # one BLAS thread: small matrices only thrash


class Ensemble:
    """``E`` MLPs with ``layers`` hidden ReLU layers of ``hidden`` units each."""

    BETAS = (0.9, 0.999)

    def __init__(self, members: int, hidden: int, layers: int, epochs: int, lr: float) -> None:
        self.members, self.hidden, self.layers = int(members), int(hidden), int(layers)
        self.epochs, self.lr = int(epochs), float(lr)
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        self.mean, self.std = 0.0, 1.0

    def _init(self, d: int, rng: np.random.Generator) -> None:
        sizes = [d, *[self.hidden] * self.layers, 1]
        self.weights, self.biases = [], []
        for a, b in zip(sizes[:-1], sizes[1:]):
            bound = np.sqrt(6.0 / a)  # He-uniform, for ReLU
            self.weights.append(rng.uniform(-bound, bound, size=(self.members, a, b)))
            self.biases.append(np.zeros((self.members, 1, b)))

    def _forward(self, X: np.ndarray) -> list[np.ndarray]:
        """Activations of every layer, input first; the last is ``(E, n, 1)``."""
        acts = [np.broadcast_to(X, (self.members, *X.shape))]
        for k, (W, b) in enumerate(zip(self.weights, self.biases)):
            z = acts[-1] @ W + b
            acts.append(z if k == len(self.weights) - 1 else np.maximum(z, 0.0))
        return acts

    def fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Ensemble:
        """Train fresh members (initialized from ``rng``) on features ``X`` and scores ``y``."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        self.mean, self.std = float(y.mean()), float(y.std()) or 1.0
        target = ((y - self.mean) / self.std)[None, :, None]
        self._init(X.shape[1], rng)
        params = self.weights + self.biases
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        b1, b2 = self.BETAS
        n, top = len(y), len(self.weights) - 1
        with one_thread():
            for step in range(1, self.epochs + 1):
                acts = self._forward(X)
                grad = np.sign(acts[-1] - target) / n  # d(MAE)/d(output), per member
                gw, gb = [None] * len(self.weights), [None] * len(self.biases)
                for k in range(top, -1, -1):
                    gw[k] = np.swapaxes(acts[k], 1, 2) @ grad
                    gb[k] = grad.sum(axis=1, keepdims=True)
                    if k:
                        grad = (grad @ np.swapaxes(self.weights[k], 1, 2)) * (acts[k] > 0)
                lr = self.lr * np.sqrt(1 - b2**step) / (1 - b1**step)
                for i, g in enumerate(gw + gb):
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    params[i] -= lr * m[i] / (np.sqrt(v[i]) + 1e-8)
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread (standard deviation over members) of the predicted scores."""
        with one_thread():
            out = self._forward(np.asarray(X, dtype=float))[-1][:, :, 0] * self.std + self.mean
        return out.mean(axis=0), out.std(axis=0)
