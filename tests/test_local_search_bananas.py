"""Local search and BANANAS: their moves, encodings, predictor and options."""

from __future__ import annotations

import numpy as np
import pytest
from archsearch.spaces.nb201 import EDGE_NAMES, OPS, from_arch_str, nb201

from archsearch.params import Float, Int
from archsearch.paths import PathEncoding
from archsearch.registry import get_space, get_strategy
from archsearch.strategies._mlp import Ensemble
from archsearch.strategies.bananas import BANANAS
from archsearch.strategies.local_search import LocalSearch, alternatives, neighbours
from archsearch.strategy import Result
from archsearch.testing.conformance import drive

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def _differences(a, b) -> list[str]:
    keys = set(a.decisions) | set(b.decisions)
    return sorted(k for k in keys if a.decisions.get(k, None) != b.decisions.get(k, None))


# --- path encoding -------------------------------------------------------------------------


def test_nb201_path_encoding_has_the_papers_size_and_paths():
    X = nb201().encode([from_arch_str(BEST)])
    # 4 non-null ops; node paths 0-3, 0-1-3, 0-2-3 (length 1, 2, 2) and 0-1-2-3 (length 3).
    assert X.shape == (1, 4 + 4**2 + 4**3)
    k = {op: i for i, op in enumerate(o for o in OPS if o != "none")}
    s, c1, c3 = k["skip_connect"], k["nor_conv_1x1"], k["nor_conv_3x3"]
    want = {
        s,  # 0-3: skip
        4 + c3 + 4 * c3,  # 0-1-3: conv3, conv3
        4 + c3 + 4 * c1,  # 0-2-3: conv3, conv1
        20 + c3 + 4 * c3 + 16 * c1,  # 0-1-2-3: conv3, conv3, conv1
    }
    assert set(np.flatnonzero(X[0])) == want


def test_a_null_edge_breaks_every_path_through_it():
    cut = from_arch_str(BEST).replace(edge_1_0="none")  # kills 0-1-3 and 0-1-2-3
    assert nb201().encode([cut]).sum() == 2
    empty = from_arch_str(BEST.replace("skip_connect", "none")).replace(
        edge_1_0="none", edge_2_0="none"
    )
    assert nb201().encode([empty]).sum() == 0  # no input reaches the output


def test_cells_that_compute_alike_share_an_encoding():
    # With edge 1-0 absent node 1 is zero, so the ops on edges 2-1 and 3-1 change nothing.
    cut = from_arch_str(BEST).replace(edge_1_0="none")
    other = cut.replace(edge_2_1="avg_pool_3x3", edge_3_1="skip_connect")
    Xa, Xb = nb201().encode([cut, other])
    assert (Xa == Xb).all()
    assert not (Xa == nb201().encode([cut.replace(edge_2_0="avg_pool_3x3")])[0]).all()


@pytest.mark.parametrize(
    ("edges", "match"),
    [
        ({}, "at least one edge"),
        ({(0, 1): "e"}, r"edge \(0, 1\) must point forward"),
        ({(2, 1): "e"}, "no path leads from node 0 to node 2"),
    ],
)
def test_path_encoding_errors(edges, match):
    with pytest.raises(ValueError, match=match):
        PathEncoding(edges, OPS)


# --- local search ----------------------------------------------------------------------------


def test_nb201_neighbourhood_is_every_single_op_change():
    space = nb201()
    arch = from_arch_str(BEST)
    moves = neighbours(space, arch)
    assert len(moves) == len(EDGE_NAMES) * (len(OPS) - 1) == 24
    assert len(set(moves)) == 24 and all(arch.decisions[n] != v for n, v in moves)


def test_numeric_neighbourhoods_are_bounded():
    assert alternatives(Int("n", 1, 4), 2, 8) == [1, 3, 4]
    big = alternatives(Int("n", 0, 1000), 500, 8)
    assert len(big) <= 10 and 499 in big and 501 in big and 500 not in big
    assert len(alternatives(Float("x", 0.0, 1.0), 0.3, 8)) == 8


def _flat_score(_arch) -> Result:
    return Result(metrics={"accuracy": 0.5})


