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
    assert _run(["design", "deepmad", *SMALL, "--nodes", "4", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for word in ("stem", "stage1", "stage5", "head", "FLOPs", "params", "rho", "objective"):
        assert word in text
    assert "proved bound" in text and "gap" in text
    assert "published bounds (the released code's search space)" in text
    assert "counting: FLOPs and params as the released DeepMAD code counts them" in text
    assert "stopped by node budget 4" in text
    arch = Architecture.load(out)
    spec = decode(get_space("cnn", free=True).validate(arch))
    assert len(spec.stages) == 5 and spec.resolution == 32


def test_design_infeasible_budget_is_one_clear_error():
    with pytest.raises(ValueError, match="infeasible: FLOPs budget"):
        _run(["design", "deepmad", "--flops", "1e3", "--params", "1e7"])


def test_relaxed_bounds_are_named_in_the_output(capsys):
    assert _run(["design", "deepmad", *SMALL, "--nodes", "3", "--bounds", "relaxed"]) == 0
    text = capsys.readouterr().out
    assert "relaxed bounds (wider than the released code's space)" in text
    assert "counting: FLOPs and params as the cnn space counts them" in text


def test_a_time_limit_is_named_in_the_output(capsys):
    argv = ["design", "deepmad", *SMALL, "--nodes", "100000", "--time-limit", "0.01"]
    assert _run(argv) == 0
    assert "stopped by time limit 0.01 CPU s" in capsys.readouterr().out


def test_two_runs_give_identical_json_and_report(tmp_path, capsys):
    outs, texts = [], []
    for i in range(2):
        out = tmp_path / f"net{i}.json"
        argv = ["design", "deepmad", "--flops", "1.82e9", "--params", "11.69e6", "--nodes", "20"]
        assert _run([*argv, "--depth-penalty", "last3", "--out", str(out)]) == 0
        outs.append(out.read_bytes())
        # every line but the timing (the last search line ends with the seconds)
        lines = capsys.readouterr().out.splitlines()
        texts.append(
            [line.split("; ")[0] if line.startswith("search:") else line for line in lines]
        )
    assert outs[0] == outs[1]
    assert texts[0][:-1] == texts[1][:-1] and len(texts[0]) == len(texts[1])


def test_huge_budgets_keep_the_columns_apart(capsys):
    argv = ["design", "deepmad", "--flops", "1e15", "--params", "1e15", "--nodes", "2"]
    assert _run([*argv, "--bounds", "relaxed"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    stages = [r for r in rows if r and r[0].startswith("stage") and r[0] != "stage"]
    assert len(stages) == 5 and all(len(r) == 9 for r in stages)


def _main(argv, tmp_path, monkeypatch, capsys):
    from archsearch.cli import main

    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    return code, capsys.readouterr().err


B = ["design", "deepmad", "--out", "net.json"]
BAD_INPUTS = [
    (["--flops", "inf", "--params", "1e7"], ["--flops", "'inf'", "(0, 1e+15]"]),
    (["--flops", "1e30", "--params", "1e7"], ["--flops", "'1e30'"]),
    (["--flops", "nan", "--params", "1e7"], ["'nan'"]),
    (["--flops", "-3", "--params", "1e7"], ["'-3'"]),
    (["--flops", "1e9", "--params", "0"], ["--params", "'0'"]),
    (["--flops", "1e9", "--params", "1e7", "--nodes", "0"], ["--nodes", "'0'"]),
    (["--flops", "1e9", "--params", "1e7", "--nodes", "2.5"], ["--nodes", "'2.5'"]),
    (["--flops", "1e9", "--params", "1e7", "--time-limit", "inf"], ["--time-limit"]),
    (["--flops", "1e9", "--params", "1e7", "--rho", "inf"], ["--rho", "'inf'"]),
    (["--flops", "1e9", "--params", "1e7", "--resolution", "8"], ["--resolution", "'8'"]),
    (["--flops", "1e9", "--params", "1e7", "--resolution", "1e9"], ["--resolution"]),
    (["--flops", "1e9", "--params", "1e7", "--classes", "0"], ["--classes", "'0'"]),
    (["--flops", "1e9", "--params", "1e7", "--bounds", "wide"], ["--bounds", "'wide'"]),
    (["--flops", "1e9", "--params", "1e7", "--family", "vgg"], ["--family", "'vgg'"]),
    (["--flops", "1e9", "--params", "1e7", "--head", "2048"], ["--head 2048", "mbconv"]),
    (
        ["--flops", "1e9", "--params", "1e7", "--family", "mbconv", "--head", "100"],
        ["--head 100", "multiple of 8"],
    ),
    (["--flops", "1e3", "--params", "1e7"], ["infeasible: FLOPs budget 1000"]),
    (["--flops", "4e9", "--params", "25e6", "--rho", "0.001"], ["rho <= 0.001"]),
]


@pytest.mark.parametrize("argv, words", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_inputs_one_line_exit_2_nothing_written(argv, words, tmp_path, monkeypatch, capsys):
    code, err = _main([*B, *argv], tmp_path, monkeypatch, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "Warning" not in err
    for word in words:
        assert word in err
    assert list(tmp_path.iterdir()) == []


def test_strategy_asks_one_network_per_budget_then_stops():
    space = get_space("cnn", free=True, resolution=32)
    cls = lookup("strategy", "deepmad")
    strategy = cls(space, flops=[3e6, 6e6], params=[0.1e6, 0.2e6], num_classes=10, max_nodes=4)
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
        max_nodes=4,
        bounds="relaxed",  # the cnn space's counting, checked below
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
            max_nodes=4,
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
        strategy_options={"flops": 3e6, "params": 0.1e6, "num_classes": 4, "max_nodes": 4},
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
