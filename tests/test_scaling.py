"""Compound scaling against pycls's own scale_model() outputs, and the rules' edge cases."""

from __future__ import annotations

import pytest
from archsearch.solvers.scaling import (
    NAMED,
    alpha_type,
    factors,
    parse_type,
    round_group,
    scale,
)
from archsearch.spaces.cnn import CNNSpec, Stage, complexity, decode, encode
from archsearch.spaces.cnn.zoo import zoo

from archsearch.arch import Architecture
from archsearch.registry import get_space, lookup

R4 = "regnety-400mf"
R40 = "regnety-4.0gf"
EN = "efficientnet-b0"

# The oracle: pycls's own scale_model() + net.complexity() (facebookresearch/pycls 5719de641657,
# pycls/models/scaler.py, run by the project's reference notes B2 on pycls's configs
# configs/dds_baselines/{effnet/EN-B0,regnety/RegNetY-400MF,regnety/RegNetY-4.0GF}_dds_8gpu.yaml):
# base, type, s, depths, widths, group width (RegNet) or (stem, head) (EfficientNet),
# train/test size, GFLOPs, M params, M acts. The types are pycls's MODEL.SCALING_TYPE strings
# under the same names: "w" and "dwr" leave RegNet's group width alone, "wg" scales it.
PYCLS = [
    (R4, "dWr", 4, [1, 3, 7, 7], [80, 192, 352, 768], 16, (240, 276), 1.5725, 14.594, 7.920),
    (R4, "dWr", 16, [1, 4, 8, 8], [144, 312, 624, 1344], 24, (256, 296), 5.7060, 49.352, 16.668),
    (R4, "d1_w8_g8_r1", 2, [1, 3, 6, 6], [64, 136, 272, 584], 8, (232, 264), 0.7673, 7.267, 5.567),
    (R4, "wg", 16, [1, 3, 6, 6], [192, 416, 832, 1760], 32, (224, 256), 5.9726, 63.764, 14.363),
    (R4, "dr", 4, [2, 6, 12, 12], [48, 104, 208, 440], 8, (316, 364), 1.5012, 8.321, 12.538),
    (R4, "dr", 16, [4, 12, 24, 24], [48, 104, 208, 440], 8, (448, 512), 5.6418, 16.274, 43.255),
    (R4, "dwr", 2, [1, 4, 8, 8], [56, 120, 232, 496], 8, (252, 288), 0.8194, 7.055, 6.575),
    (R4, "dwr", 4, [2, 5, 10, 10], [64, 128, 264, 552], 8, (284, 324), 1.5881, 10.731, 11.446),
    (R4, "wg", 4, [1, 3, 6, 6], [96, 208, 416, 880], 16, (224, 256), 1.5258, 16.419, 7.383),
    (
        R4,
        "dwr",
        16,
        [3, 8, 15, 15],
        [80, 168, 328, 696],
        8,
        (356, 408),
        5.9745,
        24.664,
        32.120,
    ),
    (
        R40,
        "dWr",
        4,
        [2, 7, 14, 2],
        [224, 336, 896, 1904],
        112,
        (240, 276),
        15.6082,
        68.144,
        26.542,
    ),
    (
        R40,
        "dWr",
        16,
        [3, 8, 16, 3],
        [384, 576, 1536, 3264],
        192,
        (256, 296),
        62.6816,
        250.016,
        60.700,
    ),
    (R40, "wg", 2, [2, 6, 12, 2], [176, 264, 704, 1496], 88, (224, 256), 7.4687, 38.429, 16.744),
    (R40, "dr", 2, [3, 8, 17, 3], [128, 192, 512, 1088], 64, (268, 304), 8.2025, 29.534, 23.497),
    (
        EN,
        "dWr",
        2,
        [1, 2, 2, 3, 3, 4, 1],
        [24, 32, 56, 104, 144, 256, 424],
        (40, 1688),
        (232, 264),
        0.7818,
        8.603,
        10.191,
    ),
    (
        EN,
        "dWr",
        4,
        [1, 2, 2, 3, 3, 5, 1],
        [24, 40, 72, 136, 192, 336, 560],
        (56, 2232),
        (240, 276),
        1.3811,
        15.824,
        13.328,
    ),
    (
        EN,
        "dWr",
        16,
        [1, 3, 3, 4, 4, 5, 1],
        [48, 72, 120, 240, 336, 584, 968],
        (96, 3880),
        (256, 296),
        5.4776,
        47.393,
        34.302,
    ),
    (
        EN,
        "w",
        16,
        [1, 2, 2, 3, 3, 4, 1],
        [64, 96, 160, 320, 448, 768, 1280],
        (128, 5120),
        (224, 256),
        5.6133,
        66.431,
        26.989,
    ),
    (
        EN,
        "dr",
        4,
        [2, 4, 4, 6, 6, 8, 2],
        [16, 24, 40, 80, 112, 192, 320],
        (32, 1280),
        (316, 364),
        1.5862,
        10.223,
        24.335,
    ),
    (
        EN,
        "dwr",
        16,
        [3, 5, 5, 8, 8, 10, 3],
        [24, 40, 64, 128, 176, 304, 504],
        (48, 2032),
        (356, 408),
        6.9180,
        32.285,
        63.882,
    ),
]


