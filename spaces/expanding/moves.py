"""Function-preserving growth of the expandable CNN, and carrying the optimizer across it.

After Mitchell, Mundt and Kersting, "Self-Expanding Neural Networks" (arXiv 2307.04526) and
Appolinary et al., "Self Expanding Convolutional Neural Networks" (arXiv 2401.05686).

Notation as in :mod:`archsearch.spaces.expanding.net`. Two growths, both exact at the moment they happen (the
grown network computes the same function):

* :func:`widen` adds ``k`` output channels to every layer of block ``b``. Old weights, BN scales
  and running statistics stay where they were (the leading block of each tensor); new channels
  get random incoming weights and fresh BN channels, and every weight that *reads* a new channel
  into an old channel is zero, so old outputs never see the new ones.
* :func:`deepen` appends a layer to block ``b``. ``init="residual"``: a ``"res"`` layer whose
  conv starts at zero, so the branch is exactly zero in train and eval mode (its input is a
  ReLU output, hence ``relu(x + 0) = x``) while the conv still receives a gradient.
  ``init="identity"``: a plain layer whose kernel is a centre tap and whose BN is the identity
  under its running statistics (exact in eval mode; in train mode BN normalises with batch
  statistics, so the function moves on the first step).

Every parameter of the old network keeps its name and sits in the leading block of the new
tensor of that name, which is what :func:`carry_optimizer` relies on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
import torch.nn as nn
from archsearch.spaces.expanding.net import ExpandableCNN
from archsearch.spaces.expanding.settings import LAYER_INITS
from archsearch.spaces.expanding.spec import NetSpec


def _grown(
    model: ExpandableCNN, spec: NetSpec, generator: torch.Generator | None
) -> ExpandableCNN:
    """A fresh network for ``spec`` with ``model``'s tensors copied into the leading blocks.

    Every weight entry that reads a new input channel into an old output channel is zeroed, so
    old channels compute exactly what they computed before.
    """
    new = ExpandableCNN(spec, generator).to(next(model.parameters()).device)
    old_state = model.state_dict()
    with torch.no_grad():
        for name, t in new.state_dict().items():
            if name not in old_state:
                continue
            o = old_state[name]
            if o.dim() == 0:
                t.copy_(o)
                continue
            t[tuple(slice(0, s) for s in o.shape)] = o
            if t.dim() >= 2 and t.shape[1] > o.shape[1]:
                t[: o.shape[0], o.shape[1] :] = 0.0
    return new


def widen(
    model: ExpandableCNN, block: int, by: int, generator: torch.Generator | None = None
) -> ExpandableCNN:
    """A copy of ``model`` with ``by`` more channels in every layer of ``block`` (exact)."""
    spec = model.spec
    _check_block(spec, block)
    if by < 1:
        raise ValueError(f"widen: by must be >= 1, got {by}")
    blocks = list(spec.blocks)
    blocks[block] = replace(blocks[block], width=blocks[block].width + by)
    return _grown(model, replace(spec, blocks=tuple(blocks)), generator)


def deepen(
    model: ExpandableCNN,
    block: int,
    init: str = "residual",
    generator: torch.Generator | None = None,
) -> ExpandableCNN:
    """A copy of ``model`` with one identity-initialised layer appended to ``block`` (exact)."""
    spec = model.spec
    _check_block(spec, block)
    if init not in LAYER_INITS:
        raise ValueError(f"unknown layer init {init!r}; known: {', '.join(LAYER_INITS)}")
    kind = "res" if init == "residual" else "conv"
    blocks = list(spec.blocks)
    blocks[block] = replace(blocks[block], layers=(*blocks[block].layers, kind))
    new = _grown(model, replace(spec, blocks=tuple(blocks)), generator)
    layer = new.blocks[block].layers[-1]
    with torch.no_grad():
        if init == "residual":
            layer.conv.weight.zero_()
        else:
            c = spec.blocks[block].width
            layer.conv.weight.zero_()
            layer.conv.weight[torch.arange(c), torch.arange(c), 1, 1] = 1.0
            layer.bn.running_mean.zero_()
            layer.bn.running_var.fill_(1.0)
            layer.bn.weight.fill_((1.0 + layer.bn.eps) ** 0.5)
            layer.bn.bias.zero_()
    return new


def _check_block(spec: NetSpec, block: int) -> None:
    if not 0 <= block < len(spec.blocks):
        raise ValueError(
            f"block {block} does not exist; the network has blocks 0..{len(spec.blocks) - 1}"
        )


def carry_optimizer(
    optimizer: torch.optim.Optimizer, old: nn.Module, new: nn.Module
) -> torch.optim.Optimizer:
    """Point ``optimizer`` (in place) at ``new``'s parameters, keeping the state of old ones.

    A parameter of ``new`` whose name exists in ``old`` inherits its state tensors (momentum
    buffers, Adam moments) in the leading block, zero-padded for the new entries; scalar state
    (Adam's step) is kept. Parameters only ``new`` has join the first group with empty state.
    """
    old_params = dict(old.named_parameters())
    by_id = {id(p): name for name, p in old_params.items()}
    new_params = dict(new.named_parameters())
    placed: set[str] = set()
    for group in optimizer.param_groups:
        moved = []
        for p in group["params"]:
            name = by_id.get(id(p))
            if name is None:
                raise ValueError(
                    "carry_optimizer: the optimizer holds a parameter not in the old model"
                )
            if name not in new_params:
                continue
            q = new_params[name]
            state = optimizer.state.pop(p, None)
            if state:
                optimizer.state[q] = {k: _pad_state(v, p, q) for k, v in state.items()}
            moved.append(q)
            placed.add(name)
        group["params"] = moved
    optimizer.param_groups[0]["params"].extend(
        q for name, q in new_params.items() if name not in placed
    )
    return optimizer


def _pad_state(value: Any, old: torch.Tensor, new: torch.Tensor) -> Any:
    if not isinstance(value, torch.Tensor) or value.shape != old.shape or value.dim() == 0:
        return value
    out = torch.zeros_like(new)
    out[tuple(slice(0, s) for s in value.shape)] = value
    return out
