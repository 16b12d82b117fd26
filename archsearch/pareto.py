"""Pareto utilities for several objectives: non-dominated sorting, crowding, hypervolume.

After Deb, Pratap, Agarwal and Meyarivan, "A fast and elitist multiobjective genetic algorithm:
NSGA-II" (IEEE TEC 2002), and While, Hingston, Barone and Huband, "A faster algorithm for
calculating hypervolume" (IEEE TEC 2006; the HSO slicing scheme).

Notation: ``F`` is an ``(n, m)`` array of ``n`` points and ``m`` objectives, **all oriented for
maximization** (larger is better, as :meth:`archsearch.strategy.Strategy.scores` returns them).
``a`` dominates ``b`` when ``a >= b`` in every objective and ``a > b`` in at least one. Front 0 is
the non-dominated set (:func:`front`); front ``k`` is non-dominated once fronts ``0..k-1`` are removed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _as_matrix(F: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    F = np.asarray(F, dtype=float)
    if F.ndim != 2:
        raise ValueError(f"expected an (n, m) array of objective values, got shape {F.shape}")
    if np.isnan(F).any():
        raise ValueError("objective values contain NaN; drop failed points first")
    return F


def _dominates(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    # The one dominance test (broadcast over leading axes; objectives on the last axis).
    return (A >= B).all(axis=-1) & (A > B).any(axis=-1)


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether point ``a`` dominates point ``b`` (all objectives oriented for maximization)."""
    return bool(_dominates(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))


def dominance_matrix(F: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """``D[i, j]`` is True when point ``i`` dominates point ``j``."""
    F = _as_matrix(F)
    return _dominates(F[:, None, :], F[None, :, :])


def non_dominated_sort(F: Sequence[Sequence[float]] | np.ndarray) -> list[np.ndarray]:
    """Fronts of point indices, best first (Deb et al.'s fast non-dominated sort)."""
    F = _as_matrix(F)
    n = len(F)
    if n == 0:
        return []
    D = dominance_matrix(F)
    counts = D.sum(axis=0)  # how many points dominate each point
    fronts = []
    current = np.flatnonzero(counts == 0)
    while current.size:
        fronts.append(current)
        counts = counts - D[current].sum(axis=0)
        counts[current] = -1
        current = np.flatnonzero(counts == 0)
    return fronts


def pareto_ranks(F: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Front number of every point (0 = non-dominated)."""
    F = _as_matrix(F)
    ranks = np.empty(len(F), dtype=int)
    for k, front in enumerate(non_dominated_sort(F)):
        ranks[front] = k
    return ranks


def pareto_mask(F: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated points; O(n * front size), fine for large ``n``."""
    F = _as_matrix(F)
    mask = np.zeros(len(F), dtype=bool)
    # In lexicographically decreasing order a point can only be dominated by an earlier one,
    # and if by any, then by an earlier non-dominated one (dominance is transitive).
    order = np.lexsort(F.T[::-1] * -1.0)
    front = np.zeros((0, F.shape[1]))
    for i in order:
        x = F[i]
        if len(front) and _dominates(front, x).any():
            continue
        mask[i] = True
        front = np.vstack([front, x])
    return mask


def front(F: Sequence[Sequence[float]] | np.ndarray, unique: bool = False) -> np.ndarray:
    """Indices of the non-dominated points in input order; ``unique`` keeps the first of equal ones."""
    F = np.asarray(F, dtype=float)
    if F.size == 0:
        return np.zeros(0, dtype=int)
    idx = np.flatnonzero(pareto_mask(F))
    if unique:
        _, first = np.unique(F[idx], axis=0, return_index=True)
        idx = idx[np.sort(first)]
    return idx


def crowding_distance(F: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each point within one front (boundary points get inf)."""
    F = _as_matrix(F)
    n, m = F.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(F[:, j], kind="stable")
        col = F[order, j]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist


def hypervolume(
    F: Sequence[Sequence[float]] | np.ndarray, reference: Sequence[float] | np.ndarray
) -> float:
    """Volume dominated by the points and bounded below by ``reference`` (maximization).

    Points that do not strictly exceed the reference in every objective add nothing. Exact for
    any number of objectives (HSO slicing; fine for fronts of up to a few hundred points in 3-D).
    """
    F = _as_matrix(F)
    ref = np.asarray(reference, dtype=float)
    if ref.shape != (F.shape[1],):
        raise ValueError(
            f"reference point has {ref.size} values; expected one per objective ({F.shape[1]})"
        )
    P = F[(F > ref).all(axis=1)] - ref
    if len(P) == 0:
        return 0.0
    P = P[pareto_mask(P)]
    return float(_hso(np.unique(P, axis=0)))


def _hso(P: np.ndarray) -> float:
    """Hypervolume above the origin of non-negative points ``P`` (maximization)."""
    if P.shape[1] == 1:
        return float(P[:, 0].max())
    if P.shape[1] == 2:
        order = np.argsort(-P[:, 0], kind="stable")
        x, y = P[order, 0], P[order, 1]
        best_y = np.maximum.accumulate(y)
        prev = np.concatenate(([0.0], best_y[:-1]))
        return float((x * np.clip(best_y - prev, 0.0, None)).sum())
    # Slice along the last objective: between consecutive levels, the points at or above the
    # upper level span an (m-1)-dimensional volume.
    levels = np.unique(P[:, -1])
    total, lower = 0.0, 0.0
    for level in levels:
        above = P[P[:, -1] >= level, :-1]
        above = above[pareto_mask(above)]
        total += (level - lower) * _hso(above)
        lower = level
    return total
