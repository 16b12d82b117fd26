"""Op-library blocks as search choices: the cnn space's op block types, DeepArchitect's ``ops``
option, a search on digits over them, and export in the deploy form.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from archsearch.spaces.cnn.space import decode, encode
from archsearch.spaces.cnn.spec import Stage

from archsearch.api import search
from archsearch.complexity import count
from archsearch.export import export_run, load_export
from archsearch.ops import reparameterize
from archsearch.ops.largekernel import DilatedReparam
from archsearch.registry import get_space
from archsearch.space import Task

OPTS = {
    "blocks": ["hornet", "dilated-reparam", "ulsam-mbconv", "mbconv"],
    "stages": 2,
    "widths": [16, 32],
    "depths": [1, 2],
}
TASK = Task((1, 8, 8), 10)


def test_cnn_op_blocks_analytic_complexity_equals_fvcore() -> None:
    space = get_space("cnn", **OPTS)
    rng = np.random.default_rng(3)
    blocks = set()
    for _ in range(3):
        arch = space.sample(rng)
        blocks |= {arch.decisions[f"stage{i}/block"] for i in (1, 2)}
        assert encode(decode(arch)) == arch
        assert get_space("cnn", free=True).validate(arch) == arch
        torch.manual_seed(0)
        got = count(space.build(arch, TASK), TASK.input_shape)
        assert space.complexity(arch, TASK) == got
    assert len(blocks & {"hornet", "dilated-reparam", "ulsam-mbconv"}) >= 2


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(block="hornet", w=24, b=0, n=5), "not divisible by 2"),
        (dict(block="hornet", w=16, b=0, n=0), "must be in 1..5"),
        (dict(block="hornet", w=16, b=16, n=2), "b, e, g, se must be 0"),
        (dict(block="dilated-reparam", w=16, b=0, k=1), "must be one of"),
        (dict(block="ulsam-mbconv", w=16, b=16, n=0), "need n >= 1"),
        (dict(block="mbconv", w=16, b=16, n=2), "other blocks n = 0"),
    ],
)
def test_op_stage_bad_values(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Stage(**kwargs)


def test_bad_space_options_name_the_value() -> None:
    with pytest.raises(ValueError, match="unknown block type 'hornett'"):
        get_space("cnn", blocks=["hornett"])
    with pytest.raises(ValueError, match="large_kernels"):
        get_space("cnn", large_kernels=[8])
    with pytest.raises(ValueError, match="ops entry 'lk' is not an op choice"):
        get_space("deeparchitect", ops=["lk"])


def test_deeparchitect_ops_join_the_cell_choices() -> None:
    space = get_space("deeparchitect", ops=["hornet", "dilated-reparam", "ulsam"])
    rng = np.random.default_rng(0)
    ops = set()
    for _ in range(8):
        arch = space.sample(rng)
        ops |= {v for k, v in arch.decisions.items() if k.endswith("/op")}
        assert space.build(arch, TASK)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert {"hornet", "dilated-reparam", "ulsam"} <= ops


def test_deploy_form_of_a_cnn_model_loads_its_exported_weights() -> None:
    # What export does (reparameterize, save) and load_export (rebuild, reparameterize, load).
    space = get_space("cnn", blocks=["dilated-reparam"], stages=1, widths=[16], depths=[1, 1])
    arch = space.sample(np.random.default_rng(0))
    torch.manual_seed(0)
    trained = space.build(arch, TASK)
    trained.train()
    for _ in range(3):  # give the BNs running statistics
        trained(torch.randn(8, 1, 8, 8))
    trained.eval()
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        before = trained(x)
        assert reparameterize(trained) == 1
        after = trained(x)
    assert torch.allclose(before, after, atol=1e-5)
    rebuilt = space.build(arch, TASK)
    reparameterize(rebuilt)
    rebuilt.load_state_dict(trained.state_dict())
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x), after)


@pytest.mark.slow
def test_search_on_digits_and_export_in_deploy_form(tmp_path) -> None:
    opts = {"blocks": ["dilated-reparam"], "stages": 1, "widths": [16], "depths": [1, 1]}
    run = search(
        "cnn", "random", budget=2, epochs=1, seed=0, dataset="digits", space_options=opts,
        out=tmp_path / "runs", progress=False,
    )
    assert run.best() is not None
    out = export_run(run, tmp_path / "exp")
    info = json.loads((out / "export.json").read_text())
    assert info["reparameterized"] == 1  # the one UniRepLKNet block (its DRB inside)
    model = load_export(out)
    assert not any(isinstance(m, DilatedReparam) and hasattr(m, "bn") for m in model.modules())
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), load_export(out, program=True)(x), atol=1e-5)
