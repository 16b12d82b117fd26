"""The space language: params, define-by-run spaces, DeepArchitect modules, records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from archsearch.arch import Architecture, InvalidArchitecture
from archsearch.function_space import FunctionSpace
from archsearch.layers import conv, dropout, max_pool, sep_conv
from archsearch.modules import (
    D,
    Dependent,
    Layer,
    ModuleSpace,
    Optional,
    Or,
    Repeat,
    Residual,
    Seq,
)
from archsearch.params import Choice, Float, Int, param_from_json
from archsearch.space import Scheduled, Space, Task
from archsearch.strategies.random import RandomSearch
from archsearch.testing.conformance import check_space, check_strategy

TASK = Task((1, 8, 8), 10)


def demo_program():
    width = D([8, 16], name="width")

    def cell():
        return Seq(
            Or(
                Layer(conv, name="conv", filters=width, kernel=D([3, 5])),
                Layer(sep_conv, name="sep", filters=width, kernel=D([3, 5])),
                Layer(max_pool, name="pool"),
                name="op",
            ),
            Optional(Layer(dropout, rate=D([0.1, 0.3])), name="drop"),
        )

    return Seq(
        Layer(conv, name="stem", filters=width),
        Repeat(cell, [1, 2, 3], name="cells"),
        Layer(conv, name="wide", filters=Dependent(lambda w: 2 * w, width), stride=2),
    )


def demo_space():
    return ModuleSpace(demo_program, name="demo")


@pytest.mark.parametrize(
    "param, good, bad",
    [
        (Choice("op", ["conv", "pool", 3, True]), ["conv", 3, True], ["sep", 1, None, 3.5]),
        (Int("n", 1, 9, 2), [1, 3, 9], [2, 11, 0, True, 3.0]),
        (Float("lr", 1e-4, 1e-1, log=True), [1e-4, 0.01, 0.1], [0.2, 0.0, "x", False]),
    ],
)
def test_param_domains_and_json(param, good, bad):
    assert all(param.contains(v) for v in good)
    assert not any(param.contains(v) for v in bad)
    assert param_from_json(json.loads(json.dumps(param.to_json()))) == param
    rng = np.random.default_rng(0)
    assert all(param.contains(param.sample(rng)) for _ in range(50))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Choice("op", []), "at least one option"),
        (lambda: Choice("op", ["a", "a"]), "duplicate options"),
        (lambda: Choice("op", [[1, 2]]), "options must be"),
        (lambda: Int("n", 5, 1), "low <= high"),
        (lambda: Int("n", 1, 5, 0), "step=0"),
        (lambda: Int("n", 1.5, 5), "must be an integer"),
        (lambda: Float("lr", 0.0, 1.0, log=True), "needs low > 0"),
        (lambda: Float("lr", 1.0, float("nan")), "finite low <= high"),
        (lambda: param_from_json({"type": "tensor"}), "unknown param type 'tensor'"),
    ],
)
def test_param_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_choice_check_names_value_and_domain():
    with pytest.raises(
        ValueError, match=r"op: 'sep' is not allowed; expected one of 'conv', 'pool'"
    ):
        Choice("op", ["conv", "pool"]).check("sep")


def test_conditional_traversal_opens_branch_decisions():
    space = demo_space()
    assert space.next_param({}).name == "width"
    p = space.next_param({"width": 8, "stem/filters": 8})
    # width is shared: the stem never asks for its own filters; the next open decision is the repeat.
    assert p.name == "cells" and p.options == (1, 2, 3)
    partial = {"width": 8, "cells": 1}
    assert space.next_param(partial).name == "cells/0/op"
    assert space.next_param({**partial, "cells/0/op": "conv"}).name == "cells/0/op/conv/kernel"
    # The pool branch has no kernel decision: the next one is the Optional.
    assert space.next_param({**partial, "cells/0/op": "pool"}).name == "cells/0/drop"
    done = {**partial, "cells/0/op": "pool", "cells/0/drop": False}
    assert space.next_param(done) is None


def test_shared_and_dependent_hyperparameters_build_consistent_widths():
    space = demo_space()
    arch = Architecture(
        "demo",
        {
            "width": 16,
            "cells": 2,
            "cells/0/op": "conv",
            "cells/0/op/conv/kernel": 5,
            "cells/0/drop": True,
            "cells/0/drop/on/rate": 0.3,
            "cells/1/op": "sep",
            "cells/1/op/sep/kernel": 3,
            "cells/1/drop": False,
        },
    )
    model = space.build(arch, TASK)
    convs = [m for m in model.modules() if m.__class__.__name__ == "Conv2d"]
    # stem 16, cell conv 16, sep conv depthwise 16 + pointwise 16, wide = Dependent 2 * 16.
    assert [c.out_channels for c in convs] == [16, 16, 16, 16, 32]
    assert convs[1].kernel_size == (5, 5)


def test_repeat_of_function_gives_fresh_decisions_and_repeat_of_node_ties_them():
    rate = D([0.1, 0.2])
    fresh = ModuleSpace(lambda: Repeat(lambda: Layer(dropout, rate=D([0.1, 0.2])), [2]), name="f")
    tied = ModuleSpace(lambda: Repeat(Layer(dropout, rate=D([0.1, 0.2])), [2]), name="t")
    shared = ModuleSpace(Repeat(lambda: Layer(dropout, rate=rate), [2]), name="s")
    rng = np.random.default_rng(0)
    assert list(fresh.sample(rng).decisions) == ["repeat", "repeat/0/rate", "repeat/1/rate"]
    assert list(tied.sample(rng).decisions) == ["repeat", "repeat/0/rate"]
    assert list(shared.sample(rng).decisions) == ["repeat", "repeat/0/rate"]


def test_residual_projects_and_replay_rebuilds_same_model():
    space = ModuleSpace(Seq(Residual(Layer(conv, filters=D([4, 8]), stride=2))), name="res")
    arch = space.sample(np.random.default_rng(1))
    import torch

    from archsearch.layers import ResidualBlock

    model = space.build(arch, TASK)
    (block,) = [m for m in model.modules() if isinstance(m, ResidualBlock)]
    convs = [m for m in block.proj.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (1, arch["residual0/body/filters"], (1, 1), (2, 2))
    ]
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    check_space(space, n=2)  # replay: the record rebuilds a model computing the same outputs


def test_define_by_run_space():
    def fn(choose):
        n = choose.int("layers", 1, 3)
        lr = choose.float("lr", 1e-3, 1e-1, log=True)
        widths = [choose(f"w{i}", [4, 8]) for i in range(n)]
        return Seq(*[Layer(conv, filters=w) for w in widths]), lr

    space = FunctionSpace(lambda c: fn(c)[0], name="dbr")
    rng = np.random.default_rng(0)
    arch = space.sample(rng)
    assert len(arch) == 2 + arch["layers"]
    check_space(space)
    assert space.validate(arch) == arch


def test_define_by_run_conflicting_domains_is_an_error():
    space = FunctionSpace(lambda c: (c("x", [1, 2]), c("x", [1, 3])), name="bad")
    with pytest.raises(ValueError, match="declared twice with different domains"):
        space.next_param({"x": 1})


@pytest.mark.parametrize(
    "decisions, match",
    [
        ({"width": 12}, r"decision 'width' = 12 does not fit space 'demo'; expected one of 8, 16"),
        ({"width": 8}, r"decision 'cells' is missing"),
        (
            {"width": 8, "cells": 1, "cells/0/op": "pool", "cells/0/drop": False, "bogus": 1},
            r"decision 'bogus' is not part of space 'demo'",
        ),
    ],
)
def test_invalid_architecture_names_the_decision(decisions, match):
    with pytest.raises(InvalidArchitecture, match=match):
        demo_space().validate(decisions)


def test_wrong_space_and_duplicate_names_are_errors():
    with pytest.raises(InvalidArchitecture, match="of space 'other', not 'demo'"):
        demo_space().validate(Architecture("other", {}))
    dup = ModuleSpace(
        Seq(Layer(dropout, rate=D([0.1], name="r")), Layer(dropout, rate=D([0.2], name="r")))
    )
    with pytest.raises(ValueError, match="two different hyperparameters are named 'r'"):
        dup.next_param({"r": 0.1})
    with pytest.raises(ValueError, match="both named 'x'"):
        ModuleSpace(Seq(Layer(dropout, name="x"), Layer(dropout, name="x"))).next_param({})


def test_architecture_key_is_canonical_and_record_is_immutable(tmp_path):
    a = Architecture("s", {"a": 1, "b": "x"})
    b = Architecture("s", {"b": "x", "a": 1})
    assert a.key == b.key and a == b and a.key != Architecture("t", {"a": 1, "b": "x"}).key
    with pytest.raises(AttributeError):
        a.space = "t"
    a.save(tmp_path / "a.json")
    assert Architecture.load(tmp_path / "a.json") == a
    with pytest.raises(FileNotFoundError, match="architecture file not found"):
        Architecture.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="is not valid JSON"):
        Architecture.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="not an architecture record"):
        Architecture.from_json({"x": 1})


def test_demo_space_and_random_search_conform():
    space = demo_space()
    check_space(space)
    check_strategy(RandomSearch, space)


class _Bare(Space):
    """Only the two required methods."""

    name = "bare"

    def next_param(self, partial):
        return None if "x" in partial else Choice("x", (1, 2))

    def build(self, arch, task):
        import torch

        return torch.nn.Linear(1, task.num_classes)


def test_optional_space_hooks_have_documented_defaults(tmp_path):
    space = _Bare()
    arch = space.sample(np.random.default_rng(0))
    assert (space.resolution, space.conformance_task) == (None, None)
    assert space.complexity(arch, TASK) is None
    assert space.evaluator(data=None, epochs=1) is None
    assert space.draw(arch, tmp_path) == []
    assert space.encode([arch]) is None
    assert space.estimate(arch) == {}
    with pytest.raises(KeyError, match="space 'bare' has no built-in genotypes"):
        space.genotype("nasnet-a")


def test_scheduled_protocol_recognizes_models_with_set_progress():
    import torch

    from archsearch.registry import get_space

    space = get_space("nasnet", cells=1, filters=48, drop_path=0.2)
    model = space.build(space.genotype("nasnet-a"), Task((3, 8, 8), 10))
    assert isinstance(model, Scheduled)
    assert not isinstance(torch.nn.Linear(1, 1), Scheduled)