@pytest.mark.parametrize("row", PYCLS, ids=[f"{r[0]}-{r[1]}-{r[2]}" for r in PYCLS])
def test_matches_pycls(row):
    base, kind, s, depths, widths, extra, im, gflops, mparams, macts = row
    out = scale(zoo(base), s, strategy=kind)
    assert [st.d for st in out.stages] == depths
    assert [st.w for st in out.stages] == widths
    if base == EN:
        assert (out.stem_w, out.head_w) == extra
        assert all(st.e == b.e for st, b in zip(out.stages, zoo(base).stages))
    else:
        assert {st.g for st in out.stages} == {extra}
        assert all(st.b == st.w for st in out.stages)
    assert (out.resolution, out.test_resolution) == im
    cx = complexity(out)
    assert round(cx["flops"] / 1e9, 4) == gflops
    assert round(cx["params"] / 1e6, 3) == mparams
    assert round(cx["activations"] / 1e6, 3) == macts


def test_named_dwr_is_pycls_dwr():
    """pycls's "dwr" does not scale group widths: RegNetY-400MF x16 is [80,168,328,696] g8."""
    out = scale(zoo(R4), 16, strategy="dwr")
    assert [st.w for st in out.stages] == [80, 168, 328, 696]
    assert [st.g for st in out.stages] == [8] * 4
    assert round(complexity(out)["flops"] / 1e9, 2) == 5.97
    # the variant that scales the group width too has its own name (pycls reads it alike)
    grouped = scale(zoo(R4), 16, strategy="dwgr")
    assert [st.w for st in grouped.stages] == [80, 160, 320, 704]
    assert [st.g for st in grouped.stages] == [16] * 4
    assert round(complexity(grouped)["flops"] / 1e9, 2) == 6.45
    # pycls's "w" on RegNet keeps g: RegNetY-4.0GF x16 gives 41.774 GF (notes B2)
    w = scale(zoo(R40), 16, strategy="w")
    assert {st.g for st in w.stages} == {64}
    assert round(complexity(w)["flops"] / 1e9, 3) == 41.774
    assert round(complexity(w)["params"] / 1e6, 3) == 249.009


def test_issue_golden_dwr_regnety_400mf():
    for s, depths, widths, g, im in [
        (4, [1, 3, 7, 7], [80, 192, 352, 768], 16, (240, 276)),
        (16, [1, 4, 8, 8], [144, 312, 624, 1344], 24, (256, 296)),
    ]:
        out = scale(zoo(R4), s)  # alpha = 0.8 is the default
        assert [st.d for st in out.stages] == depths and [st.w for st in out.stages] == widths
        assert [st.g for st in out.stages] == [g] * 4
        assert (out.resolution, out.test_resolution) == im


def test_types_and_factors():
    assert alpha_type(0.8) == "d1_w8_g8_r1" and alpha_type(1 / 3) == "d1_w1_g1_r1"
    assert alpha_type(1.0) == "d0_w1_g1_r0" and alpha_type(0.0) == "d1_w0_g0_r1"
    assert parse_type("dwr") == {"d": 1.0, "w": 1.0, "g": 0.0, "r": 1.0}
    assert parse_type("d1_w8_g8_r1") == {"d": 1.0, "w": 8.0, "g": 8.0, "r": 1.0}
    f = factors(4, "dWr")
    assert (round(f.d, 4), round(f.w, 4), round(f.r, 4)) == (1.1487, 1.7411, 1.0718)
    for name, alpha in [("wg", 1.0), ("dwgr", 1 / 3), ("dWr", 0.8), ("dr", 0.0)]:
        assert factors(16, name) == factors(16, alpha=alpha)
    assert factors(16, "dwr").g == 1.0 and factors(16, "w").g == 1.0
    for name in NAMED:
        assert factors(16, name).flops == pytest.approx(16)
    assert [round_group(g) for g in (1, 2.4, 3, 5.4, 6, 13.9, 20.01)] == [1, 2, 4, 4, 8, 16, 16]


def test_architectures_and_purity():
    base = encode(zoo(R4))
    out = scale(base, 4)
    assert isinstance(out, Architecture) and out.space == "cnn"
    assert get_space("cnn", free=True).validate(out) == out
    assert decode(out) == scale(zoo(R4), 4)
    assert base == encode(zoo(R4))  # the input is untouched
    assert lookup("solver", "scaling") is scale