def test_a_local_optimum_is_left_by_a_random_restart():
    # Every cell scores the same, so the first centre is a local optimum: its 24 neighbours are
    # proposed (each one decision away), then the search restarts at random.
    space = nb201()
    s = LocalSearch(space, seed=0, initial=3)
    run = drive(s, 3 + 24 + 2, _flat_score)
    archs = [t.arch for t, _ in run]
    centre = archs[0]  # ties keep the first start
    assert all(len(_differences(a, centre)) == 1 for a in archs[3:27])
    assert s.restarts == 1 and len(_differences(archs[27], centre)) > 1
    assert all(len(_differences(a, archs[27])) == 1 for a in archs[28:])
    assert len({a.key for a in archs}) == len(archs)


def _ones(arch) -> Result:
    """A landscape with one optimum: the number of edges set to ``nor_conv_3x3``."""
    return Result(metrics={"accuracy": sum(v == "nor_conv_3x3" for v in arch.decisions.values())})


@pytest.mark.parametrize("move", ["first", "best"])
def test_hill_climbing_reaches_the_optimum_of_a_unimodal_landscape(move):
    s = LocalSearch(nb201(), seed=1, initial=1, move=move)
    run = drive(s, 150, _ones)
    assert max(r.metrics["accuracy"] for _, r in run) == 6
    assert len({t.arch.key for t, _ in run}) == len(run)


def test_first_improvement_moves_at_once_and_best_improvement_after_the_neighbourhood():
    first = LocalSearch(nb201(), seed=2, initial=1, move="first")
    run = drive(first, 30, _ones)
    # After the first improving neighbour, the next proposal is one of *its* neighbours.
    i = next(
        k
        for k, (_, r) in enumerate(run)
        if k and r.metrics["accuracy"] > run[0][1].metrics["accuracy"]
    )
    assert len(_differences(run[i + 1][0].arch, run[i][0].arch)) == 1
    best = LocalSearch(nb201(), seed=2, initial=1, move="best")
    run = drive(best, 26, _ones)
    start = run[0][0].arch
    assert all(len(_differences(t.arch, start)) == 1 for t, _ in run[1:25])
    winner = max(run[1:25], key=lambda tr: tr[1].metrics["accuracy"])[0].arch
    assert len(_differences(run[25][0].arch, winner)) == 1


def test_local_search_moves_stay_valid_on_a_conditional_space():
    space = get_space("deeparchitect")
    s = LocalSearch(space, seed=0, initial=2)
    run = drive(s, 16, lambda a: Result(metrics={"accuracy": len(a.decisions) % 7}))
    for t, _ in run:
        assert space.validate(t.arch) == t.arch
    lengths = {len(t.arch.decisions) for t, _ in run}
    assert len(lengths) > 1  # moves opened and closed decisions


# --- BANANAS ---------------------------------------------------------------------------------


def test_the_ensemble_learns_a_linear_function_and_reports_a_spread():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(200, 12)).astype(float)
    w = rng.normal(size=12)
    y = X @ w
    model = Ensemble(5, 20, 2, 300, 0.01).fit(X[:150], y[:150], np.random.default_rng(1))
    mean, spread = model.predict(X[150:])
    assert np.corrcoef(mean, y[150:])[0, 1] > 0.95
    assert (spread > 0).all()


def test_bananas_encodes_with_the_space_where_it_can():
    on_cells = BANANAS(nb201(), seed=0, initial=3)
    drive(on_cells, 5, _ones)
    assert on_cells.own_features is False and on_cells.model.weights[0].shape[1] == 84
    general = BANANAS(get_space("deeparchitect"), seed=0, initial=3)
    run = drive(general, 6, lambda a: Result(metrics={"accuracy": len(a.decisions)}))
    assert general.own_features is True and len({t.arch.key for t, _ in run}) == 6
    assert general.model.weights[0].shape[1] == len(general.features.columns)


@pytest.mark.parametrize(
    ("name", "knobs", "match"),
    [
        (
            "local-search",
            {"move": "sideways"},
            "move='sideways' is not allowed; expected one of first, best",
        ),
        ("local-search", {"initial": 0}, "initial=0 must be >= 1"),
        ("local-search", {"width": 1}, "width=1 must be >= 2"),
        (
            "bananas",
            {"acquisition": "ei"},
            "acquisition='ei' is not allowed; expected one of its, ucb",
        ),
        ("bananas", {"ensemble": 0}, "ensemble=0"),
        ("bananas", {"candidates": 0, "fresh": 0}, "candidates=0, fresh=0"),
        ("bananas", {"lr": 0.0}, "need lr > 0"),
    ],
)
def test_bad_options_name_the_value(name, knobs, match):
    with pytest.raises(ValueError, match=match):
        get_strategy(name)(nb201(), **knobs)
