"""DeepMAD: golden objectives of the published nets, the log-space model against the cnn space's
counting, solved designs meeting every constraint and agreeing with fvcore, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from archsearch.solvers.deepmad import (
    FAMILIES,
    Objective,
    Structure,
    evaluate,
    optimize,
    solve,
    to_spec,
)
from archsearch.solvers.deepmad.model import Model
from archsearch.solvers.deepmad.published import PUBLISHED
from archsearch.solvers.deepmad.relax import Relaxation
from archsearch.spaces.cnn import build, complexity, decode

from archsearch.space import Task

R50 = PUBLISHED["deepmad-r50"].structure


def test_golden_r50_objective_rho_and_level_terms():
    t = evaluate(R50, Objective(rho0=0.3, depth_penalty="last3"))
    assert t.objective == pytest.approx(48884.5, abs=0.05)
    assert round(t.rho, 4) == 0.2998
    weighted = [a * h for a, h in zip((1, 1, 1, 1, 8), t.entropy)]
    assert weighted == pytest.approx([21.263, 111.984, 1323.611, 4178.823, 43283.596], abs=1e-3)
    assert t.layers == 157
    # the default penalty uses every entry's depth (the stage-1 depth 1 adds spread)
    assert evaluate(R50).objective < t.objective


@pytest.mark.parametrize(
    "name, objective, rho",
    [
        ("deepmad-r18", 32085.4, 0.2991),
        ("deepmad-r34", 43107.9, 0.3000),
        ("deepmad-29m", 19091.3, 0.4965),
        ("deepmad-50m", 23416.3, 0.4930),
        ("deepmad-89m", 28171.3, 0.4951),
    ],
)
def test_published_objectives(name, objective, rho):
    p = PUBLISHED[name]
    t = evaluate(p.structure, Objective(rho0=p.rho0, depth_penalty=p.depth_penalty))
    assert t.objective == pytest.approx(objective, abs=0.05)
    assert round(t.rho, 4) == rho


def _random_structure(family: str, rng: np.random.Generator) -> Structure:
    fam = FAMILIES[family]
    widths = np.sort(rng.integers(2, 40, size=6)) * 8
    stem, widths = int(widths[0]), tuple(int(w) for w in widths[1:])
    if family == "resnet":
        btn = tuple(int(max(8, (w // 8) // int(rng.integers(1, 5)) * 8)) for w in widths)
    else:
        btn = tuple(int(w * rng.integers(2, 7)) for w in widths)
    return Structure(
        family,
        stem,
        widths,
        btn,
        tuple(int(k) for k in rng.choice(fam.kernels, 5)),
        fam.strides,
        tuple(int(d) for d in rng.integers(1, 4, size=5)),
        head=int(widths[-1] + 8 * rng.integers(0, 20)) if fam.head else 0,
    )


@pytest.mark.parametrize("family", ["resnet", "mbconv"])
def test_model_matches_cnn_space_counting_and_objective(family):
    rng = np.random.default_rng(0)
    obj = Objective(rho0=FAMILIES[family].rho0, num_classes=10)
    m = Model(FAMILIES[family], obj)
    for _ in range(10):
        s = _random_structure(family, rng)
        x, L = m.to_vector(s)
        ev = m.evaluate(x, L)
        cx = complexity(to_spec(s), num_classes=10, count_bias=False)
        assert (ev["flops"][0], ev["params"][0]) == (cx["flops"], cx["params"])
        assert ev["flops_by"][0].sum() == pytest.approx(cx["flops"])
        t = evaluate(s, obj)
        assert ev["objective"][0] == pytest.approx(t.objective)
        assert ev["rho"][0] == pytest.approx(t.rho)
        assert m.to_structure(x, L) == s


def test_relaxation_bounds_every_structure_at_its_depths():
    p = PUBLISHED["deepmad-r50"]
    obj = Objective(rho0=0.3, depth_penalty="last3")
    m = Model(FAMILIES["resnet"], obj)
    relax = Relaxation(m, 4.2e9, 26e6)
    L = np.array(R50.depths, dtype=float)
    bound, v, _ = relax.solve(L, L, relax.v_lo, relax.v_hi)
    assert evaluate(p.structure, obj).objective <= bound
    lo = np.array([b[0] for b in FAMILIES["resnet"].depth_bounds], dtype=float)
    hi = np.array([b[1] for b in FAMILIES["resnet"].depth_bounds], dtype=float)
    assert relax.solve(lo, hi, relax.v_lo, relax.v_hi)[0] >= bound


FLOPS, PARAMS, RES = 10e6, 0.3e6, 32


@pytest.fixture(scope="module")
def small():
    return optimize(FLOPS, PARAMS, "resnet", resolution=RES, num_classes=10, time_limit=0.2)


def test_solution_meets_every_constraint(small):
    s = small.structure
    cx = complexity(to_spec(s, RES), num_classes=10, count_bias=False)
    assert (small.flops, small.params) == (cx["flops"], cx["params"])
    assert cx["flops"] <= FLOPS and cx["params"] <= PARAMS
    t = evaluate(s, Objective(rho0=0.3, resolution=RES, num_classes=10))
    assert t.rho <= 0.3 and t.objective == pytest.approx(small.objective)
    chain = (s.stem, *s.widths)
    assert all(w % 8 == 0 for w in (*chain, *s.bottlenecks))
    assert list(chain) == sorted(chain)
    assert all(8 <= b <= w for b, w in zip(s.bottlenecks, s.widths))
    assert small.objective <= small.stats["depth_bound"] + 1e-6
    assert small.objective <= small.bound
    assert 0 <= small.gap


def _fvcore_agrees(sol, res: int, classes: int) -> None:
    from fvcore.nn import FlopCountAnalysis

    arch = sol.arch
    assert arch.space == "cnn" and decode(arch).resolution == res
    model = build(decode(arch), Task((3, res, res), classes))
    f = FlopCountAnalysis(model.eval(), torch.zeros(1, 3, res, res))
    f.unsupported_ops_warnings(False)
    f.uncalled_modules_warnings(False)
    ops = f.by_operator()
    assert ops.get("conv", 0) + ops.get("linear", 0) == sol.flops
    assert sum(p.numel() for p in model.parameters()) == sol.params
    with torch.no_grad():
        assert model(torch.randn(1, 3, res, res)).shape == (1, classes)


def test_solved_network_builds_and_fvcore_agrees(small):
    _fvcore_agrees(small, RES, 10)


def test_solved_mbconv_network_builds_and_fvcore_agrees():
    sol = optimize(8e6, 0.3e6, "mbconv", resolution=RES, num_classes=10, time_limit=0.1)
    _fvcore_agrees(sol, RES, 10)


@pytest.mark.slow
@pytest.mark.parametrize(
    "family, flops, params", [("resnet", 4.13e9, 25.55e6), ("mbconv", 4.5e9, 29e6)]
)
def test_full_size_designs_agree_with_fvcore(family, flops, params):
    sol = optimize(flops, params, family)
    assert sol.flops <= flops and sol.params <= params
    _fvcore_agrees(sol, 224, 1000)


def test_mbconv_solution_meets_budget_and_expansion_bounds():
    sol = optimize(20e6, 0.5e6, "mbconv", resolution=RES, num_classes=10, time_limit=0.2)
    s = sol.structure
    assert s.head >= s.widths[-1] and sol.flops <= 20e6 and sol.params <= 0.5e6
    assert sol.rho <= 0.5
    assert all(1.5 * w <= b <= 6 * w for b, w in zip(s.bottlenecks, s.widths))


def test_solve_returns_a_cnn_architecture():
    arch = solve(5e6, 0.2e6, resolution=RES, num_classes=10, time_limit=0.1)
    assert arch.space == "cnn" and arch["stages"] == 5


@pytest.mark.parametrize(
    "flops, params, match",
    [
        (1e5, 1e9, "FLOPs budget 1e\\+05 is below"),
        (1e12, 1e3, "params budget 1000 is below"),
    ],
)
def test_infeasible_budgets_name_the_constraint(flops, params, match):
    with pytest.raises(ValueError, match=match):
        optimize(flops, params, time_limit=0.1)


def test_infeasible_rho_names_rho():
    with pytest.raises(ValueError, match="effectiveness rho <= 0.001"):
        optimize(4e9, 25e6, rho=0.001, time_limit=0.1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"family": "vgg"}, "unknown family 'vgg'"),
        ({"depth_penalty": "first2"}, "depth_penalty 'first2' is not allowed"),
        ({"resolution": 16}, "resolution must be >= 32"),
        ({"flops": -1.0}, "budgets must be > 0"),
    ],
)
def test_bad_options(kwargs, match):
    args = {"flops": 1e9, "params": 1e7, **kwargs}
    with pytest.raises(ValueError, match=match):
        optimize(**args)


def test_objective_rejects_negative_weights_and_rho():
    with pytest.raises(ValueError, match="rho0 must be > 0"):
        Objective(rho0=0)
    with pytest.raises(ValueError, match="must be >= 0"):
        Objective(beta=-1)


def test_bound_holds_against_exhaustive_enumeration():
    """On a template small enough to enumerate, the proved bound is >= the true optimum."""
    import dataclasses
    import itertools

    from archsearch.solvers.deepmad.program import branch_and_bound

    fam = dataclasses.replace(
        FAMILIES["resnet"],
        depth_bounds=((1, 1), (1, 2), (1, 2), (1, 1), (1, 3)),
        kernels=(5,),
        max_width=24,
        stem_bounds=(8, 16),
    )
    obj = Objective(rho0=0.3, resolution=32, num_classes=10)
    m = Model(fam, obj)
    widths = (8, 16, 24)
    rows, depths = [], []
    for stem in (8, 16):
        for ws in itertools.combinations_with_replacement(widths, 5):
            if ws[0] < stem:
                continue
            for bs in itertools.product(*[[b for b in widths if b <= w] for w in ws]):
                for L in itertools.product(*[range(a, b + 1) for a, b in fam.depth_bounds]):
                    rows.append([stem, *ws, *bs, 5, 5, 5, 5, 5])
                    depths.append(L)
    ev = m.evaluate(np.array(rows, dtype=float), np.array(depths, dtype=float))
    flops, params = 2e6, 60e3
    ok = (ev["flops"] <= flops) & (ev["params"] <= params) & (ev["rho"] <= 0.3)
    best = ev["objective"][ok].max()
    sol = branch_and_bound(fam, obj, flops, params, time_limit=0.5)
    assert sol.objective <= best + 1e-6
    assert sol.bound >= best
    assert sol.objective >= best - 0.01 * abs(best)


def test_max_nodes_makes_the_solve_repeatable():
    kw = dict(resolution=RES, num_classes=10, time_limit=60.0, max_nodes=12)
    a, b = optimize(5e6, 0.2e6, **kw), optimize(5e6, 0.2e6, **kw)
    assert a.structure == b.structure and a.bound == b.bound
    assert a.stats["nodes"] <= 12 + 2
