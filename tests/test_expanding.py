"""Tests of the self-expanding CNN: exact growth, the natural expansion score, the gate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from archsearch.spaces.expanding import ExpandingSpace, GrowingTrainer
from archsearch.spaces.expanding.checkpoint import (
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from archsearch.spaces.expanding.grow import candidates, gate, grow
from archsearch.spaces.expanding.moves import carry_optimizer, deepen, widen
from archsearch.spaces.expanding.net import ConvLayer, ExpandableCNN, param_count
from archsearch.spaces.expanding.score import collect, expansion_score
from archsearch.spaces.expanding.settings import GrowthSettings
from archsearch.spaces.expanding.spec import (
    BlockSpec,
    NetSpec,
    spec_activations,
    spec_flops,
    spec_params,
)

from archsearch.registry import get_space
from archsearch.space import Task

torch.set_num_threads(1)


def _data(n: int = 120, classes: int = 3, size: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(classes, 1, size, size, generator=g)
    y = torch.arange(n) % classes
    x = protos[y] + 0.7 * torch.randn(n, 1, size, size, generator=g)
    return x, y


def _trained_net(blocks: int = 3, width: int = 4, steps: int = 6) -> ExpandableCNN:
    """A seed net with a few SGD steps, so BN statistics and scales are not at their init."""
    g = torch.Generator().manual_seed(1)
    x, y = _data(size=8)
    net = ExpandableCNN(NetSpec.seed((1, 8, 8), 3, blocks, width), g)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


GROWTHS = {
    "widen-first": lambda m, g: widen(m, 0, 3, g),
    "widen-middle": lambda m, g: widen(m, 1, 2, g),
    "widen-last": lambda m, g: widen(m, 2, 4, g),
    "deepen-residual": lambda m, g: deepen(m, 1, "residual", g),
    "widen-after-residual": lambda m, g: widen(deepen(m, 0, "residual", g), 0, 2, g),
    "deepen-identity": lambda m, g: deepen(m, 2, "identity", g),
}


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("growth", list(GROWTHS))
def test_growth_preserves_function(growth: str, mode: str) -> None:
    if growth == "deepen-identity" and mode == "train":
        pytest.skip("a centre-tap layer's BN is the identity only under running statistics")
    net = _trained_net()
    grown = GROWTHS[growth](net, torch.Generator().manual_seed(5))
    x, _ = _data(size=8, seed=3)
    net.train(mode == "train")
    grown.train(mode == "train")
    with torch.no_grad():
        before, after = net(x), grown(x)
    assert param_count(grown) > param_count(net)
    assert param_count(grown) == spec_params(grown.spec)
    torch.testing.assert_close(after, before, rtol=0, atol=1e-5)


def test_growth_keeps_batchnorm_of_existing_channels() -> None:
    net = _trained_net()
    grown = widen(net, 0, 4, torch.Generator().manual_seed(0))
    old, new = net.blocks[0].layers[0].bn, grown.blocks[0].layers[0].bn
    for name in ("weight", "bias", "running_mean", "running_var"):
        torch.testing.assert_close(getattr(new, name)[:4], getattr(old, name))
    assert torch.all(new.weight[4:] == 1) and torch.all(new.running_var[4:] == 1)
    # The consumer's reads of the new channels into old outputs are zero.
    consumer = grown.blocks[1].layers[0].conv.weight
    assert torch.all(consumer[:, 4:] == 0)


def test_residual_layer_trains_after_insertion() -> None:
    net = deepen(_trained_net(), 0, "residual", torch.Generator().manual_seed(0))
    x, y = _data(size=8)
    torch.nn.functional.cross_entropy(net(x), y).backward()
    assert net.blocks[0].layers[1].conv.weight.grad.abs().sum() > 0


def test_optimizer_keeps_state_for_existing_parameters() -> None:
    net = _trained_net(steps=0)
    x, y = _data(size=8)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    old_buf = {n: opt.state[p]["momentum_buffer"].clone() for n, p in net.named_parameters()}
    grown = deepen(widen(net, 1, 2, torch.Generator().manual_seed(0)), 1)
    carry_optimizer(opt, net, grown)
    params = [p for group in opt.param_groups for p in group["params"]]
    assert {id(p) for p in params} == {id(p) for p in grown.parameters()}
    for name, p in grown.named_parameters():
        if name in old_buf:
            buf, old = opt.state[p]["momentum_buffer"], old_buf[name]
            assert buf.shape == p.shape
            torch.testing.assert_close(buf[tuple(slice(0, s) for s in old.shape)], old)
            assert buf.abs().sum() == old.abs().sum()
        else:
            assert p not in opt.state
    opt.zero_grad()
    torch.nn.functional.cross_entropy(grown(x), y).backward()
    opt.step()


def test_optimizer_carry_handles_adam_moments_and_step() -> None:
    net = _trained_net(steps=0)
    x, y = _data(size=8)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    old = {n: {k: v.clone() for k, v in opt.state[p].items()} for n, p in net.named_parameters()}
    grown = widen(net, 0, 2, torch.Generator().manual_seed(0))
    carry_optimizer(opt, net, grown)
    for name, p in grown.named_parameters():
        st = opt.state[p]
        assert float(st["step"]) == float(old[name]["step"]) == 2.0
        for key in ("exp_avg", "exp_avg_sq"):
            lead = tuple(slice(0, n) for n in old[name][key].shape)
            torch.testing.assert_close(st[key][lead], old[name][key])
            assert st[key].shape == p.shape
    opt.zero_grad()
    torch.nn.functional.cross_entropy(grown(x), y).backward()
    opt.step()


def test_score_equals_closed_form_least_squares() -> None:
    """For a linear least-squares model K-FAC is the exact Fisher: compare g^T (F+lam I)^-1 g."""
    g = torch.Generator().manual_seed(0)
    n, d, c, damping = 50, 4, 3, 1e-3
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, c, generator=g, dtype=torch.float64)
    lin = torch.nn.Linear(d, c).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(c, d, generator=g))
        lin.bias.copy_(torch.randn(c, generator=g))
    score = expansion_score(lin, x, y, likelihood="gaussian", damping=damping, batch_size=16)
    # By hand, in numpy: theta = vec of [W | b] row by row; J_n = d f(x_n) / d theta.
    xa = np.hstack([x.numpy(), np.ones((n, 1))])
    w = np.hstack([lin.weight.detach().numpy(), lin.bias.detach().numpy()[:, None]])
    resid = xa @ w.T - y.numpy()
    grad = (resid.T @ xa / n).reshape(-1)
    jac = [np.kron(np.eye(c), row[None, :]) for row in xa]
    fisher = sum(j.T @ j for j in jac) / n
    lam = damping * np.mean(np.diag(fisher))
    expected = grad @ np.linalg.solve(fisher + lam * np.eye(len(grad)), grad)
    assert score.eta == pytest.approx(expected, rel=1e-9)


def test_score_equals_closed_form_logistic_kronecker() -> None:
    """Softmax regression: eta under A (x) E[diag(p) - p p^T], built by hand in numpy."""
    g = torch.Generator().manual_seed(1)
    n, d, c, damping = 60, 5, 4, 1e-2
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    lin = torch.nn.Linear(d, c, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(c, d, generator=g))
    score = expansion_score(lin, x, y, damping=damping, batch_size=25)
    xs = x.numpy()
    p = torch.softmax(lin(x), 1).detach().numpy()
    grad = ((p - np.eye(c)[y.numpy()]).T @ xs / n).T.reshape(-1)
    a = xs.T @ xs / n
    h = np.mean([np.diag(q) - np.outer(q, q) for q in p], axis=0)
    fisher = np.kron(a, h)
    lam = damping * np.mean(np.diag(fisher))
    expected = grad @ np.linalg.solve(fisher + lam * np.eye(len(grad)), grad)
    assert score.eta == pytest.approx(expected, rel=1e-9)


def test_score_statistics_accumulate_over_batches() -> None:
    net = _trained_net()
    x, y = _data(size=8, seed=4)
    one, _ = collect(net, x, y, batch_size=len(x))
    many, _ = collect(net, x, y, batch_size=7)
    for name in one:
        torch.testing.assert_close(one[name].g, many[name].g)
        torch.testing.assert_close(one[name].grad, many[name].grad)
    # The gradient part is the true mean-loss gradient.
    net.eval()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    auto = dict(
        zip(
            [n for n, _ in net.named_parameters()],
            torch.autograd.grad(loss, list(net.parameters())),
        )
    )
    conv = one["blocks.1.layers.0.conv"].grad.float()
    torch.testing.assert_close(
        conv, auto["blocks.1.layers.0.conv.weight"].flatten(1), atol=1e-6, rtol=1e-4
    )
    head = one["head"].grad.float()
    torch.testing.assert_close(head[:, -1], auto["head.bias"], atol=1e-6, rtol=1e-4)
    bn = one["blocks.0.layers.0.bn"].grad.float()
    torch.testing.assert_close(bn[:4], auto["blocks.0.layers.0.bn.weight"], atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("fisher", ["exact", "sampled", "empirical"])
def test_function_preserving_growth_never_lowers_the_score(fisher: str) -> None:
    net = _trained_net()
    x, y = _data(size=8, seed=4)
    s = GrowthSettings(fisher=fisher, widen_by=2)
    current = expansion_score(net, x, y, fisher=fisher, generator=torch.Generator().manual_seed(0))
    assert current.eta > 0
    for growth in candidates(net, s):
        kind, b = growth
        grown = widen(net, b, 2) if kind == "widen" else deepen(net, b)
        cand = expansion_score(
            grown,
            x,
            y,
            fisher=fisher,
            ref_damping=current.damping,
            generator=torch.Generator().manual_seed(0),
        )
        assert cand.eta >= current.eta * (1 - 1e-9), growth


def _settings(**kw) -> GrowthSettings:
    return GrowthSettings(**{"score_size": 30, "widen_by": 2, "fisher": "sampled", **kw})


def test_gate_applies_thresholds() -> None:
    net = _trained_net()
    x, y = _data(size=8, seed=4)
    entry, grown = gate(
        net, x, y, _settings(tau=0.0, alpha=0.0, select="gain"), torch.Generator().manual_seed(0)
    )
    gains = [c["gain"] for c in entry["candidates"]]
    assert grown is not None and all(c["passed"] for c in entry["candidates"])
    chosen = next(c for c in entry["candidates"] if c["growth"] == entry["chosen"])
    assert chosen["gain"] == max(gains)
    entry, grown = gate(net, x, y, _settings(tau=0.0, alpha=0.0), torch.Generator().manual_seed(0))
    base = param_count(net)
    per_param = {c["growth"]: c["gain"] / (c["params"] - base) for c in entry["candidates"]}
    assert entry["chosen"] == max(per_param, key=per_param.get)
    assert param_count(grown) == next(
        c["params"] for c in entry["candidates"] if c["growth"] == entry["chosen"]
    )
    ratios = sorted(c["ratio"] for c in entry["candidates"])
    tau = (ratios[-1] + ratios[-2]) / 2
    entry, grown = gate(net, x, y, _settings(tau=tau, alpha=0.0), torch.Generator().manual_seed(0))
    assert [c["ratio"] > tau for c in entry["candidates"]] == [
        c["passed"] for c in entry["candidates"]
    ]
    assert sum(c["passed"] for c in entry["candidates"]) == 1
    assert grown is not None and entry["chosen"] is not None
    for kw in ({"tau": ratios[-1] * 1.01}, {"alpha": max(gains) * 1.01}):
        entry, grown = gate(net, x, y, _settings(**kw), torch.Generator().manual_seed(0))
        assert grown is None and entry["chosen"] is None


def test_gate_depth_cost_divides_depth_gains() -> None:
    net = _trained_net()
    x, y = _data(size=8, seed=4)
    e1, _ = gate(
        net, x, y, _settings(tau=0, alpha=0, fisher="exact", layer_cost=1.0), torch.Generator()
    )
    e4, _ = gate(
        net, x, y, _settings(tau=0, alpha=0, fisher="exact", layer_cost=4.0), torch.Generator()
    )
    growths = [c["growth"] for c in e1["candidates"]]
    assert growths == [c["growth"] for c in e4["candidates"]]
    kinds = {g.startswith("deepen") for g in growths}
    assert kinds == {True, False}  # both a depth gain and another gain are compared
    for c1, c4 in zip(e1["candidates"], e4["candidates"], strict=True):
        factor = 4.0 if c1["growth"].startswith("deepen") else 1.0
        assert c1["gain"] != 0  # else the scaling below is 0 == 0
        assert c1["gain"] == pytest.approx(factor * c4["gain"], rel=1e-6)


def test_caps_limit_candidates() -> None:
    net = _trained_net(blocks=2)
    assert candidates(net, _settings()) == [
        ("widen", 0),
        ("deepen", 0),
        ("widen", 1),
        ("deepen", 1),
    ]
    assert candidates(net, _settings(allowed="width", max_width=5)) == []
    assert candidates(net, _settings(allowed="depth", max_layers=1)) == []
    entry, grown = gate(
        net,
        *_data(size=8),
        _settings(tau=0, alpha=0, max_params=param_count(net)),
        torch.Generator(),
    )
    assert grown is None and all(c["reason"] == "max_params" for c in entry["candidates"])


@pytest.mark.parametrize(
    "cooldown,expected", [(1, [1, 2, 3, 4, 5, 6]), (2, [2, 4, 6]), (3, [3, 6])]
)
def test_cooldown_spaces_growths(cooldown: int, expected: list[int]) -> None:
    x, y = _data(n=90)
    net = ExpandableCNN(NetSpec.seed((1, 6, 6), 3, 2, 3), torch.Generator().manual_seed(0))
    s = _settings(tau=0.0, alpha=0.0, cooldown=cooldown, max_width=100, max_layers=10)
    run = grow(net, (x, y), _data(n=30, seed=9), s, epochs=7, batch_size=32)
    assert [g["epoch"] for g in run.growths] == expected
    assert [g["epoch"] for g in run.gates] == expected
    assert run.history[-1]["params"] == param_count(run.model) > param_count(net)


def test_growth_decisions_never_read_the_validation_split() -> None:
    x, y = _data(n=90)
    s = _settings(tau=0.05, alpha=0.0, cooldown=1)
    runs = []
    for valid_seed in (9, 10):
        vx, vy = _data(n=30, seed=valid_seed)
        net = ExpandableCNN(NetSpec.seed((1, 6, 6), 3, 2, 3), torch.Generator().manual_seed(0))
        shuffled = vy[torch.randperm(30, generator=torch.Generator().manual_seed(valid_seed))]
        runs.append(grow(net, (x, y), (vx, shuffled), s, epochs=4, batch_size=32))
    assert [g["eta"] for g in runs[0].gates] == [g["eta"] for g in runs[1].gates]
    assert [g["chosen"] for g in runs[0].gates] == [g["chosen"] for g in runs[1].gates]


def test_growing_run_writes_loadable_checkpoints(tmp_path) -> None:
    x, y = _data(n=90)
    valid = _data(n=30, seed=9)
    net = ExpandableCNN(NetSpec.seed((1, 6, 6), 3, 2, 3), torch.Generator().manual_seed(0))
    run = grow(
        net, (x, y), valid, _settings(tau=0.0, alpha=0.0), epochs=5, batch_size=32, out=tmp_path
    )
    assert len(run.checkpoints) == len(run.growths) + 1 == 3
    sizes = [c["params"] for c in run.checkpoints]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
    for c in run.checkpoints:
        model, meta = read_checkpoint(c["path"])
        assert param_count(model) == meta["params"] == c["params"]
        with torch.no_grad():
            acc = float((model(valid[0]).argmax(1) == valid[1]).float().mean())
        assert acc == pytest.approx(meta["val_accuracy"])
    final = load_checkpoint(run.checkpoints[-1]["path"])
    run.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(final(valid[0]), run.model(valid[0]), rtol=0, atol=1e-6)


def test_space_is_registered_and_searchable() -> None:
    space = get_space("expanding", max_params=20_000)
    assert isinstance(space, ExpandingSpace)
    arch = space.sample(np.random.default_rng(0))
    assert [p.name for p in space.params(arch)] == [
        "seed/blocks",
        "seed/width",
        "grow/tau",
        "grow/alpha",
        "grow/cooldown",
        "grow/allowed",
    ]
    task = Task((1, 8, 8), 10)
    net = space.build(arch, task)
    assert space.complexity(arch, task)["params"] == param_count(net)
    s = space.settings(arch)
    assert s.tau == arch["grow/tau"] and s.max_params == 20_000


def test_growing_trainer_is_an_evaluator(tmp_path) -> None:
    from types import SimpleNamespace

    x, y = _data(n=90)
    data = SimpleNamespace(task=Task((1, 6, 6), 3), train=(x, y), valid=_data(n=30, seed=9))
    space = ExpandingSpace(blocks=(2,), widths=(3,), score_size=30, fisher="sampled", widen_by=2)
    arch = space.validate(
        {
            "seed/blocks": 2,
            "seed/width": 3,
            "grow/tau": 0.01,
            "grow/alpha": 0.001,
            "grow/cooldown": 1,
            "grow/allowed": "width",
        }
    )
    reports = []
    trainer = GrowingTrainer(space, data, epochs=3, batch_size=32, device="cpu", out=tmp_path)
    result = trainer(arch, report=lambda e, m: reports.append(e))
    assert result.status == "ok" and reports == [1, 2, 3]
    assert 0 <= result.metrics["accuracy"] <= 1 and len(result.history) == 3
    assert result.cost["params"] == result.history[-1]["params"]
    assert (tmp_path / arch.key / "ckpt-00.pt").is_file()


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: widen(_trained_net(), 5, 2), "block 5 does not exist"),
        (lambda: widen(_trained_net(), 0, 0), "by must be >= 1"),
        (lambda: deepen(_trained_net(), 0, "zeros"), "unknown layer init 'zeros'"),
        (lambda: BlockSpec(4, ("res",)), "must start with a 'conv' layer"),
        (lambda: BlockSpec(4, ("conv", "dense")), "unknown layer kind 'dense'"),
        (lambda: BlockSpec(0), "width must be >= 1"),
        (lambda: NetSpec(1, 3, ()), "at least one block"),
        (lambda: ConvLayer(3, 4, residual=True), "needs c_in == c_out"),
        (lambda: GrowthSettings(allowed="all"), "unknown allowed growth 'all'"),
        (lambda: GrowthSettings(fisher="diag"), "unknown fisher 'diag'"),
        (lambda: GrowthSettings(select="best"), "unknown selection 'best'"),
        (lambda: GrowthSettings(layer_init="noise"), "unknown layer init 'noise'"),
        (lambda: GrowthSettings(tau=-1), "tau must be >= 0"),
        (lambda: GrowthSettings(cooldown=0), "cooldown must be >= 1"),
        (lambda: GrowthSettings(damping=0), "must be > 0"),
        (lambda: ExpandingSpace(bogus=1), "unknown option 'bogus'"),
        (
            lambda: expansion_score(_trained_net(), *_data(size=8), damping=0),
            "damping must be > 0",
        ),
        (lambda: expansion_score(_trained_net(), *_data(size=8), fisher="kfac"), "unknown fisher"),
        (
            lambda: expansion_score(_trained_net(), *_data(size=8), likelihood="poisson"),
            "unknown likelihood",
        ),
        (
            lambda: expansion_score(_trained_net(), *(t[:0] for t in _data(size=8))),
            "at least one held-out",
        ),
        (
            lambda: expansion_score(
                torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3, groups=2)),
                torch.zeros(1, 2, 3, 3),
                torch.zeros(1, dtype=torch.long),
            ),
            "grouped",
        ),
        (
            lambda: expansion_score(
                torch.nn.PReLU(), torch.zeros(1, 3), torch.zeros(1, dtype=torch.long)
            ),
            "parameter 'weight' is not in",
        ),
        (
            lambda: grow(_trained_net(), _data(n=20, size=8), _data(size=8), _settings()),
            "leaves no training data",
        ),
        (
            lambda: grow(_trained_net(), _data(size=8), _data(size=8), _settings(), epochs=0),
            "epochs must be >= 1",
        ),
    ],
)
def test_bad_input_raises(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_checkpoints_raise(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an expanding-network checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    path = save_checkpoint(tmp_path / "ok.pt", _trained_net(), note="x")
    assert read_checkpoint(path)[1] == {"note": "x"}
    with torch.no_grad():
        assert math.isfinite(float(load_checkpoint(path)(torch.zeros(1, 1, 8, 8)).sum()))


@pytest.mark.parametrize("shape,grow_ops", [((1, 8, 8), "wdi"), ((3, 32, 32), "")])
def test_analytic_complexity_matches_fvcore(shape, grow_ops: str) -> None:
    from archsearch.complexity import count

    g = torch.Generator().manual_seed(0)
    net = ExpandableCNN(NetSpec.seed(shape, 10, 4 if shape[1] > 8 else 3, 5), g)
    for op in grow_ops:
        net = {
            "w": lambda m: widen(m, 1, 3, g),
            "d": lambda m: deepen(m, 0),
            "i": lambda m: deepen(m, 2, "identity"),
        }[op](net)
    counted = count(net, shape)
    assert counted["params"] == spec_params(net.spec)
    assert counted["flops"] == spec_flops(net.spec, shape)
    assert counted["activations"] == spec_activations(net.spec, shape)


def test_expand_command_prints_trajectory_and_writes_run(tmp_path, capsys) -> None:
    import argparse
    import json

    from archsearch.spaces.expanding.cli import register

    from archsearch.results import Run

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "expand",
            "--dataset",
            "synthetic",
            "--epochs",
            "3",
            "--cooldown",
            "1",
            "--tau",
            "0",
            "--alpha",
            "0",
            "--width",
            "4",
            "--blocks",
            "2",
            "--fisher",
            "sampled",
            "--score-size",
            "64",
            "--out",
            str(tmp_path),
            "--run-id",
            "r",
            "--device",
            "cpu",
        ]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "epoch   params  val_acc" in out
    assert "widen:" in out or "deepen:" in out
    run = Run.open(tmp_path / "r")
    (record,) = run.records()
    assert record.result.status == "ok" and record.result.metrics["growths"] == 2
    growth = json.loads((tmp_path / "r" / "growth.json").read_text())
    assert [g["epoch"] for g in growth["gates"]] == [1, 2]
    assert len(growth["checkpoints"]) == 3
    for c in growth["checkpoints"]:
        assert c["path"] in out and param_count(load_checkpoint(c["path"])) == c["params"]


def test_expand_command_rejects_bad_settings(tmp_path) -> None:
    import argparse

    from archsearch.spaces.expanding.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    for bad in (["--tau", "-1"], ["--epochs", "0"], ["--max-params", "-5"], ["--lr", "nan"]):
        with pytest.raises(SystemExit):  # refused while argv is parsed (one line, exit 2)
            parser.parse_args(["expand", *bad, "--out", str(tmp_path)])
    args = parser.parse_args(["expand", "--device", "foo", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="--device 'foo' is not a device; use auto, cpu"):
        args.func(args)
    if not torch.cuda.is_available():
        args = parser.parse_args(["expand", "--device", "cuda", "--out", str(tmp_path)])
        with pytest.raises(ValueError, match="--device 'cuda': this machine has no CUDA GPU"):
            args.func(args)
    assert not any(tmp_path.iterdir())


def test_search_api_runs_the_growing_trainer(tmp_path) -> None:
    from archsearch.api import search
    from archsearch.data import Data

    x, y = _data(n=90)
    vx, vy = _data(n=30, seed=9)
    data = Data.from_tensors(x, y, vx, vy)
    space = ExpandingSpace(blocks=(2,), widths=(3, 4), score_size=30, fisher="sampled")
    run = search(
        space,
        "random",
        dataset=data,
        budget=2,
        epochs=2,
        out=tmp_path,
        run_id="s",
        progress=False,
        report=False,
        trainer_options={"batch_size": 32, "device": "cpu"},
    )
    records = run.records()
    assert [r.result.status for r in records] == ["ok", "ok"], records[0].result.error
    assert all(len(r.result.history) == 2 for r in records)
    key = records[0].trial.arch.key
    assert (tmp_path / "s" / "checkpoints" / key / "ckpt-00.pt").is_file()
    with pytest.raises(ValueError, match="unknown trainer option 'momentum'"):
        space.evaluator(data, trainer_options={"momentum": 0.5})
