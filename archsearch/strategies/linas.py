"""LINAS: NSGA-II on lightly trained predictors, validated a population at a time.

After Cummings, Sarah, Sridhar, Szankin, Munoz and Sundaresan, "A Hardware-Aware Framework for
Accelerating Neural Architecture Search Across Modalities" (2022; Lightweight Iterative NAS)
and its use in SimQ-NAS (Sridhar et al., arXiv 2312.13301) through DyNAS-T's ``linas`` tactic.

Rounds of ``P`` (``population``) fully evaluated architectures. The first round is random. After
each round one predictor per objective is refitted on every architecture validated so far:
scikit-learn ``Ridge`` (``alpha`` grid) and RBF ``SVR`` (``C`` grid, ``gamma='auto'``), the one
with the better ``cv``-fold cross-validated error wins (:func:`fit_predictor`); a positive cost
(latency, size) is fitted on a log scale unless ``log_costs=False``. Features are
one-hot decisions (:meth:`Space.encode` when the space's answer is not None, else
:class:`~archsearch.surrogates.DecisionFeatures`); decisions a conditional space did not open
are all-zero, which masks inactive genes. An inner NSGA-II (:class:`~archsearch.strategies.nsga2.NSGA2`)
then runs ``inner_evals`` predicted evaluations, started from the validated Pareto set; the
members of its final population not validated yet form the next round (topped up with
offspring, then random samples, when fewer than ``P`` are new).

Objectives the space knows exactly are not predicted: when the space's
``estimate(arch) -> dict[str, float]`` hook (``docs/contracts.md``; ``{}`` by default) names an
objective, the inner NSGA-II reads that objective from ``estimate`` (``exact=False`` predicts
every objective, as DyNAS-T does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from archsearch.arch import Architecture
from archsearch.pareto import pareto_mask
from archsearch.space import Space
from archsearch.strategies.nsga2 import NSGA2, survivors
from archsearch.strategy import Result, Strategy, Trial
from archsearch.surrogates import DecisionFeatures

RIDGE_ALPHAS = (0.1, 1.0, 10.0)
SVR_CS = (1.0, 10.0, 100.0)


class Predictor:
    """A fitted regressor of one objective on standardized labels."""

    def __init__(self, model: Any, mean: float, std: float, kind: str, cv_error: float) -> None:
        self.model, self.mean, self.std, self.kind, self.cv_error = (
            model,
            mean,
            std,
            kind,
            cv_error,
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted objective values for feature rows ``X``."""
        return self.model.predict(X) * self.std + self.mean


