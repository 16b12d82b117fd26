"""Exact size, latency, parameters and multiply-adds of a SimQ record without evaluating it.

After Sridhar et al., "SimQ-NAS" (arXiv 2312.13301): only accuracy needs the trained
super-network. A record's ``size_mb``, ``latency_ms`` (from the evaluator's per-layer table,
:mod:`archsearch.spaces.simq.latency`), ``params`` and ``flops`` depend on its genes alone:

    size_mb    = sum_p n_p * b_p / 8 / 10^6     (b_p: the layer's bit width for a quantized
                                                 conv / linear weight, 32 for every other tensor)
    latency_ms = sum_l T[shape_l, b_l]          (the evaluator's table, same layers, same order)

where ``n_p`` is the element count of parameter ``p``. A :class:`SubnetProfile` holds the
parameter counts and layer shapes of one sub-network; it is read from a skeleton of the
sub-network on PyTorch's ``meta`` device (no weights, no data) and cached per dims; layer input
shapes come from one ``meta`` pass through the super-network (:func:`profile` says why that is
exact). A table entry
missing for a layer shape is timed once and stored in the evaluator's table, exactly as the
evaluator would on first meeting it, so the estimate and the evaluation agree to the last bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from archsearch.spaces.simq.latency import (
    LatencyTable,
    _input_shapes,
    _key,
    attention_macs,
    layer_mac,
)
from archsearch.spaces.simq.quant import quantizable_layers
from archsearch.spaces.simq.supernet import _family
from torch import nn


@dataclass(frozen=True)
class LayerProfile:
    """One quantizable layer: name, latency-table key, input shape and a weightless twin."""

    name: str
    key: str
    shape: tuple[int, ...]
    layer: nn.Module


@dataclass(frozen=True)
class SubnetProfile:
    """Parameter counts (in the model's order, with the owning layer of a quantizable weight),
    quantizable layers and multiply-adds of one sub-network."""

    params: tuple[tuple[int, str | None], ...]
    layers: tuple[LayerProfile, ...]
    macs: float


def reference_shapes(max_dims: Any, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Input shapes of the super-network's quantizable layers (one ``meta``-device pass)."""
    with torch.device("meta"):
        return _input_shapes(_family(max_dims)(max_dims), input_shape)


def profile(dims: Any, reference: Mapping[str, tuple[int, ...]]) -> SubnetProfile:
    """The profile of sub-network ``dims`` from a weightless ``meta``-device skeleton.

    In both families the elastic genes change channels, depth, heads and MLP width but never a
    layer's spatial size or token count, so a layer's input shape is its same-named layer's
    shape in the super-network (``reference``) with the channel axis (first for a conv, last for
    a linear layer) set to the layer's own input width.
    """
    with torch.device("meta"):
        model = _family(dims)(dims)
    layers = quantizable_layers(model)
    owner = {id(m.weight): n for n, m in layers.items()}
    out, macs = [], 0.0
    for n, m in layers.items():
        ref = reference[n]
        if isinstance(m, nn.Conv2d):
            shape = (m.in_channels, *ref[1:])
        else:
            shape = (*ref[:-1], m.in_features)
        out.append(LayerProfile(n, _key(m, shape), shape, m))
        macs += layer_mac(m, shape)
    macs += attention_macs(model, {lp.name: lp.shape for lp in out})
    return SubnetProfile(
        params=tuple((p.numel(), owner.get(id(p))) for p in model.parameters()),
        layers=tuple(out),
        macs=macs,
    )


def size_mb(prof: SubnetProfile, policy: Mapping[str, int]) -> float:
    """Size in 10^6 bytes, summed in the same order as the evaluator's ``model_size_bytes``."""
    total = 0.0
    for numel, layer in prof.params:
        bits = int(policy[layer]) if layer is not None and int(policy[layer]) < 32 else 32
        total += numel * bits / 8
    return total / 1e6


def latency_ms(prof: SubnetProfile, policy: Mapping[str, int], table: LatencyTable) -> float:
    """Sum of ``table``'s entries over the layers (missing shapes are timed and stored once)."""
    total, grew = 0.0, False
    for lp in prof.layers:
        if lp.key not in table.entries:
            table.entries[lp.key] = table.measure(_materialize(lp.layer), lp.shape)
            grew = True
        total += table.entries[lp.key]["32" if int(policy.get(lp.name, 32)) >= 32 else "8"]
    if grew:
        table.save()
    return total


def _materialize(layer: nn.Module) -> nn.Module:
    """A CPU layer of the same configuration (random weights: timing does not read values)."""
    if isinstance(layer, nn.Conv2d):
        return nn.Conv2d(
            layer.in_channels,
            layer.out_channels,
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            groups=layer.groups,
            bias=False,
        )
    return nn.Linear(layer.in_features, layer.out_features, bias=False)
