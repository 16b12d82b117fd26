"""The op library: every op's analytic twin equals fvcore on the built module; bad values fail.

fvcore (through :func:`archsearch.complexity.count`) is the oracle for params, FLOPs and
activations; :func:`archsearch.layers.output_shape` for the output shape. Small configs only.
"""

from __future__ import annotations

import pytest
import torch

from archsearch.complexity import count
from archsearch.layers import output_shape
from archsearch.modules import Layer, ModuleSpace, Seq
from archsearch.ops import OPS, op, op_cx
from archsearch.space import Task

SLOW = pytest.mark.slow
CASES = [
    ("ulsam", (16, 8, 8), {"groups": 4}),
    pytest.param("ulsam", (12, 5, 7), {"groups": 1}, marks=SLOW),
    *[("gnconv", (32, 8, 8), {"order": n}) for n in (1, 5)],
    *[pytest.param("gnconv", (32, 8, 8), {"order": n}, marks=SLOW) for n in (2, 3, 4)],
    ("hornet_block", (16, 6, 6), {"order": 3}),
    pytest.param("hornet_block", (16, 5, 5), {"order": 5, "kernel": 3, "mlp_ratio": 2}, marks=SLOW),
    ("dilated_reparam", (8, 9, 9), {"kernel": 17}),
    *[
        pytest.param("dilated_reparam", (8, 9, 9), {"kernel": k}, marks=SLOW)
        for k in (5, 7, 9, 11, 13, 15)
    ],
    ("dilated_reparam", (8, 9, 9), {"kernel": 13, "deploy": True}),
    *[("unireplk_block", (8, 6, 6), {"kernel": k}) for k in (0, 13)],
    *[pytest.param("unireplk_block", (8, 6, 6), {"kernel": k}, marks=SLOW) for k in (3, 5, 7)],
    ("unireplk_block", (8, 6, 6), {"kernel": 13, "deploy": True}),
    ("unireplk_block", (8, 6, 6), {"kernel": 3, "deploy": True, "ffn": 2}),
    ("replk_block", (8, 9, 9), {}),
    pytest.param("replk_block", (8, 9, 9), {"kernel": 7, "small": 0, "dw_ratio": 1.5}, marks=SLOW),
    ("replk_block", (8, 9, 9), {"deploy": True}),
    ("inception_resnet_a", (32, 9, 9), {}),
    ("inception_resnet_b", (32, 9, 9), {"scale": 0.3}),
    ("inception_resnet_c", (32, 5, 5), {"scale": 1.0, "relu": False}),
    ("inception_resnet_reduction_b", (32, 9, 9), {}),
    ("inception_a", (32, 9, 9), {}),
    ("inception_b", (32, 9, 9), {}),
    ("inception_c", (32, 4, 4), {}),
    pytest.param("reduction_a", (32, 9, 9), {}, marks=SLOW),
    ("reduction_a", (32, 9, 9), {"k": 16, "l": 16, "m": 24, "n": 24}),
    ("inception_v4_reduction_b", (32, 9, 9), {}),
    ("simple_conv", (3, 8, 8), {"filters": 16, "pool": True}),
    pytest.param("simple_conv", (8, 4, 4), {"filters": 16, "kernel": 1, "bn": False}, marks=SLOW),
    pytest.param("cct_tokenizer", (3, 16, 16), {"dim": 32}, marks=SLOW),
    ("cct_tokenizer", (3, 16, 16), {"dim": 32, "layers": 2, "kernel": 7, "pe": False}),
    ("cct_encoder", (10, 32), {"heads": 4, "mlp_ratio": 2.0}),
    ("seq_pool", (10, 32), {}),
    *[("conv_bn", (3, 8, 8), {"filters": 8, "mode": m}) for m in ("tune", "deploy")],
    *[pytest.param("conv_bn", (3, 8, 8), {"filters": 8, "mode": m}, marks=SLOW) for m in ("train", "eval")],
    ("conv_bn", (3, 9, 9), {"filters": 8, "kernel": 5, "stride": 2, "bias": True}),
    ("subpixel_conv", (4, 5, 5), {"channels": 2, "scale": 3}),
    pytest.param("subpixel_conv", (32, 6, 6), {"channels": 1, "scale": 2, "kernel": 5}, marks=SLOW),
    ("tvconv", (8, 12, 12), {}),
    ("tvconv", (8, 12, 12), {"stride": 2, "layers": 0, "kernel": 5}),
]