def fit_predictor(X: np.ndarray, y: np.ndarray, cv: int = 3, kind: str = "auto") -> Predictor:
    """Ridge or RBF-SVR (``kind='auto'``: whichever cross-validates better) on ``(X, y)``."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.svm import SVR

    if kind not in ("auto", "ridge", "svr"):
        raise ValueError(f"predictor kind {kind!r} is not allowed; expected auto, ridge or svr")
    mean, std = float(np.mean(y)), float(np.std(y)) or 1.0
    z = (np.asarray(y, dtype=float) - mean) / std
    if len(z) < 2 * cv:
        model = Ridge(alpha=1.0).fit(X, z)
        return Predictor(model, mean, std, "ridge", float("nan"))
    folds = KFold(n_splits=cv)
    grids = {
        "ridge": (Ridge(), {"alpha": list(RIDGE_ALPHAS)}),
        "svr": (SVR(kernel="rbf", gamma="auto", epsilon=0.01), {"C": list(SVR_CS)}),
    }
    best: tuple[float, str, Any] | None = None
    for name, (est, grid) in grids.items():
        if kind not in ("auto", name):
            continue
        search = GridSearchCV(est, grid, cv=folds, scoring="neg_mean_absolute_error")
        search.fit(X, z)
        err = -float(search.best_score_)
        if best is None or err < best[0]:
            best = (err, name, search.best_estimator_)
    assert best is not None
    return Predictor(best[2], mean, std, best[1], best[0] * std)


class LINAS(Strategy):
    """Lightweight iterative NAS (see the module docstring)."""

    multi_objective = True

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        population: int = 20,
        inner_evals: int = 2000,
        inner_population: int | None = None,
        predictor: str = "auto",
        cv: int = 3,
        crossover: float = 0.9,
        mutation: float = 1.0,
        log_costs: bool = True,
        exact: bool = True,
    ) -> None:
        super().__init__(space, objectives, seed)
        if not isinstance(exact, bool):
            raise ValueError(f"exact={exact!r} is not allowed; expected true or false")
        self.log_costs, self.exact = bool(log_costs), exact
        if population < 2 or inner_evals < 1:
            raise ValueError(
                f"population={population} must be >= 2 and inner_evals={inner_evals} >= 1"
            )
        if predictor not in ("auto", "ridge", "svr"):
            raise ValueError(
                f"predictor {predictor!r} is not allowed; expected auto, ridge or svr"
            )
        self.population, self.inner_evals, self.predictor, self.cv = (
            int(population),
            int(inner_evals),
            predictor,
            int(cv),
        )
        self.core = NSGA2(space, int(inner_population or population), crossover, mutation)
        self.archs: list[Architecture] = []
        self.F: list[tuple[float, ...]] = []
        self.queue: list[Architecture] = []
        self.seen: set[str] = set()
        self.rounds = 0
        self.predictors: list[Predictor | None] = []
        self._features: DecisionFeatures | None = None

    def attach(self, space: Space) -> None:
        super().attach(space)
        self.core.space = space

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        core = NSGA2.__new__(NSGA2)
        core.__dict__.update(self.core.__dict__, space=None)
        state["core"] = core
        return state

    def _encode(self, archs: Sequence[Architecture], fit: bool = False) -> np.ndarray:
        X = self.space.encode(list(archs))
        if X is not None:
            return np.asarray(X, dtype=float)
        if fit or self._features is None:
            self._features = DecisionFeatures()
            self._features.fit(archs, self._param_map(archs))
        return self._features.transform(archs, self._param_map(archs))

    def _param_map(self, archs: Sequence[Architecture]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a in archs:
            if any(n not in out for n in a.decisions):
                out.update({p.name: p for p in self.space.params(a)})
        return out

    def exact_objectives(self) -> list[int]:
        """Indices of the objectives the space's ``estimate`` gives exactly (not predicted)."""
        if not (self.exact and self.archs):
            return []
        known = self.space.estimate(self.archs[0])
        return [j for j, o in enumerate(self.objectives) if o.name in known]

    def _predicted_round(self) -> list[Architecture]:
        X = self._encode(self.archs, fit=True)
        Y = np.array(self.F, dtype=float)
        exact = self.exact_objectives()
        # A positive cost (oriented value < 0 everywhere) is fitted on a log scale: size and
        # latency are sums of products of the genes' effects, closer to additive in log space.
        logs = [self.log_costs and bool((Y[:, j] < 0).all()) for j in range(Y.shape[1])]
        self.predictors = [
            None
            if j in exact
            else fit_predictor(X, np.log(-Y[:, j]) if lg else Y[:, j], self.cv, self.predictor)
            for j, lg in enumerate(logs)
        ]

        def column(j: int, archs: list[Architecture], Z: np.ndarray) -> np.ndarray:
            p, o = self.predictors[j], self.objectives[j]
            if p is None:
                return np.array([o.sign() * self.space.estimate(a)[o.name] for a in archs])
            c = p.predict(Z)
            return -np.exp(c) if logs[j] else c

        def fitness(archs: list[Architecture]) -> np.ndarray:
            Z = self._encode(archs)
            return np.stack([column(j, archs, Z) for j in range(len(logs))], axis=1)

        keep = survivors(Y, min(self.core.population, len(self.archs)))
        start = [self.archs[int(i)] for i in keep]
        generations = max(1, self.inner_evals // self.core.population)
        final, G = self.core.evolve(fitness, generations, self.rng, initial=start)
        order = survivors(G, len(final)) if len(final) else []
        out = []
        for i in order:
            a = final[int(i)]
            if a.key not in self.seen and len(out) < self.population:
                self.seen.add(a.key)
                out.append(a)
        if len(out) < self.population and final:
            out += self.core.offspring(final, G, self.population - len(out), self.rng, self.seen)
        return out

    def ask(self) -> Trial:
        if not self.queue:
            enough = len(self.archs) >= 2 and self.n_told >= self.population
            self.queue = (
                self._predicted_round()
                if enough
                else self.core.fresh(self.population, self.rng, self.seen)
            )
            self.rounds += 1
        arch = self.queue.pop(0)
        self.seen.add(arch.key)
        return self._trial(arch, round=self.rounds)

    def tell(self, trial: Trial, result: Result) -> None:
        super().tell(trial, result)
        self.seen.add(trial.arch.key)
        s = self.scores(result)
        if s is not None:
            self.archs.append(trial.arch)
            self.F.append(tuple(float(v) for v in s))

    def front(self) -> tuple[list[Architecture], np.ndarray]:
        """The non-dominated validated architectures and their (oriented) objectives."""
        if not self.archs:
            return [], np.zeros((0, len(self.objectives)))
        F = np.array(self.F)
        mask = pareto_mask(F)
        return [a for a, m in zip(self.archs, mask) if m], F[mask]
