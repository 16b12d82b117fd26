"""The example spaces of spaces/deeparchitect.py: every sample builds, trains a step, replays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archsearch.arch import Architecture
from archsearch.registry import entries, get_space
from archsearch.space import Task

SPACES = ("deeparchitect", "deepconv", "da-resnet")
TASKS = (Task((1, 8, 8), 10), Task((3, 32, 32), 10))


@pytest.fixture(autouse=True)
def one_thread():
    """One thread: the tests share 2 cores with other work."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_spaces_are_registered_with_descriptions():
    known = entries("space")
    for name in SPACES:
        assert name in known and known[name].description


@pytest.mark.parametrize("name", SPACES)
def test_samples_build_and_train_on_small_and_cifar_inputs(name):
    torch.manual_seed(0)
    space = get_space(name)
    rng = np.random.default_rng(0)
    for _ in range(6):
        arch = space.sample(rng)
        for task in TASKS:
            model = space.build(arch, task)
            x = torch.randn(2, *task.input_shape)
            out = model(x)
            assert out.shape == (2, task.num_classes)
            torch.nn.functional.cross_entropy(out, torch.tensor([0, 1])).backward()
            grads = [p.grad for p in model.parameters() if p.requires_grad]
            assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", SPACES)
def test_replay_from_json_gives_the_same_model(name):
    space = get_space(name)
    rng = np.random.default_rng(1)
    task = TASKS[0]
    for _ in range(4):
        arch = space.sample(rng)
        again = Architecture.from_json(arch.to_json())
        assert again.key == arch.key
        torch.manual_seed(0)
        a = space.build(arch, task)
        torch.manual_seed(1)  # another initialization: only the loaded weights make them agree
        b = space.build(again, task)
        b.load_state_dict(a.state_dict())  # strict: the same modules with the same shapes
        x = torch.randn(2, *task.input_shape)
        a.eval(), b.eval()
        with torch.no_grad():
            torch.testing.assert_close(b(x), a(x))
        assert space.validate(again.decisions) == arch


def test_deeparchitect_width_is_shared_by_every_conv_cell():
    space = get_space("deeparchitect", max_cells=3)
    rng = np.random.default_rng(2)
    for _ in range(10):
        arch = space.sample(rng)
        width = arch.decisions["width"]
        model = space.build(arch, TASKS[0])
        convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.groups == 1]
        assert convs and all(c.out_channels == width for c in convs)
        assert sum(k == "width" for k in arch.decisions) == 1


def test_deeparchitect_cells_follow_the_repeat_count_and_or_choice():
    space = get_space("deeparchitect", max_cells=4, stages=1)
    decided = space.complete(
        {"width": 16, "stage0/cells": 4},
        lambda p, _: "conv" if p.name.endswith("/op") else p.options[0],
    )
    ops = [k for k in decided.decisions if k.endswith("/op")]
    assert ops == [f"stage0/cells/{i}/op" for i in range(4)]
    convs = [m for m in space.build(decided, TASKS[0]).modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 + 4  # stem + one per cell


def test_deepconv_ties_repeats_and_doubles_the_second_width():
    space = get_space("deepconv")
    arch = space.complete(
        {"filters": 32, "block1/repeat": 4},
        lambda p, _: p.options[-1] if p.name.endswith("repeat") else p.options[0],
    )
    assert not any(k.startswith("block1/repeat/1") for k in arch.decisions)
    model = space.build(arch, TASKS[1])
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    widths = [c.out_channels for c in convs]
    # stem1 + 4 tied copies at f, then stem2 + 4 copies at 2f.
    assert widths == [32] * 5 + [64] * 5
    kernels = {c.kernel_size for c in convs[1:5]}
    assert len(kernels) == 1


def test_da_resnet_doubles_width_per_stage():
    space = get_space("da-resnet", stages=3, max_blocks=1)
    arch = space.complete({"width": 16}, lambda p, _: p.options[0])
    model = space.build(arch, TASKS[1])
    widths = sorted({m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)})
    assert widths == [16, 32, 64]
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


@pytest.mark.parametrize(
    "name, options, match",
    [
        ("deeparchitect", {"max_cells": 0}, "max_cells must be an integer in"),
        ("deeparchitect", {"stages": 9}, "stages must be an integer in"),
        ("deeparchitect", {"widths": []}, "widths must be a non-empty list"),
        ("deepconv", {"repeats": [0, 1]}, "repeats must be a non-empty list"),
        ("da-resnet", {"widths": "wide"}, "widths must be a non-empty list"),
    ],
)
def test_bad_space_options_are_rejected(name, options, match):
    with pytest.raises(ValueError, match=match):
        get_space(name, **options)


@pytest.mark.parametrize(
    "name, options",
    [
        ("deeparchitect", {"stages": 5, "max_cells": 2, "widths": [8]}),
        ("deepconv", {"filters": [8], "repeats": [8]}),
        ("da-resnet", {"stages": 5, "max_blocks": 1, "widths": [4]}),
    ],
)
def test_spaces_at_their_option_limits_still_fit_8x8_inputs(name, options):
    space = get_space(name, **options)
    rng = np.random.default_rng(3)
    for _ in range(3):
        model = space.build(space.sample(rng), TASKS[0])
        assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
