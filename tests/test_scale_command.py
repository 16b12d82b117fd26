"""``archsearch scale`` (through its own register()) and ``--strategy scaling``."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch
from archsearch.solvers.scaling import scale
from archsearch.solvers.scaling.cli import register
from archsearch.solvers.scaling.report import load_base
from archsearch.spaces.cnn import decode, encode
from archsearch.spaces.cnn.zoo import zoo

from archsearch import registry
from archsearch.arch import Architecture
from archsearch.params import Choice
from archsearch.registry import get_space, get_strategy
from archsearch.results import Record, Run
from archsearch.space import Space, Task
from archsearch.strategy import Exhausted, Result, Trial

torch.set_num_threads(1)  # tiny models; threads only contend on a shared CPU


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="archsearch")
    register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_scale_prints_structure_ratios_and_writes(tmp_path, capsys):
    out = tmp_path / "scaled.json"
    assert cli("scale", "--arch", "regnety-400mf", "--factor", "4", "--out", str(out)) == 0
    text = capsys.readouterr().out
    assert "d1_w8_g8_r1" in text and "resolution 240 (test 276)" in text
    assert "401,849,056" in text and "1,572,517,292" in text and "3.91x" in text
    assert "3,892,496" in text and "2.03x" in text  # activations grow ~s^0.6
    arch = Architecture.load(out)
    assert [st.w for st in decode(arch).stages] == [80, 192, 352, 768]
    assert get_space("cnn", free=True).validate(arch) == arch


def test_scale_compare_and_run_folder(tmp_path, capsys):
    base = encode(zoo("regnety-400mf"))
    run = Run.create(tmp_path, "r1", {"space": "cnn", "objectives": ["accuracy"]})
    run.append(Record(Trial(0, base), Result(metrics={"accuracy": 0.9}), 0.0, 1.0))
    run.write_summary()
    assert load_base(tmp_path / "r1") == base
    assert load_base(tmp_path / "r1" / "best.json") == base
    assert cli("scale", "--arch", str(tmp_path / "r1"), "--factor", "16", "--compare") == 0
    lines = capsys.readouterr().out.splitlines()
    by_name = {line.split()[0]: line for line in lines[2:]}
    assert list(by_name) == ["w", "dw", "dr", "dwr", "dWr"]
    assert "[144,312,624,1344]" in by_name["dWr"] and "(14.20x)" in by_name["dWr"]
    assert "[4,12,24,24]" in by_name["dr"] and "448" in by_name["dr"]


def test_scale_strategy_option_and_errors(tmp_path, capsys):
    assert cli("scale", "--arch", "efficientnet-b0", "--factor", "2", "--strategy", "dr") == 0
    assert "scaling dr (pycls type dr)" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="neither a file, a run folder"):
        cli("scale", "--arch", str(tmp_path / "nope.json"), "--factor", "2")
    bad = tmp_path / "nasnet.json"
    Architecture("nasnet", {"normal/b0/op_left": "identity"}).save(bad)
    with pytest.raises(ValueError, match="no scalable dimensions"):
        cli("scale", "--arch", str(bad), "--factor", "2")
    with pytest.raises(ValueError, match="--classes must be in"):
        cli("scale", "--arch", "efficientnet-b0", "--factor", "2", "--classes", "0")
    with pytest.raises(SystemExit):
        cli("scale", "--arch", "efficientnet-b0", "--factor", "-2")
    empty = Run.create(tmp_path, "empty", {"space": "cnn", "objectives": ["accuracy"]})
    empty.write_summary()
    with pytest.raises(ValueError, match="has no successful trial"):
        load_base(empty.path)


def test_scaling_strategy_asks_each_factor_once_and_builds(tmp_path):
    space = get_space("cnn", free=True)
    base = get_space("cnn").sample(np.random.default_rng(3))
    path = tmp_path / "base.json"
    base.save(path)
    strategy = get_strategy("scaling")(space, base=str(path), factors=[2, 4])
    trials = [strategy.ask(), strategy.ask()]
    with pytest.raises(Exhausted, match="all 2 scaled networks"):
        strategy.ask()
    assert [t.meta["factor"] for t in trials] == [2.0, 4.0]
    assert [t.arch for t in trials] == [scale(base, 2), scale(base, 4)]
    task = Task((1, 8, 8), 10)
    for t in trials:
        model = space.build(t.arch, task)
        assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
        strategy.tell(t, Result(metrics={"accuracy": 0.5}))
    assert strategy.n_told == 2


def test_scaling_strategy_errors():
    cls = get_strategy("scaling")
    with pytest.raises(ValueError, match="needs option base="):
        cls(get_space("cnn", free=True))
    with pytest.raises(ValueError, match="at least one factor"):
        cls(get_space("cnn", free=True), base="regnety-400mf", factors=[])
    with pytest.raises(ValueError, match="space-opt free=true"):
        cls(get_space("cnn"), base="regnety-400mf", factors=4)


def test_scaling_strategy_in_a_search(tmp_path):
    from archsearch import api

    base = tmp_path / "base.json"
    arch = get_space("cnn", widths=(8, 16), depths=(1, 1)).sample(np.random.default_rng(0))
    arch.save(base)
    run = api.search(
        "cnn",
        "scaling",
        budget=5,
        epochs=1,
        out=tmp_path,
        space_options={"free": True},
        strategy_options={"base": str(base), "factors": [2]},
        trainer_options={"threads": 1, "max_steps": 4},
        progress=False,
    )
    records = run.records()
    assert len(records) == 1 and records[0].result.status == "ok"
    assert json.loads((run.path / "best.json").read_text())["arch"] == scale(arch, 2).to_json()


class _CellSpace(Space):
    """A stand-in for a space stacked N @ F through its options (as nasnet is)."""

    name = "cells-test"

    def __init__(self, cells: int = 1, filters: int = 96) -> None:
        self.cells, self.filters = cells, filters

    def next_param(self, partial):
        return None if "op" in partial else Choice("op", ("a", "b"))

    def build(self, arch, task):
        raise NotImplementedError

    def complexity(self, arch, task):
        r = task.input_shape[1]
        return {"flops": float(self.cells * self.filters**2 * r**2)}


def test_scale_space_options_base(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(
        registry._entries["space"], "cells-test", registry.Entry("cells-test", _CellSpace, "")
    )
    path = tmp_path / "a.json"
    Architecture("cells-test", {"op": "a"}).save(path)
    out = tmp_path / "scaled.json"
    argv = ["scale", "--arch", str(path), "--factor", "4", "--space-opt", "cells=6"]
    assert cli(*argv, "--space-opt", "filters=96", "--out", str(out)) == 0
    text = capsys.readouterr().out
    # dWr at 4x: N 6 -> 7, F 96 -> 168 (multiple of 24), resolution 32 -> 36.
    assert "{'cells': 7, 'filters': 168, 'resolution': 36}" in text
    assert f"({7 * 168**2 * 36**2 / (6 * 96**2 * 32**2):.2f}x)" in text
    data = json.loads(out.read_text())
    assert data["space_options"] == {"cells": 7, "filters": 168} and data["resolution"] == 36
    assert Architecture.from_json(data) == Architecture("cells-test", {"op": "a"})
    assert cli(*argv, "--space-opt", "filters=96", "--compare") == 0
    assert len(capsys.readouterr().out.splitlines()) == 6
    with pytest.raises(ValueError, match="give its cells and filters with --space-opt"):
        cli(*argv)


def test_scale_nasnet_genotype(tmp_path, capsys):
    from archsearch.spaces import nasnet

    path = tmp_path / "nasnet-a.json"
    nasnet.genotype("nasnet-a").save(path)
    opts = ["--space-opt", "cells=2", "--space-opt", "filters=96", "--classes", "10"]
    assert cli("scale", "--arch", str(path), "--factor", "4", *opts) == 0
    text = capsys.readouterr().out
    assert "{'cells': 2, 'filters': 168, 'resolution': 36}" in text
    arch = nasnet.genotype("nasnet-a")
    base = get_space("nasnet", cells=2, filters=96).complexity(arch, Task((3, 32, 32), 10))
    big = get_space("nasnet", cells=2, filters=168).complexity(arch, Task((3, 36, 36), 10))
    assert f"flops {big['flops']:,.0f} ({big['flops'] / base['flops']:.2f}x)" in text


def _deeparchitect_file(folder):
    path = folder / "da.json"
    Architecture("deeparchitect", {"op": "conv3"}).save(path)
    return "da.json"


def _binary_file(folder):
    (folder / "bin.json").write_bytes(bytes(range(256)))
    return "bin.json"


# (argv, words the one error line must contain); {file} is made by the named helper
BAD_INPUTS = [
    (["--arch", "regnety-400mf", "--factor", "inf"], ["'inf'", "(0, 1000]"]),
    (["--arch", "regnety-400mf", "--factor", "1e300"], ["'1e300'", "(0, 1000]"]),
    (["--arch", "regnety-400mf", "--factor", "nan"], ["'nan'"]),
    (["--arch", "regnety-400mf", "--factor", "0"], ["'0'"]),
    (["--arch", "regnety-400mf", "--factor", "4", "--resolution", "-5"], ["'-5'", "[8, 4096]"]),
    (["--arch", "regnety-400mf", "--factor", "4", "--resolution", "300"], ["--resolution 300"]),
    (["--arch", "regnety-400mf", "--factor", "4", "--alpha", "1.5"], ["'1.5'", "[0, 1]"]),
    (["--arch", "regnety-400mf", "--factor", "4", "--strategy", "dxr"], ["'dxr'"]),
    (["--arch", "regnety-400mf", "--factor", "4", "--classes", "0"], ["--classes"]),
    (["--arch", "nope.json", "--factor", "4"], ["nope.json"]),
    (["--arch", _binary_file, "--factor", "4"], ["bin.json", "not a text file"]),
    (["--arch", _deeparchitect_file, "--factor", "4"], ["deeparchitect", "cannot be scaled"]),
]


@pytest.mark.parametrize("argv, words", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_inputs_one_line_exit_2_nothing_written(argv, words, tmp_path, monkeypatch, capsys):
    from archsearch.cli import main

    monkeypatch.chdir(tmp_path)
    argv = [a(tmp_path) if callable(a) else a for a in argv]
    before = set(tmp_path.iterdir())
    try:
        code = main(["scale", *argv, "--out", "scaled.json"])
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word in err
    assert set(tmp_path.iterdir()) == before
