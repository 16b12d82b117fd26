"""Pareto utilities: sorting, crowding and hypervolume against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from archsearch.arch import Architecture
from archsearch.pareto import (
    crowding_distance,
    dominates,
    front,
    hypervolume,
    non_dominated_sort,
    pareto_mask,
    pareto_ranks,
)
from archsearch.strategy import Result, Trial, objectives_from


def test_non_dominated_sort_table():
    F = [[1, 3], [2, 2], [3, 1], [1, 1], [2, 1], [0, 0]]
    fronts = [sorted(f.tolist()) for f in non_dominated_sort(F)]
    assert fronts == [[0, 1, 2], [4], [3], [5]]
    assert pareto_ranks(F).tolist() == [0, 0, 0, 2, 1, 3]
    assert pareto_mask(F).tolist() == [True, True, True, False, False, False]
    assert non_dominated_sort(np.zeros((0, 2))) == []


def test_equal_points_share_a_front():
    assert [f.tolist() for f in non_dominated_sort([[1, 1], [1, 1]])] == [[0, 1]]


def test_crowding_distance():
    d = crowding_distance([[0, 4], [1, 3], [3, 1], [4, 0]])
    assert np.isinf(d[0]) and np.isinf(d[3])
    # point 1: (3 - 0) / 4 + (4 - 1) / 4; point 2: (4 - 1) / 4 + (3 - 0) / 4
    assert d[1] == pytest.approx(1.5) and d[2] == pytest.approx(1.5)
    assert np.isinf(crowding_distance([[1, 2], [2, 1]])).all()


@pytest.mark.parametrize(
    ("points", "ref", "volume"),
    [
        ([[1, 3], [2, 2], [3, 1]], [0, 0], 6.0),
        ([[1, 3], [2, 2], [3, 1], [1, 1]], [0, 0], 6.0),  # a dominated point adds nothing
        ([[1, 3], [2, 2], [3, 1]], [1, 1], 1.0),  # points on the reference add nothing
        ([[2.5, -1.0]], [0, -2], 2.5),
        ([[1, 2, 3]], [0, 0, 0], 6.0),
        ([[2, 1, 1], [1, 2, 1]], [0, 0, 0], 3.0),
        ([[2, 1, 1], [1, 2, 1], [1, 1, 2]], [0, 0, 0], 4.0),
        ([], [0, 0], 0.0),
    ],
)
def test_hypervolume_hand_values(points, ref, volume):
    F = np.asarray(points, dtype=float).reshape(-1, len(ref))
    assert hypervolume(F, ref) == pytest.approx(volume)


def test_hypervolume_matches_monte_carlo_in_3d():
    rng = np.random.default_rng(0)
    P = rng.random((12, 3))
    samples = rng.random((200_000, 3))
    covered = (samples[:, None, :] <= P[None, :, :]).all(axis=2).any(axis=1).mean()
    assert hypervolume(P, [0, 0, 0]) == pytest.approx(covered, abs=0.01)


def test_bad_input():
    with pytest.raises(ValueError, match="expected an \\(n, m\\) array"):
        non_dominated_sort([1, 2, 3])
    with pytest.raises(ValueError, match="contain NaN"):
        pareto_mask([[1, np.nan]])
    with pytest.raises(ValueError, match="reference point has 3 values"):
        hypervolume([[1, 2]], [0, 0, 0])


def test_pareto_mask_agrees_with_pairwise_dominance():
    from archsearch.pareto import dominance_matrix

    rng = np.random.default_rng(0)
    for m in (2, 3, 4):
        for _ in range(10):
            F = rng.integers(0, 4, (30, m)).astype(float)  # many ties and duplicates
            assert (pareto_mask(F) == ~dominance_matrix(F).any(axis=0)).all()


def _oracle_front(P: list[tuple[float, ...]], unique: bool) -> list[int]:
    """Brute force, O(n^2) in pure Python: the definition of non-dominance, nothing shared."""

    def dom(a, b):
        return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))

    out = [i for i, p in enumerate(P) if not any(dom(q, p) for q in P)]
    if unique:
        out = [i for i in out if P[i] not in P[:i]]
    return out


@pytest.mark.parametrize("unique", [False, True])
def test_front_matches_a_brute_force_oracle_with_ties(unique):
    rng = np.random.default_rng(1)
    for m in (1, 2, 3):
        for n in (1, 2, 7, 40):
            P = [tuple(float(v) for v in row) for row in rng.integers(0, 4, (n, m))]
            assert front(P, unique=unique).tolist() == _oracle_front(P, unique)
    assert front([]).tolist() == []


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((1, 1), (1, 0), True),
        ((1, 0), (0, 1), False),
        ((1, 1), (1, 1), False),
        ((0,), (1,), False),
    ],
)
def test_dominates_table(a, b, expected):
    assert dominates(a, b) is expected


def test_results_and_strategies_share_the_one_dominance_code():
    import archsearch.results as results

    assert results.dominates is dominates
    # The front of records is pareto.front over their scores (equal values keep the earliest).
    rec = results.Record
    objs = objectives_from("accuracy,latency_ms:min")
    rows = [(0.5, 3.0), (0.9, 5.0), (0.5, 3.0), (0.4, 1.0), (0.3, 2.0), (0.9, 5.0)]
    records = [
        rec(
            Trial(i, Architecture("s", {"x": i})), Result(metrics={"accuracy": a, "latency_ms": t})
        )
        for i, (a, t) in enumerate(rows)
    ]
    got = [r.trial.number for r in results.pareto_front(records, objs)]
    assert got == _oracle_front([(a, -t) for a, t in rows], unique=True) == [0, 1, 3]
