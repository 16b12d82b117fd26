"""``archsearch design deepmad`` (through a bare argparse parser) and ``--strategy deepmad``."""

from __future__ import annotations

import argparse

import pytest
from archsearch.solvers.deepmad.cli import register
from archsearch.spaces.cnn import complexity, decode

from archsearch.arch import Architecture
from archsearch.registry import get_space, lookup
from archsearch.strategy import Exhausted, Result

SMALL = ["--flops", "5e6", "--params", "0.2e6", "--resolution", "32", "--classes", "10"]


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="archsearch")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_design_prints_stages_and_writes_architecture(tmp_path, capsys):
    out = tmp_path / "net.json"
    assert _run(["design", "deepmad", *SMALL, "--time-limit", "0.1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for word in ("stem", "stage1", "stage5", "head", "FLOPs", "params", "rho", "objective"):
        assert word in text
    assert "proved bound" in text and "gap" in text
    arch = Architecture.load(out)
    spec = decode(get_space("cnn", free=True).validate(arch))
    assert len(spec.stages) == 5 and spec.resolution == 32


def test_design_infeasible_budget_is_one_clear_error():
    with pytest.raises(ValueError, match="infeasible: FLOPs budget"):
        _run(["design", "deepmad", "--flops", "1e3", "--params", "1e7"])


def test_design_rejects_small_resolution():
    with pytest.raises(ValueError, match="--resolution must be >= 32"):
        _run(["design", "deepmad", "--flops", "1e9", "--params", "1e7", "--resolution", "8"])


def test_design_argument_errors(capsys):
    with pytest.raises(SystemExit):
        _run(["design", "deepmad", "--flops", "-3", "--params", "1e7"])
    assert "expected a positive number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _run(["design", "deepmad", "--flops", "1e9", "--params", "1e7", "--family", "vgg"])


def test_strategy_asks_one_network_per_budget_then_stops():
    space = get_space("cnn", free=True, resolution=32)
    cls = lookup("strategy", "deepmad")
    strategy = cls(space, flops=[3e6, 6e6], params=[0.1e6, 0.2e6], num_classes=10, time_limit=0.1)
    t1, t2 = strategy.ask(), strategy.ask()
    assert t1.arch.space == "cnn" and t1.arch != t2.arch
    assert t1.meta["flops_budget"] == 3e6 and t2.meta["params_budget"] == 0.2e6
    assert decode(t1.arch).resolution == 32
    strategy.tell(t1, Result(metrics={"accuracy": 0.5}))
    with pytest.raises(Exhausted):
        strategy.ask()


def test_strategy_scales_budgets_to_the_design_resolution():
    space = get_space("cnn", free=True, resolution=32)
    cls = lookup("strategy", "deepmad")
    strategy = cls(
        space,
        flops=49 * 3e6,
        params=0.1e6,
        budget_resolution=224,
        num_classes=10,
        time_limit=0.1,
    )
    trial = strategy.ask()
    assert trial.meta["flops_budget"] == pytest.approx(3e6)
    assert complexity(decode(trial.arch), num_classes=10, count_bias=False)["flops"] <= 3e6


@pytest.mark.parametrize(
    "options, match",
    [
        ({"params": [1e6]}, "needs option flops"),
        ({"flops": [1e6, 2e6], "params": [1e6]}, "2 flops budgets but 1 params budgets"),
        ({"flops": [-1.0], "params": [1e6]}, "must hold positive numbers"),
        ({"flops": 1e9, "params": 1e7, "budget_resolution": 0}, "budget_resolution must be"),
    ],
)
def test_strategy_option_errors(options, match):
    with pytest.raises(ValueError, match=match):
        lookup("strategy", "deepmad")(get_space("cnn", free=True), **options)


def test_strategy_needs_the_free_cnn_space():
    with pytest.raises(ValueError, match="free=true"):
        lookup("strategy", "deepmad")(
            get_space("cnn", resolution=32),
            flops=3e6,
            params=0.1e6,
            num_classes=10,
            time_limit=0.1,
        )


@pytest.mark.slow
def test_search_trains_the_solved_network(tmp_path):
    from archsearch.api import search
    from archsearch.data import load_data

    data = load_data("synthetic", shape=(3, 32, 32), classes=4, size=16)
    run = search(
        get_space("cnn", free=True, resolution=32),
        "deepmad",
        dataset=data,
        budget=3,
        epochs=1,
        strategy_options={"flops": 3e6, "params": 0.1e6, "num_classes": 4, "time_limit": 0.1},
        out=tmp_path,
        progress=False,
    )
    records = run.records()
    assert len(records) == 1 and records[0].result.status == "ok"
    assert records[0].trial.meta["flops_budget"] == 3e6
    assert 0 < records[0].result.cost["flops"] <= 3e6


def test_strategy_rejects_an_unknown_option():
    from archsearch.registry import get_space, get_strategy

    with pytest.raises(
        ValueError, match="strategy 'deepmad' has no option 'flop_budget'; options: "
    ):
        get_strategy("deepmad")(get_space("cnn", free=True), flops=1e8, params=1e6, flop_budget=3)