def test_bottleneck_ratios_and_dense():
    # ResNet-style b = w / 4, dense kxk conv: pycls's rule keeps the ratio exactly.
    spec = CNNSpec(
        32, (Stage("bottleneck", 256, 64, 3, 2, 3), Stage("bottleneck", 512, 128, 3, 2, 4, g=32))
    )
    out = scale(spec, 4, strategy="wg")
    assert [(st.w, st.b, st.g) for st in out.stages] == [(512, 128, 0), (1024, 256, 64)]
    # A DeepMAD-style free ratio (40 / 128): b scales as a width of its own, multiples of 8.
    spec = CNNSpec(
        32, (Stage("bottleneck", 128, 40, 5, 2, 1), Stage("bottleneck", 512, 48, 5, 2, 11))
    )
    out = scale(spec, 2, strategy="wg")
    assert [(st.w, st.b) for st in out.stages] == [(184, 56), (728, 64)]
    # A grouped free ratio keeps b a multiple of the scaled group width.
    out = scale(CNNSpec(16, (Stage("bottleneck", 96, 40, 3, 1, 1, g=8),)), 16, strategy="wg")
    assert (out.stages[0].w, out.stages[0].b, out.stages[0].g) == (384, 160, 32)


def test_mbconv_absolute_inner_width():
    spec = CNNSpec(
        40, (Stage("mbconv", 40, 240, 5, 1, 2), Stage("mbconv", 85, 512, 5, 2, 4)), head_w=1792
    )
    out = scale(spec, 4, strategy="w")
    assert (out.stem_w, out.head_w) == (80, 3584)
    assert [(st.w, st.b, st.d) for st in out.stages] == [(80, 480, 2), (168, 1024, 4)]
    out = scale(spec, 4, strategy="w", scale_stem_head=False)
    assert (out.stem_w, out.head_w) == (40, 1792)


def test_nasnet_dimensions():
    # dWr at 16x: N x 1.3195, F x 3.0314 (to a multiple of 24, F = 24 f0), r x 1.1487.
    dims = {"cells": 6, "filters": 96, "resolution": 32, "other": 1}
    out = scale(dims, 16)
    assert out == {"cells": 8, "filters": 288, "resolution": 36, "other": 1}
    arch = Architecture("nasnet", {"cells": 6, "filters": 96, "resolution": 32, "op": "sep3"})
    assert scale(arch, 16).decisions == {
        "cells": 8,
        "filters": 288,
        "resolution": 36,
        "op": "sep3",
    }
    assert scale(dims, 4, strategy="dr")["cells"] == 12


@pytest.mark.parametrize(
    "call, err, match",
    [
        (
            lambda: scale(Architecture("nasnet", {"op": "sep3"}), 4),
            ValueError,
            "no scalable dimensions",
        ),
        (lambda: scale({"cells": 6}, 4), ValueError, "missing filters, resolution"),
        (lambda: scale([1, 2], 4), ValueError, "cannot scale a list"),
        (lambda: scale(zoo(R4), 0), ValueError, r"factor=0 is not allowed; expected a number in"),
        (lambda: scale(zoo(R4), float("inf")), ValueError, "factor=inf is not allowed"),
        (lambda: scale(zoo(R4), 1e300), ValueError, r"expected a number in \(0, 1000\]"),
        (lambda: scale(zoo(R4), 4, alpha=1.5), ValueError, "alpha=1.5 must lie in"),
        (lambda: scale(zoo(R4), 4, strategy="dxr"), ValueError, "bad scaling type 'dxr' at 'dxr'"),
        (lambda: parse_type(""), ValueError, "must be a non-empty string"),
        (lambda: parse_type("g1"), ValueError, "scales none of depth, width, resolution"),
    ],
)
def test_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_benchmark_sweep_exponents():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "scaling.py"
    spec = importlib.util.spec_from_file_location("scaling_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = bench.sweep()
    for entry in data["bases"].values():
        fit = {s: st["fitted_exponent"] for s, st in entry["strategies"].items()}
        assert fit["w"] < fit["dWr"] < fit["dw"] < fit["dwr"] < fit["dr"]
    en = data["bases"]["efficientnet-b0"]["strategies"]
    # pycls's scale_model() at 16x on EN-B0: 0.61 (dWr), 0.52 (w), 0.93 (dr).
    assert [round(en[s]["exponent_at_16"], 2) for s in ("dWr", "w", "dr")] == [0.61, 0.52, 0.93]
    assert abs(en["dWr"]["fitted_exponent"] - 0.6) < 0.02
    assert "| dWr | 4 |" in bench.markdown(data)
