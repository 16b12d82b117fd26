"""Super-network training for SimQ: the settings and the sandwich rule with in-place distillation.

After Yu et al., "BigNAS" (ECCV 2020): every step updates the shared weights with the largest
sub-network (on the labels), the smallest and ``random_subnets`` random ones (on the largest
one's soft predictions when ``distill``). Deterministic for a seed on one thread: the sampled
sub-networks, batch order and BN/calibration batches all come from seeded generators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from archsearch.spaces.simq.supernet import SuperNet


@dataclass(frozen=True)
class EvalSettings:
    """Super-network training and evaluation settings (space options of the same names)."""

    batch_size: int = 64
    optimizer: str = "auto"
    lr: float | None = None
    weight_decay: float = 5e-5
    random_subnets: int = 2
    distill: bool = True
    bn_batches: int = 4
    calib_batches: int = 4
    latency: str = "measured"
    latency_batch: int = 64
    latency_repeats: int = 15

    @classmethod
    def make(cls, **options: Any) -> EvalSettings:
        """Settings from keyword options; an unknown one is a ValueError."""
        known = {f.name for f in fields(cls)}
        bad = [k for k in options if k not in known]
        if bad:
            raise ValueError(
                f"unknown simq option '{bad[0]}'; known: bits, {', '.join(sorted(known))}, "
                "and the architecture choices"
            )
        if options.get("latency", "measured") not in ("measured", "model"):
            raise ValueError(
                f"latency {options['latency']!r} is not allowed; expected measured or model"
            )
        if options.get("optimizer", "auto") not in ("auto", "sgd", "adamw"):
            raise ValueError(
                f"optimizer {options['optimizer']!r} is not allowed; expected auto, sgd or adamw"
            )
        return cls(**options)

    def make_optimizer(self, params: Any, family: str) -> torch.optim.Optimizer:
        """SGD with Nesterov momentum (ResNet), AdamW (ViT), or the one named by ``optimizer``."""
        kind = self.optimizer if self.optimizer != "auto" else {"vit": "adamw"}.get(family, "sgd")
        if kind == "adamw":
            lr = self.lr if self.lr is not None else 2e-3
            return torch.optim.AdamW(params, lr=lr, weight_decay=self.weight_decay)
        lr = self.lr if self.lr is not None else 0.05
        return torch.optim.SGD(
            params, lr=lr, momentum=0.9, nesterov=True, weight_decay=self.weight_decay
        )


def _device(name: str | None) -> torch.device:
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _batches(X: torch.Tensor, size: int, count: int, gen: torch.Generator) -> list[torch.Tensor]:
    idx = torch.randperm(len(X), generator=gen)[: size * count]
    return [X[idx[i : i + size]] for i in range(0, len(idx), size)]


def train_supernet(
    space: Any, supernet: SuperNet, data: Any, epochs: int, seed: int, device: torch.device
) -> list[dict[str, float]]:
    """Sandwich-rule training of ``supernet`` in place; returns per-epoch mean losses."""
    s = space.settings
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    task = data.task
    X, y = data.train[0].to(device), data.train[1].to(device)
    largest, smallest = space.max_dims(task), space.dims(_smallest(space), task)
    opt = s.make_optimizer(supernet.parameters(), space.family)
    steps = max(1, epochs * math.ceil(len(X) / s.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    supernet.train()
    history = []
    for epoch in range(epochs):
        perm = torch.randperm(len(X), generator=gen).to(device)
        total, n = 0.0, 0
        for i in range(0, len(X), s.batch_size):
            xb, yb = X[perm[i : i + s.batch_size]], y[perm[i : i + s.batch_size]]
            opt.zero_grad(set_to_none=True)
            logits = supernet(xb, largest)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            soft = logits.detach().softmax(dim=1)
            others = [smallest] + [
                space.dims(space.sample(rng), task) for _ in range(s.random_subnets)
            ]
            for dims in others:
                out = supernet(xb, dims)
                if s.distill:
                    sub = -(soft * out.log_softmax(dim=1)).sum(dim=1).mean()
                else:
                    sub = F.cross_entropy(out, yb)
                sub.backward()
            opt.step()
            sched.step()
            total, n = total + float(loss.detach()), n + 1
        history.append({"epoch": epoch + 1, "train_loss": total / n})
    supernet.eval()
    return history


def _smallest(space: Any) -> dict[str, Any]:
    d: dict[str, Any] = {}
    while (p := space.next_param(d)) is not None:
        d[p.name] = min(p.options)
    return d
