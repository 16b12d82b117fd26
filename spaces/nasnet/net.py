"""NASNet cells stacked into a network, built from a :class:`archsearch.spaces.nasnet.plan.NetPlan`.

Zoph et al., CVPR 2018, Fig. 2 and App. A.5 (ScheduledDropPath). A cell reads (h_i, h_{i-1}):
h_i always passes a ReLU-1x1 conv-BN to ``f`` channels; h_{i-1} is brought to h_i's size by a
factorized reduction or to ``f`` channels by a 1x1 conv where they differ (the very first cell
reads the stem output raw, as the released model does). ScheduledDropPath drops each non-identity
op output of cell ``c`` (0-based, of ``T`` cells) with probability
``p_max * (c + 1) / T * progress``; call :meth:`NASNet.set_progress` with the fraction of
training done (0..1) before each epoch or step.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from archsearch.spaces.nasnet.ops import AuxHead, FactorizedReduce, drop_path, make_op
from archsearch.spaces.nasnet.plan import CellPlan, NetPlan, state_index


class Cell(nn.Module):
    """One normal or reduction cell."""

    def __init__(self, plan: CellPlan) -> None:
        super().__init__()
        self.plan = plan
        f = plan.f
        self.pre0 = self.pre1 = None  # None: the input is not used by this cell
        if plan.uses(0):
            self.pre0 = nn.Sequential(
                nn.ReLU(), nn.Conv2d(plan.in0[0], f, 1, bias=False), nn.BatchNorm2d(f)
            )
        if plan.uses(1):
            self.pre1 = (
                FactorizedReduce(plan.in1[0], f, 2 if plan.pre1 == "reduce" else 1, relu=True)
                if plan.pre1 != "none"
                else nn.Identity()
            )
        self.ops = nn.ModuleList(
            make_op(op, cin, f, stride) for op, cin, stride, _, _ in plan.op_inputs()
        )
        states = plan.states()
        self.fixes = nn.ModuleList(
            FactorizedReduce(states[i][0], f, 2 if fix == "reduce" else 1, relu=False)
            if fix != "none"
            else nn.Identity()
            for i, fix in zip(plan.concat, plan.concat_fix())
        )
        self.wiring = [
            (state_index(b.left), state_index(b.right), b.op_left, b.op_right, b.combine)
            for b in plan.blocks
        ]
        self.drop_prob = 0.0

    def forward(self, h0: torch.Tensor, h1: torch.Tensor) -> torch.Tensor:
        states = [
            None if self.pre0 is None else self.pre0(h0),
            None if self.pre1 is None else self.pre1(h1),
        ]
        p = self.drop_prob if self.training else 0.0
        for k, (li, ri, op_l, op_r, combine) in enumerate(self.wiring):
            a = self.ops[2 * k](states[li])
            b = self.ops[2 * k + 1](states[ri])
            if op_l != "identity":
                a = drop_path(a, p)
            if op_r != "identity":
                b = drop_path(b, p)
            states.append(a + b if combine == "add" else torch.cat([a, b], 1))
        return torch.cat([fix(states[i]) for i, fix in zip(self.plan.concat, self.fixes)], 1)


class NASNet(nn.Module):
    """Stem, stacked cells, optional auxiliary head, ReLU-global pool-(dropout)-FC classifier.

    In training mode with an auxiliary head, ``forward`` stores the auxiliary logits in
    ``self.aux_logits`` (weight them by ``self.aux_weight`` = 0.4 in the loss); it always
    returns the main logits.
    """

    aux_weight = 0.4

    def __init__(self, plan: NetPlan, drop_path_prob: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.plan = plan
        cin, stem = plan.in_shape[0], plan.stem[0]
        pad = 1 if plan.stem_stride == 1 else 0  # CIFAR: 'same'; ImageNet: 'valid', stride 2
        self.stem = nn.Sequential(
            nn.Conv2d(cin, stem, 3, plan.stem_stride, pad, bias=False), nn.BatchNorm2d(stem)
        )
        self.cells = nn.ModuleList(Cell(p) for p in plan.cells)
        self.aux = None
        if plan.aux_after is not None:
            c, h, w = plan.cells[plan.aux_after].out()
            self.aux = AuxHead(c, h, w, plan.num_classes)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(plan.cells[-1].out()[0], plan.num_classes)
        self.drop_path_prob = drop_path_prob
        self.aux_logits: torch.Tensor | None = None
        self.set_progress(0.0)

    def set_progress(self, fraction: float) -> None:
        """Set ScheduledDropPath's training progress (0 = start, 1 = end)."""
        t = min(max(float(fraction), 0.0), 1.0)
        n = len(self.cells)
        for c, cell in enumerate(self.cells):
            cell.drop_prob = self.drop_path_prob * (c + 1) / n * t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = h1 = self.stem(x)
        self.aux_logits = None
        for i, cell in enumerate(self.cells):
            h1, h0 = h0, cell(h0, h1)
            if i == self.plan.aux_after and self.training:
                self.aux_logits = self.aux(h0)
        y = F.adaptive_avg_pool2d(F.relu(h0), 1).flatten(1)
        return self.classifier(self.dropout(y))
