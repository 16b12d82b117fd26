"""SimQ spaces: fake quantization, size formula, gene masking, weight sharing, predictors, LINAS."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from archsearch.spaces.simq.quant import (
    fake_quant_act,
    fake_quant_weight,
    model_size_bytes,
    quantize,
)
from archsearch.spaces.simq.supernet import SuperNet, leading_slice
from torch import nn

from archsearch.data import Data
from archsearch.registry import get_space
from archsearch.space import Task
from archsearch.strategies.linas import LINAS, fit_predictor
from archsearch.strategy import Result

TASK = Task((1, 8, 8), 10)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_fake_quant_error_shrinks_with_bits():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(16, 32, generator=g)
    x = torch.randn(256, generator=g) * 3 + 1
    w_err = [float((fake_quant_weight(w, b) - w).abs().mean()) for b in (2, 4, 8)]
    x_err = [
        float((fake_quant_act(x, float(x.min()), float(x.max()), b) - x).abs().mean())
        for b in (2, 4, 8)
    ]
    assert w_err[0] > w_err[1] > w_err[2] > 0
    assert x_err[0] > x_err[1] > x_err[2] > 0
    assert torch.equal(fake_quant_weight(w, 32), w)
    # per-channel symmetric: each row lies on its own grid of at most 2^(b-1) - 1 steps per sign
    q = fake_quant_weight(w, 4)
    steps = q / (w.abs().amax(1, keepdim=True) / 7)
    assert torch.allclose(steps, steps.round(), atol=1e-4) and steps.abs().max() <= 7 + 1e-4


def test_32_bit_layers_are_untouched():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    x = torch.randn(32, 8)
    ref = model(x).detach()
    w0, w2 = model[0].weight.detach().clone(), model[2].weight.detach().clone()
    same = quantize(
        nn.Sequential(*[m for m in model]).requires_grad_(False),
        {"0": 32, "2": 32},
        [x],
    )
    assert torch.equal(same(x), ref)
    quantize(model.requires_grad_(False), {"0": 32, "2": 8}, [x])
    assert torch.equal(model[0].weight, w0)
    assert not torch.equal(model[2].weight, w2)
    assert torch.equal(model[0](x), nn.functional.linear(x, w0, model[0].bias))
    assert not torch.equal(model(x), ref)


def test_size_formula():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 5))
    # conv: 8*3*3*3 = 216 weights + 8 bias; bn: 16; linear: 40 weights + 5 bias
    assert model_size_bytes(model, {}) == 4 * (216 + 8 + 16 + 40 + 5)
    assert model_size_bytes(model, {"0": 8, "3": 32}) == 216 + 4 * (8 + 16 + 40 + 5)
    assert model_size_bytes(model, {"0": 4, "3": 8}) == 216 / 2 + 40 + 4 * (8 + 16 + 5)


def test_quantize_errors():
    model = nn.Sequential(nn.Linear(4, 4))
    with pytest.raises(KeyError, match="'1' is not a quantizable layer"):
        quantize(model, {"1": 8}, [torch.randn(2, 4)])
    with pytest.raises(ValueError, match="bit width 3"):
        fake_quant_weight(torch.randn(4, 4), 33)
    with pytest.raises(ValueError, match="calibration yielded no batches"):
        quantize(model, {"0": 8}, [])


@pytest.mark.parametrize("name", ["simq-resnet", "simq-vit"])
def test_inactive_genes_are_masked(name):
    space = get_space(name)
    big, small = {}, {}
    while (p := space.next_param(big)) is not None:
        big[p.name] = max(p.options)
    while (p := space.next_param(small)) is not None:
        small[p.name] = min(p.options)
    arch_genes = [n for n in big if not n.startswith("bits/")]
    assert list(big)[: len(arch_genes)] == arch_genes  # architecture genes come first
    missing = set(big) - set(small)
    assert missing and not set(small) - set(big)
    assert any(n.startswith("bits/") for n in missing)
    X = space.encode([space.validate(big), space.validate(small)])
    assert X.shape[1] == sum(len(p.options) for p in space.all_genes())
    assert X[0].sum() == len(big) and X[1].sum() == len(small)
    # the one-hot blocks of genes the small network lacks are all zero
    offsets, _ = space._layout
    for n in missing:
        start, options = offsets[n]
        assert X[1, start : start + len(options)].sum() == 0
    assert set(space.policy(space.validate(small)).values()) == {min(space.bits)}


def test_bit_options():
    assert get_space("simq-resnet", bits=[4, 8, 32]).bits == (4, 8, 32)
    assert get_space("simq-vit", bits="4,8,32").bits == (4, 8, 32)
    with pytest.raises(ValueError, match=r"bits=\[3, 32\] is not allowed"):
        get_space("simq-resnet", bits=[3, 32])
    with pytest.raises(ValueError, match="optimizer 'lion' is not allowed"):
        get_space("simq-vit", optimizer="lion")
    with pytest.raises(ValueError, match="unknown simq option 'epochz'"):
        get_space("simq-resnet", epochz=3)
    with pytest.raises(ValueError, match="unknown simq option 'depth'; known: .*mlps"):
        get_space("simq-vit", depths=[1], depth=2)


@pytest.mark.parametrize("name", ["simq-resnet", "simq-vit"])
def test_subnetwork_weights_are_slices_of_the_supernetwork(name):
    space = get_space(name)
    torch.manual_seed(0)
    sup = SuperNet(space.max_dims(TASK))
    arch = space.sample(np.random.default_rng(1))
    dims = space.dims(arch, TASK)
    sub = sup.extract(dims)
    own = dict(sup.net.named_parameters())
    for n, p in sub.named_parameters():
        assert torch.equal(p, leading_slice(own[n], p.shape)), n
    assert sum(p.numel() for p in sub.parameters()) < sum(p.numel() for p in sup.parameters())
    x = torch.randn(4, *TASK.input_shape)
    sup.eval()
    assert torch.allclose(sup(x, dims), sub(x), atol=1e-6)
    # training a sub-network moves only the shared slices
    sup.train()
    sup(x, dims).sum().backward()
    grad = sup.net.head.weight.grad
    assert grad[:, : sub.head.in_features].abs().sum() > 0
    assert grad[:, sub.head.in_features :].abs().sum() == 0
    with pytest.raises(ValueError, match="not a leading slice"):
        leading_slice(torch.zeros(2, 2), (3, 2))


def test_predictors_beat_the_mean_on_held_out_subnetworks():
    space = get_space("simq-resnet")
    rng = np.random.default_rng(0)
    sup = SuperNet(space.max_dims(TASK))
    archs = [space.sample(rng) for _ in range(120)]
    y = np.array(
        [model_size_bytes(sup.skeleton(space.dims(a, TASK)), space.policy(a)) / 1e6 for a in archs]
    )
    X = space.encode(archs)
    pred = fit_predictor(X[:80], y[:80])
    assert pred.kind in ("ridge", "svr")
    err = np.abs(pred.predict(X[80:]) - y[80:]).mean()
    baseline = np.abs(y[:80].mean() - y[80:]).mean()
    assert err < 0.75 * baseline
    with pytest.raises(ValueError, match="predictor kind 'mlp'"):
        fit_predictor(X, y, kind="mlp")


def test_linas_refits_predictors_and_proposes_new_architectures():
    space = get_space("simq-vit")

    def evaluate(arch):
        policy = space.policy(arch)
        bits = np.mean(list(policy.values()))
        return Result(metrics={"accuracy": len(policy) / 20.0, "size_mb": bits * len(policy)})

    s = LINAS(space, objectives="accuracy,size_mb", seed=0, population=8, inner_evals=80)
    seen = []
    for _ in range(24):
        t = s.ask()
        assert t.arch.key not in seen
        seen.append(t.arch.key)
        s.tell(t, evaluate(t.arch))
    assert s.rounds == 3 and len(s.predictors) == 2
    assert s.front()[0]
    with pytest.raises(ValueError, match="predictor 'xgb' is not allowed"):
        LINAS(space, predictor="xgb")


@pytest.mark.parametrize("name", ["simq-resnet", "simq-vit"])
def test_estimate_equals_the_evaluator_for_random_subnetworks(name):
    opts = dict(latency="model", latency_batch=4, bn_batches=1, calib_batches=1)
    space = get_space(name, bits=[4, 8, 32], **opts)
    rng = np.random.default_rng(3)
    assert space.estimate(space.sample(rng)) == {}  # no evaluator bound yet: nothing known
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(48, 1, 8, 8, generator=g), torch.randint(0, 10, (48,), generator=g)
    data = Data.from_tensors(X[:32], y[:32], X[32:], y[32:], name="tiny", num_classes=10)
    ev = space.evaluator(data, epochs=0, seed=0)
    for _ in range(6):
        arch = space.sample(rng)
        est = space.estimate(arch)  # before the evaluation: table entries met here first
        r = ev.evaluate(arch)
        assert est["size_mb"] == r.metrics["size_mb"]
        assert est["latency_ms"] == r.metrics["latency_ms"]
        assert est["params"] == r.cost["params"] and est["flops"] == r.cost["flops"]


def test_linas_reads_exact_objectives_and_predicts_the_rest():
    from archsearch.spaces.simq.latency import LatencyTable

    space = get_space("simq-vit", latency_batch=2)
    space.bind(TASK, LatencyTable(batch=2, repeats=1))

    def evaluate(arch):
        return Result(metrics={"accuracy": len(space.policy(arch)) / 20.0, **space.estimate(arch)})

    for exact, predicted in ((True, [True, False]), (False, [True, True])):
        s = LINAS(space, "accuracy,size_mb", seed=0, population=6, inner_evals=36, exact=exact)
        for _ in range(12):
            t = s.ask()
            s.tell(t, evaluate(t.arch))
        s.ask()  # the third round refits on the 12 validated records
        assert [p is not None for p in s.predictors] == predicted
        assert s.exact_objectives() == ([1] if exact else [])
    with pytest.raises(ValueError, match="exact='no' is not allowed"):
        LINAS(space, exact="no")


def test_evaluator_end_to_end(tmp_path):
    space = get_space(
        "simq-resnet", latency_batch=4, bn_batches=1, calib_batches=1, latency_repeats=1
    )
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(96, 1, 8, 8, generator=g), torch.randint(0, 10, (96,), generator=g)
    data = Data.from_tensors(X[:64], y[:64], X[64:], y[64:], name="tiny", num_classes=10)
    ev = space.evaluator(data, epochs=1, seed=0, run_path=tmp_path)
    r = ev(space.sample(np.random.default_rng(0)))
    assert {"accuracy", "latency_ms", "size_mb", "latency_source"} <= set(r.metrics)
    assert r.metrics["latency_source"] == "measured"
    assert r.metrics["latency_ms"] > 0 and r.metrics["latency_ms_batch1"] > 0
    assert "latency_ms" not in space.estimate(space.sample(np.random.default_rng(1)))
    assert r.cost["params"] > 0 and r.cost["flops"] > 0
    summary = json.loads((tmp_path / "simq.json").read_text())
    assert summary["evaluations"] == 1
    base = summary["baseline_int8"]["metrics"]
    assert base["size_mb"] < summary["fp32_full"]["metrics"]["size_mb"] / 3.5
    assert summary["hypervolume_reference_baseline"]["accuracy"] == base["accuracy"] - 0.02
    assert (tmp_path / "supernet.pt").exists()
    again = space.evaluator(data, epochs=1, seed=0, run_path=tmp_path)
    for a, b in zip(ev.supernet.parameters(), again.supernet.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="holds a super-network of 'simq-resnet'"):
        get_space("simq-vit").evaluator(data, epochs=1, run_path=tmp_path)


def test_search_end_to_end_and_resume(tmp_path):
    from archsearch.api import search

    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(96, 1, 8, 8, generator=g), torch.randint(0, 10, (96,), generator=g)
    data = Data.from_tensors(X[:64], y[:64], X[64:], y[64:], name="tiny", num_classes=10)
    opts = {"latency": "model", "latency_batch": 4, "bn_batches": 1, "calib_batches": 1}
    kw = dict(
        dataset=data,
        epochs=1,
        objectives="accuracy,size_mb",
        space_options=opts,
        strategy_options={"population": 3, "inner_evals": 30},
        out=tmp_path,
        progress=False,
        report=False,
    )
    run = search("simq-vit", "linas", budget=4, **kw)
    assert (run.path / "pareto.json").exists() and (run.path / "supernet.pt").exists()
    stamp = (run.path / "supernet.pt").stat().st_mtime_ns
    before = json.loads((run.path / "simq.json").read_text())["baseline_int8"]
    run = search(resume=run.path, budget=7, dataset=data, progress=False, report=False)
    assert len(run.records()) == 7
    assert (run.path / "supernet.pt").stat().st_mtime_ns == stamp  # reused, not retrained
    summary = json.loads((run.path / "simq.json").read_text())
    assert summary["evaluations"] == 7
    assert summary["baseline_int8"] == before  # evaluated once, read back on resume
    assert summary["hypervolume"]["accuracy,size_mb"] > 0
    assert summary["baseline_int8"]["metrics"]["latency_source"] == "model"