def _case(c: object) -> tuple:
    return tuple(c.values) if hasattr(c, "values") else c


IDS = [f"{_case(c)[0]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("name,shape,values", CASES, ids=IDS)
def test_twin_equals_fvcore(name: str, shape: tuple, values: dict) -> None:
    torch.manual_seed(0)
    module = op(name)(shape, **values)
    cx, out = op_cx(name, shape, **values)
    got = count(module, shape)
    assert (cx.params, cx.flops, cx.activations) == (
        got["params"],
        got["flops"],
        got["activations"],
    )
    assert tuple(out) == output_shape(module, shape)


def test_every_op_is_covered() -> None:
    fast = {c[0] for c in CASES if not hasattr(c, "values")}
    assert fast == set(OPS)  # every op has a default-run fvcore check


def test_published_closed_forms() -> None:
    # ULSAM: 5 m + 3 g in the official code, 2 m h w multiply-adds (the paper's 2 m h w).
    cx, _ = op_cx("ulsam", (512, 14, 14), groups=4)
    assert cx.params == 5 * 512 + 3 * 4 and cx.flops == 2 * 512 * 14 * 14
    # TVConv, official formula, checked there at C=32, h=w=24.
    assert op_cx("tvconv", (32, 24, 24))[0].params == 83_520
    assert sum(p.numel() for p in op("tvconv")((32, 24, 24)).parameters()) == 83_520
    # CCT encoder layer at d=256, r=2: 526,336 parameters.
    assert op_cx("cct_encoder", (256, 256), heads=4)[0].params == 526_336


def test_ops_are_layers_of_the_module_language() -> None:
    program = Seq(
        Layer(op("conv_bn"), filters=16, kernel=3, name="stem"),
        Layer(op("hornet_block"), order=2, name="hornet"),
        Layer(op("unireplk_block"), kernel=7, name="lk"),
        Layer(op("ulsam"), groups=4, name="ulsam"),
    )
    space = ModuleSpace(program, name="ops")
    arch = space.sample(__import__("numpy").random.default_rng(0))
    model = space.build(arch, Task((1, 8, 8), 10))
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize(
    "name,shape,values,match",
    [
        ("ulsam", (10, 4, 4), {"groups": 4}, "do not split"),
        ("gnconv", (32, 4, 4), {"order": 6}, "order=6"),
        ("gnconv", (12, 4, 4), {"order": 4}, "divisible by 2"),
        ("dilated_reparam", (8, 4, 4), {"kernel": 8}, "kernel=8 is not allowed"),
        ("unireplk_block", (8, 4, 4), {"kernel": 1}, "kernel=1 is not allowed"),
        ("replk_block", (8, 4, 4), {"small": 9, "kernel": 7}, "small <= kernel"),
        ("inception_a", (8, 4, 4), {"scale": 0.1}, "no residual branch"),
        ("cct_encoder", (10, 30), {"heads": 4}, "not divisible by heads"),
        ("conv_bn", (3, 4, 4), {"filters": 4, "mode": "fast"}, "unknown mode 'fast'"),
        ("tvconv", (3, 4, 4), {"kernel": 2}, "kernel=2 must be odd"),
        ("simple_conv", (3, 4, 4), {"filters": 0}, "filters=0"),
        ("subpixel_conv", (3, 4), {}, r"\(C, H, W\)"),
    ],
)
def test_bad_values_name_the_value(name: str, shape: tuple, values: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        op(name)(shape, **values)
    with pytest.raises(ValueError, match=match):
        op_cx(name, shape, **values)


def test_unknown_op_suggests_a_name() -> None:
    with pytest.raises(KeyError, match="did you mean 'ulsam'"):
        op("ulsm")
