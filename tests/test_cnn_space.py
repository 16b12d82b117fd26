"""The stage-wise CNN space: pycls golden complexities, fvcore oracle, encode/decode, modes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from archsearch.spaces.cnn import CNNSpec, Stage, build, complexity, decode, encode
from archsearch.spaces.cnn.zoo import zoo

from archsearch.arch import Architecture, InvalidArchitecture
from archsearch.registry import get_space
from archsearch.space import Task
from archsearch.testing.conformance import check_space

torch.set_num_threads(1)  # tiny models; threads only contend on a shared CPU


def regnet(depths, widths, g, se=0.25, stem=32, res=224):
    """A RegNet-style spec (bottleneck multiplier 1)."""
    return CNNSpec(
        stem,
        tuple(Stage("bottleneck", w, w, 3, 2, d, g=g, se=se) for w, d in zip(widths, depths)),
        resolution=res,
    )


@pytest.mark.parametrize(
    "spec, want",
    [
        (zoo("regnety-400mf"), (401_849_056, 4_344_144, 3_892_496)),
        (zoo("regnety-4.0gf"), (3_973_301_344, 20_646_656, 12_287_200)),
        (zoo("efficientnet-b0"), (385_825_092, 5_288_548, 6_748_036)),
    ],
    ids=["RegNetY-400MF", "RegNetY-4.0GF", "EN-B0"],
)
def test_pycls_complexity_golden(spec, want):
    # pycls dev/model_complexity.json, ImageNet (1000 classes, 224x224).
    cx = complexity(spec)
    assert (cx["flops"], cx["params"], cx["activations"]) == want


def _fvcore(model: torch.nn.Module, shape: tuple) -> dict[str, int]:
    from fvcore.nn import FlopCountAnalysis

    f = FlopCountAnalysis(model.eval(), torch.zeros(1, *shape))
    f.unsupported_ops_warnings(False)
    f.uncalled_modules_warnings(False)
    return dict(f.by_operator())


ORACLE = [
    regnet([1, 2], [24, 48], 8, stem=16, res=32),
    CNNSpec(
        8,
        (
            Stage("bottleneck", 32, 8, 5, 2, 2, g=0),
            Stage("bottleneck", 32, 16, 3, 1, 2, g=4, se=0.5),
        ),
        head_w=40,
        resolution=30,
    ),
    CNNSpec(
        16,
        (
            Stage("mbconv", 16, 0, 3, 1, 1, se=0.25, e=1.0),
            Stage("mbconv", 24, 0, 5, 2, 2, se=0.25, e=6.0),
        ),
        head_w=64,
        resolution=33,
    ),
    CNNSpec(
        24,
        (Stage("mbconv", 32, 96, 7, 2, 2, se=0.25), Stage("bottleneck", 64, 16, 3, 2, 1, g=16)),
        resolution=17,
    ),
]


@pytest.mark.parametrize("spec", ORACLE, ids=["regnet", "resnet-head", "effnet", "mixed"])
def test_analytic_equals_fvcore_and_built_params(spec):
    task = Task((3, spec.resolution, spec.resolution), 10)
    model = build(spec, task)
    counted = _fvcore(model, task.input_shape)
    cx = complexity(spec, num_classes=10, count_bias=False)
    assert counted.get("conv", 0) + counted.get("linear", 0) == cx["flops"]
    assert sum(p.numel() for p in model.parameters()) == cx["params"]
    biased = complexity(spec, num_classes=10)
    assert biased["flops"] > cx["flops"] and biased["params"] == cx["params"]
    with torch.no_grad():
        assert model(torch.randn(2, *task.input_shape)).shape == (2, 10)


@pytest.mark.parametrize("spec", [ORACLE[1], zoo("efficientnet-b0"), ORACLE[3]])
def test_encode_decode_roundtrip_and_free_validation(spec):
    arch = encode(spec)
    assert arch.space == "cnn" and decode(arch) == spec
    assert decode(Architecture.from_json(arch.to_json())) == spec
    free = get_space("cnn", free=True)
    assert free.validate(arch) == arch
    task = Task((3, 16, 16), 5)
    assert free.complexity(arch, task)["params"] == complexity(spec, 5)["params"]


@pytest.mark.parametrize("options", [{}, {"family": "mbconv"}, {"family": "any", "stages": 2}])
def test_searchable_modes_conform(options):
    check_space(get_space("cnn", **options), n=3)


def test_space_complexity_uses_task_size():
    space = get_space("cnn")
    arch = space.sample(np.random.default_rng(0))
    spec = decode(arch)
    got = space.complexity(arch, Task((1, 8, 8), 10))
    want = complexity(spec, 10, in_channels=1, resolution=8, count_bias=False)
    assert got["flops"] == want["flops"]


def test_free_space_rejects_bad_group_width():
    arch = encode(ORACLE[1])
    bad = arch.replace(**{"stage2/g": 5})
    with pytest.raises(InvalidArchitecture, match="stage2/g"):
        get_space("cnn", free=True).validate(bad)
    with pytest.raises(InvalidArchitecture, match="'stage1/w' = 32 does not fit"):
        get_space("cnn", stages=2, stem_widths=(8,), widths=(8, 16)).validate(arch)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(block="conv", w=8, b=8), "unknown block 'conv'"),
        (dict(block="bottleneck", w=0, b=8), "w=0 must be a positive integer"),
        (dict(block="bottleneck", w=8, b=8, k=4), "kernel k=4 must be odd"),
        (dict(block="bottleneck", w=8, b=0), "needs b >= 1"),
        (dict(block="bottleneck", w=8, b=12, g=8), "not a multiple of the group width"),
        (dict(block="bottleneck", w=8, b=8, e=2.0), "for mbconv stages only"),
        (dict(block="bottleneck", w=8, b=8, g=-1), "group width g=-1"),
        (dict(block="bottleneck", w=8, b=8, se=2.0), "se=2.0 must lie in"),
        (dict(block="bottleneck", w=8, b=-1), "b=-1 must be an integer"),
        (dict(block="mbconv", w=8, b=8, g=8), "mbconv stages are depthwise"),
        (dict(block="mbconv", w=8, b=8, e=2.0), "exactly one of b"),
        (dict(block="mbconv", w=8, b=0, e=-1.0), "e=-1.0 must be >= 0"),
    ],
)
def test_stage_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Stage(**kwargs)


def test_spec_and_space_errors():
    st = Stage("bottleneck", 8, 8)
    with pytest.raises(ValueError, match="at least one stage"):
        CNNSpec(8, ())
    with pytest.raises(ValueError, match="stages must be Stage objects"):
        CNNSpec(8, ("x",))
    with pytest.raises(ValueError, match="head_w=-1 must be an integer >= 0"):
        CNNSpec(8, (st,), head_w=-1)
    with pytest.raises(ValueError, match="unknown family 'vit'"):
        get_space("cnn", family="vit")
    with pytest.raises(ValueError, match="stages=0 must be a positive integer"):
        get_space("cnn", stages=0)
    with pytest.raises(ValueError, match=r"kernels=\(3, 4\) must be non-empty odd integers"):
        get_space("cnn", kernels=(3, 4))
    with pytest.raises(ValueError, match=r"widths=\(\) must be non-empty positive"):
        get_space("cnn", widths=())
    with pytest.raises(ValueError, match="depths=.* must be a range"):
        get_space("cnn", depths=(3, 1))
    with pytest.raises(InvalidArchitecture, match="not 'cnn'"):
        decode(Architecture("nasnet", {}))
    with pytest.raises(InvalidArchitecture, match="'stage1/block' is missing"):
        decode({"stages": 1, "stem_w": 8})
    with pytest.raises(InvalidArchitecture, match="stage1: .*must be odd"):
        decode(encode(CNNSpec(8, (st,))).replace(**{"stage1/k": 2}))
    with pytest.raises(KeyError, match="unknown reference network 'resnet'"):
        zoo("resnet")
    with pytest.raises(ValueError, match="needs image inputs"):
        build(CNNSpec(8, (st,)), Task((64,), 3))
