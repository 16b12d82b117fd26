"""Reference networks of the stage-wise CNN space, as pycls configures them.

RegNetY-400MF and RegNetY-4.0GF (Radosavovic et al., CVPR 2020) and EfficientNet-B0 (Tan & Le,
ICML 2019) from pycls's ``configs/dds_baselines``: train / test image sizes 224 / 256. Their
pycls complexities (``dev/model_complexity.json``) are reproduced exactly by
:func:`archsearch.spaces.cnn.spec.complexity`; the bases of the compound-scaling goldens.
"""

from __future__ import annotations

from archsearch.spaces.cnn.spec import CNNSpec, Stage


def _regnety(depths: list[int], widths: list[int], g: int) -> CNNSpec:
    stages = tuple(
        Stage("bottleneck", w, w, 3, 2, d, g=g, se=0.25) for w, d in zip(widths, depths)
    )
    return CNNSpec(32, stages, resolution=224, test_resolution=256)


_EN_B0 = [
    (16, 1.0, 3, 1, 1),
    (24, 6.0, 3, 2, 2),
    (40, 6.0, 5, 2, 2),
    (80, 6.0, 3, 2, 3),
    (112, 6.0, 5, 1, 3),
    (192, 6.0, 5, 2, 4),
    (320, 6.0, 3, 1, 1),
]  # w, e, k, s, d

ZOO: dict[str, CNNSpec] = {
    "regnety-400mf": _regnety([1, 3, 6, 6], [48, 104, 208, 440], 8),
    "regnety-4.0gf": _regnety([2, 6, 12, 2], [128, 192, 512, 1088], 64),
    "efficientnet-b0": CNNSpec(
        32,
        tuple(Stage("mbconv", w, 0, k, s, d, se=0.25, e=e) for w, e, k, s, d in _EN_B0),
        head_w=1280,
        resolution=224,
        test_resolution=256,
    ),
}


def zoo(name: str) -> CNNSpec:
    """The reference spec called ``name`` (see :data:`ZOO`)."""
    if name not in ZOO:
        raise KeyError(f"unknown reference network {name!r}; known: {', '.join(ZOO)}")
    return ZOO[name]
