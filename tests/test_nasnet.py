"""Tests of the NASNet space: decisions, genotype, published counts, build, drawing, build command."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch
from archsearch.spaces.nasnet import (
    OPS,
    PUBLISHED,
    NASNetConfig,
    NASNetSpace,
    cell_blocks,
    draw_cell,
    genotype,
    nasnet,
)
from archsearch.spaces.nasnet import cli as build_cmd
from archsearch.spaces.nasnet.plan import concat_states

from archsearch.arch import Architecture, InvalidArchitecture
from archsearch.registry import get_space
from archsearch.space import Task

DIGITS = Task((1, 8, 8), 10)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny models: extra threads only contend on a shared CPU.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_fifty_decisions_in_order_with_paper_domains():
    space = nasnet()
    arch = space.sample(np.random.default_rng(0))
    names = list(arch.decisions)
    assert len(names) == 50
    assert names[:5] == [
        f"normal/b0/{f}" for f in ("input_left", "input_right", "op_left", "op_right", "combine")
    ]
    assert names[25] == "reduce/b0/input_left" and names[-1] == "reduce/b4/combine"
    params = space.params(arch)
    assert len(OPS) == 13 and params[2].options == OPS
    assert params[4].options == ("add", "concat")
    assert params[0].options == ("h0", "h1")
    assert params[20].options == ("h0", "h1", "b0", "b1", "b2", "b3")  # normal/b4/input_left
    # O(1): the next decision depends only on how many are made.
    assert space.next_param(dict.fromkeys(range(38))).name == "reduce/b2/op_right"
    assert space.next_param(arch.decisions) is None


def test_registered_with_options():
    space = get_space("nasnet", cells=2, filters=48, layout="cifar")
    assert isinstance(space, NASNetSpace) and space.config.cells == 2
    assert space.config.filters == 48


def test_nasnet_a_cells_and_concatenation_rules():
    a = genotype("nasnet-a")
    normal, reduce = cell_blocks(a, "normal"), cell_blocks(a, "reduce")
    assert normal[0].op_left == "sep_conv_5x5" and normal[4].op_right == "identity"
    assert (reduce[3].left, reduce[3].right) == ("b1", "b0")
    assert all(b.combine == "add" for b in normal + reduce)
    # released: normal keeps h1 and all blocks (6F), reduction b1..b4 (4F);
    # unused (paper text, DARTS): normal b0..b4 (5F), reduction b2..b4 (3F).
    assert concat_states(normal, "released") == (1, 2, 3, 4, 5, 6)
    assert concat_states(reduce, "released") == (3, 4, 5, 6)
    assert concat_states(normal, "unused") == (2, 3, 4, 5, 6)
    assert concat_states(reduce, "unused") == (4, 5, 6)
    plan = nasnet(cells=6, filters=768).plan(a, Task((3, 32, 32), 10))
    assert plan.cells[-1].out()[0] == 768


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            r,
            marks=pytest.mark.xfail(
                strict=True,
                reason="7 @ 2304 builds to 32.6M, not 27.6M; 6 @ 2304 gives 28.2M (docs/nasnet.md)",
            ),
        )
        if r.name == "cifar10 7@2304"
        else r
        for r in PUBLISHED
    ],
    ids=lambda r: r.name,
)
def test_published_counts_within_3_percent(row):
    space = NASNetSpace(row.config)
    a, task = genotype("nasnet-a"), Task((3, row.resolution, row.resolution), row.classes)
    cx = space.complexity(a, task)
    with torch.device("meta"):
        built = _count(space.build(a, task))
    assert built == cx["params"]
    assert abs(cx["params"] / row.params - 1) < 0.03
    if row.mult_adds is not None:
        assert abs(cx["flops"] / row.mult_adds - 1) < 0.03


def test_large_equals_timm_nasnetalarge_exactly():
    # timm 1.0.31 nasnetalarge: 88,753,150 trainable params, 23,783,414,658 conv+FC MACs at 331.
    row = PUBLISHED[3]
    cx = NASNetSpace(row.config).complexity(genotype("nasnet-a"), Task((3, 331, 331), 1000))
    assert (cx["params"], cx["flops"]) == (88_753_150, 23_783_414_658)


@pytest.mark.parametrize(
    "config,shape,seed",
    [
        (NASNetConfig(1, 48, concat="released", drop_path=0.3), (1, 8, 8), 0),
        (NASNetConfig(1, 48, concat="unused", aux_head=True), (1, 9, 9), 1),
        (NASNetConfig(1, 192, "imagenet", aux_head=True), (3, 16, 16), 2),
        (NASNetConfig(2, 48, concat="unused"), (3, 8, 8), 3),
    ],
)
def test_random_architectures_build_run_and_count(config, shape, seed):
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

    space = NASNetSpace(config)
    task = Task(shape, 10)
    arch = space.sample(np.random.default_rng(seed))
    torch.manual_seed(seed)
    model = space.build(arch, task)
    assert _count(model) == space.complexity(arch, task)["params"]
    x = torch.randn(3, *shape)
    model.train()
    model.set_progress(1.0)
    y = model(x)
    loss = y.square().mean()
    if config.aux_head:
        assert model.aux_logits.shape == (3, 10)
        loss = loss + model.aux_weight * model.aux_logits.square().mean()
    loss.backward()
    assert y.shape == (3, 10) and all(p.grad is not None for p in model.parameters())
    model.eval()
    cx = space.complexity(arch, task)
    flops = (
        FlopCountAnalysis(model, x[:1])
        .unsupported_ops_warnings(False)
        .uncalled_modules_warnings(False)
    )
    ops = flops.by_operator()
    assert ops.get("conv", 0) + ops.get("linear", 0) == cx["flops"]
    acts = (
        ActivationCountAnalysis(model, x[:1])
        .unsupported_ops_warnings(False)
        .uncalled_modules_warnings(False)
    )
    assert acts.total() == cx["activations"]


def test_many_random_architectures_params_match():
    space = NASNetSpace(NASNetConfig(1, 48))
    rng = np.random.default_rng(7)
    for _ in range(25):
        arch = space.sample(rng)
        with torch.device("meta"):
            model = space.build(arch, DIGITS)
        assert _count(model) == space.complexity(arch, DIGITS)["params"]


def test_scheduled_drop_path_grows_with_progress_and_depth():
    space = NASNetSpace(NASNetConfig(1, 48, drop_path=0.4))
    model = space.build(genotype("nasnet-a"), DIGITS)
    n = len(model.cells)
    assert all(c.drop_prob == 0.0 for c in model.cells)
    model.set_progress(0.5)
    probs = [c.drop_prob for c in model.cells]
    assert probs == pytest.approx([0.4 * (i + 1) / n * 0.5 for i in range(n)])
    model.set_progress(2.0)
    assert model.cells[-1].drop_prob == pytest.approx(0.4)
    x = torch.randn(16, 1, 8, 8)
    model.eval()
    assert torch.equal(model(x), model(x))  # no drop at evaluation
    model.train()
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(1)
    assert not torch.allclose(a, model(x))


def test_transfer_builds_a_searched_cell_at_another_size():
    arch = nasnet().sample(np.random.default_rng(3))
    big = nasnet(cells=2, filters=240)
    cx = big.complexity(arch, Task((3, 32, 32), 10))
    with torch.device("meta"):
        assert _count(big.build(arch, Task((3, 32, 32), 10))) == cx["params"]


def test_draw_cell_writes_png_and_svg(tmp_path):
    a = genotype("nasnet-a")
    paths = draw_cell(a, "reduce", tmp_path / "cell.png")
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[1].read_text().lstrip().startswith("<?xml")


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="archsearch")
    build_cmd.register(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_build_command_prints_counts_and_saves(tmp_path, capsys):
    out = tmp_path / "m.pt"
    assert _cli("build", "nasnet", "--arch", "nasnet-a", "--cells", "6", "--filters", "768") == 0
    assert "3,346,538" in capsys.readouterr().out
    run = tmp_path / "run"
    run.mkdir()
    arch = nasnet().sample(np.random.default_rng(0))
    (run / "best.json").write_text(json.dumps({"number": 0, "arch": arch.to_json()}))
    assert _cli("build", "nasnet", "--arch", str(run), "--filters", "48", "--save", str(out)) == 0
    blob = torch.load(out, weights_only=False)
    assert Architecture.from_json(blob["arch"]) == arch
    model = nasnet(filters=48).build(arch, Task((3, 32, 32), 10))
    model.load_state_dict(blob["state_dict"])


@pytest.mark.parametrize(
    "argv,error,match",
    [
        (("--arch", "nasnet-z"), FileNotFoundError, "unknown NASNet genotype 'nasnet-z'"),
        (("--arch", "nasnet-a", "--space-opt", "oops"), SystemExit, "2"),  # refused by argparse
        (("--arch", "nasnet-a", "--space-opt", "bogus=1"), ValueError, "does not take"),
        (("--arch", "nasnet-a", "--classes", "0"), SystemExit, "2"),
    ],
)
def test_build_command_errors(argv, error, match):
    with pytest.raises(error, match=match):
        _cli("build", "nasnet", *argv)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"filters": 100}, "multiple of 24"),
        ({"filters": 96, "layout": "imagenet"}, r">= 192 for layout 'imagenet'"),
        ({"layout": "mnist"}, "unknown layout 'mnist'"),
        ({"concat": "all"}, "unknown concat rule 'all'"),
        ({"cells": 0}, "cells"),
        ({"drop_path": 1.0}, "drop_path must be in"),
        ({"stem_multiplier": 0}, "stem_multiplier must be > 0"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nasnet(**kwargs)


def test_other_errors():
    a = genotype("nasnet-a")
    with pytest.raises(KeyError, match="unknown NASNet genotype 'nasnet-b'"):
        genotype("nasnet-b")
    with pytest.raises(ValueError, match="unknown cell 'middle'"):
        cell_blocks(a, "middle")
    with pytest.raises(InvalidArchitecture, match="normal/b0/input_left"):
        nasnet().validate(a.replace(**{"normal/b0/input_left": "b3"}))
    with pytest.raises(ValueError, match="at least 3x3"):
        nasnet(filters=192, layout="imagenet").build(a, Task((1, 2, 2), 10))
    with pytest.raises(ValueError, match="image inputs"):
        nasnet().build(a, Task((64,), 10))
    with pytest.raises(ValueError, match="unknown concat rule 'x'"):
        draw_cell(a, "normal", "unused.png", concat="x")


@pytest.mark.slow
def test_mobile_counts_against_fvcore_on_a_real_model():
    from fvcore.nn import FlopCountAnalysis

    row = PUBLISHED[2]
    space, task = NASNetSpace(row.config), Task((3, 224, 224), 1000)
    model = space.build(genotype("nasnet-a"), task).eval()
    flops = (
        FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224))
        .unsupported_ops_warnings(False)
        .uncalled_modules_warnings(False)
    )
    ops = flops.by_operator()
    assert ops["conv"] + ops["linear"] == space.complexity(genotype("nasnet-a"), task)["flops"]


def test_space_draw_hook_writes_both_cells(tmp_path):
    paths = nasnet().draw(genotype("nasnet-a"), tmp_path)
    assert sorted(p.name for p in paths) == [
        "normal_cell.png",
        "normal_cell.svg",
        "reduce_cell.png",
        "reduce_cell.svg",
    ]


@pytest.mark.parametrize("seed", [0, 1])
def test_flops_follow_the_project_convention(seed):
    from archsearch import complexity

    space = NASNetSpace(NASNetConfig(1, 48, aux_head=bool(seed)))
    arch = space.sample(np.random.default_rng(seed))
    if seed:  # avg pools and add/concat combiners everywhere
        arch = arch.replace(
            **{"normal/b0/op_left": "avg_pool_3x3", "reduce/b1/op_right": "avg_pool_3x3"}
        )
    counted = complexity.count(space.build(arch, DIGITS), DIGITS.input_shape)
    cx = space.complexity(arch, DIGITS)
    assert {k: cx[k] for k in counted} == counted


def test_trainer_schedules_drop_path_and_trains_the_aux_head():
    from archsearch.evaluate import trainer as trainer_mod

    space = NASNetSpace(NASNetConfig(1, 48, aux_head=True, drop_path=0.3))
    trainer = trainer_mod.Trainer(space, "digits", epochs=1, max_steps=3, threads=1)
    model, result = trainer.fit(genotype("nasnet-a"))
    assert result.status == "ok", result.error
    # The last step ran at progress 2/3: the deepest cell drops with 0.3 * 2/3.
    assert model.cells[-1].drop_prob == pytest.approx(0.2)
    aux_grad = model.aux.body[-1].weight.grad
    assert aux_grad is not None and aux_grad.abs().sum() > 0
