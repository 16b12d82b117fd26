"""Reference models built from the op library, with the official code's exact counts.

:data:`ZOO` is a table of :class:`ZooModel` rows: how to build the model, its analytic
complexity at its resolution, the exact parameter count of the official code (built and
counted; ``docs/ops.md`` names the sources) and the published MACs where there is a figure.
:func:`zoo_model` looks a name up with a did-you-mean error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from functools import partial
from typing import Any

from archsearch.complexity import Cx
from archsearch.ops.zoo import hornet, inception, small, unireplknet


@dataclass(frozen=True)
class ZooModel:
    """One reference model: builder, analytic twin, input shape and reference figures."""

    name: str
    build: Callable[..., Any]
    cx: Callable[[], Cx]
    input_shape: tuple[int, int, int]
    num_classes: int
    params: int  # exact count of the official code
    published_macs: float | None  # MACs from the paper / README / timm, None if none
    source: str
    measured_macs: float | None = None  # the official code's MACs, measured (docs/ops.md)
    reparam: bool = False  # has a training form that re-parameterises into this one


def _rows() -> dict[str, ZooModel]:
    rows: list[ZooModel] = []
    for name, cfg in hornet.CONFIGS.items():
        shape = (3, 224, 224)
        params, macs, measured = {
            "hornet-t-7x7": (22_409_512, 4.0e9, 3.968e9),
            "hornet-s-7x7": (49_528_264, 8.8e9, 8.814e9),
        }[name]
        rows.append(ZooModel(
            name, partial(hornet.HorNet, cfg, 1000), partial(hornet.hornet_cx, cfg, shape),
            shape, 1000, params, macs, "raoyongming/HorNet hornet.py; README FLOPs (fvcore)",
            measured,
        ))
    uni = {
        "unireplknet-a": (4_437_300, 0.6e9, 0.640e9),
        "unireplknet-f": (6_235_216, 0.9e9, 0.905e9),
        "unireplknet-p": (10_741_704, 1.6e9, 1.573e9),
        "unireplknet-n": (18_318_560, 2.8e9, 2.767e9),
        "unireplknet-t": (31_037_980, 4.9e9, 4.899e9),
    }
    for name, cfg in unireplknet.CONFIGS.items():
        shape = (3, 224, 224)
        rows.append(ZooModel(
            name, partial(unireplknet.UniRepLKNet, cfg, 1000, deploy=True),
            partial(unireplknet.unireplknet_cx, cfg, shape, deploy=True), shape, 1000,
            *uni[name][:2], "AILab-CVC/UniRepLKNet unireplknet.py (deploy form); README FLOPs",
            uni[name][2], reparam=True,
        ))
    rows += [
        ZooModel(
            "inception-resnet-v2", inception.inception_resnet_v2,
            partial(inception.inception_resnet_v2_cx, (3, 299, 299)), (3, 299, 299), 1000,
            55_843_464, 13.18e9, "timm inception_resnet_v2; timm benchmark GMACs", 13.156e9,
        ),
        ZooModel(
            "inception-v4", inception.inception_v4,
            partial(inception.inception_v4_cx, (3, 299, 299)), (3, 299, 299), 1000,
            42_679_816, 12.28e9, "timm inception_v4; timm benchmark GMACs", 12.254e9,
        ),
        ZooModel(
            "simplenet-cifar10", small.simplenet, partial(small.simplenet_cx, (3, 32, 32)),
            (3, 32, 32), 10, 5_493_258, None,
            "Coderx7/SimpleNet Caffe prototxt (5,482,176 conv weights, the published 5.48M)",
            0.652e9,
        ),
        ZooModel(
            "cct-7-3x1", small.cct, partial(small.cct_cx, (3, 32, 32)), (3, 32, 32), 10,
            3_760_139, 1.19e9, "SHI-Labs/Compact-Transformers src/cct.py; paper 1.19G MACs",
            1.1816e9,
        ),
        ZooModel(
            "espcn", small.espcn, partial(small.espcn_cx, (1, 224, 224)), (1, 224, 224), 9,
            22_729, None, "Shi et al. 2016, r=3, paper layout (computed count)",
        ),
    ]
    return {r.name: r for r in rows}


ZOO: dict[str, ZooModel] = _rows()


def train_form(model: ZooModel) -> Callable[..., Any]:
    """The builder of ``model``'s training form (re-parameterisable models only)."""
    if not model.reparam:
        raise ValueError(f"zoo model {model.name!r} has no separate training form")
    return partial(unireplknet.UniRepLKNet, unireplknet.CONFIGS[model.name], model.num_classes)


def zoo_model(name: str) -> ZooModel:
    """The reference model ``name``; KeyError with a did-you-mean hint otherwise."""
    if name not in ZOO:
        near = get_close_matches(name, ZOO, n=1, cutoff=0.5)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        raise KeyError(f"unknown zoo model {name!r}{hint} (known: {', '.join(ZOO)})")
    return ZOO[name]
