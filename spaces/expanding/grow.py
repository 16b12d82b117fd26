"""Growing training: train, and between epochs let the natural expansion score decide growth.

Mitchell, Mundt and Kersting, "Self-Expanding Neural Networks" (arXiv 2307.04526), gate as in
their code; SECNN (arXiv 2401.05686) for the CNN growth moves and the cooldown.

Notation: ``eta`` the current network's score (:mod:`archsearch.spaces.expanding.score`) on a held-out part of the
training split (never the validation split, which only reports accuracy). A candidate ``c``
(widen or deepen one block) scores ``eta_c``; its gain is ``d = eta_c - eta``, divided by
``layer_cost`` for depth. ``c`` passes when ``d / eta > tau`` (relative) **and** ``d > alpha``
(absolute, in loss per unit natural-gradient time). Of the passing candidates the one with the
largest gain per added parameter is applied (``select="gain_per_param"``, so capacity goes where
it pays most per parameter; ``select="gain"`` takes the largest gain, which favours the
costliest growth). A gate runs after an epoch only if at least ``cooldown`` epochs passed since
the last growth (or the start), never after the last epoch, and only candidates within the caps
(``max_params``, ``max_width``, ``max_layers``) are scored.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from archsearch.spaces.expanding.checkpoint import save_checkpoint
from archsearch.spaces.expanding.moves import carry_optimizer, deepen, widen
from archsearch.spaces.expanding.net import ExpandableCNN, param_count
from archsearch.spaces.expanding.score import expansion_score
from archsearch.spaces.expanding.settings import GrowthSettings
from archsearch.spaces.expanding.spec import spec_flops, spec_params


@dataclass
class GrowthRun:
    """The outcome of :func:`grow`: final model, per-epoch history, gate log, checkpoints."""

    model: ExpandableCNN
    history: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    train_flops: float = 0.0
    score_flops: float = 0.0

    @property
    def growths(self) -> list[dict[str, Any]]:
        """The accepted gates only."""
        return [g for g in self.gates if g["chosen"] is not None]


def candidates(model: ExpandableCNN, s: GrowthSettings) -> list[tuple[str, int]]:
    """The growths ``(kind, block)`` allowed by ``s`` and within its caps."""
    out = []
    for b, block in enumerate(model.spec.blocks):
        if s.allowed in ("both", "width") and block.width + s.widen_by <= s.max_width:
            out.append(("widen", b))
        if s.allowed in ("both", "depth") and len(block.layers) < s.max_layers:
            out.append(("deepen", b))
    return out


def apply(
    model: ExpandableCNN, growth: tuple[str, int], s: GrowthSettings, gen: torch.Generator
) -> ExpandableCNN:
    """The grown copy of ``model`` for one growth ``(kind, block)``."""
    kind, block = growth
    if kind == "widen":
        return widen(model, block, s.widen_by, gen)
    return deepen(model, block, s.layer_init, gen)


def gate(
    model: ExpandableCNN,
    held_x: torch.Tensor,
    held_y: torch.Tensor,
    s: GrowthSettings,
    gen: torch.Generator,
) -> tuple[dict[str, Any], ExpandableCNN | None]:
    """Score every candidate; returns the gate's log entry and the grown model (or None)."""
    # One label sample for all models of this gate: their outputs agree (growth is exact), so
    # a sampled Fisher then draws the same labels for each, and gains compare like with like.
    sample_seed = int(torch.randint(2**62, (1,), generator=gen))

    def score(m: ExpandableCNN, **extra: Any) -> Any:
        sampler = torch.Generator().manual_seed(sample_seed)
        return expansion_score(
            m, held_x, held_y, damping=s.damping, fisher=s.fisher, generator=sampler, **extra
        )

    in_shape = tuple(held_x.shape[1:])
    current = score(model)
    entry: dict[str, Any] = {
        "eta": current.eta,
        "candidates": [],
        "chosen": None,
        "scored_flops": spec_flops(model.spec, in_shape),
    }
    best, best_gain, base_params = None, -math.inf, param_count(model)
    for growth in candidates(model, s):
        grown = apply(model, growth, s, gen)
        params = param_count(grown)
        row: dict[str, Any] = {"growth": f"{growth[0]}:{growth[1]}", "params": params}
        if params > s.max_params:
            entry["candidates"].append({**row, "passed": False, "reason": "max_params"})
            continue
        cand = score(grown, ref_damping=current.damping)
        entry["scored_flops"] += spec_flops(grown.spec, in_shape)
        gain = cand.eta - current.eta
        if growth[0] == "deepen":
            gain /= s.layer_cost
        ratio = gain / current.eta if current.eta > 0 else math.inf
        passed = ratio > s.tau and gain > s.alpha
        entry["candidates"].append({**row, "gain": gain, "ratio": ratio, "passed": passed})
        merit = gain if s.select == "gain" else gain / (params - base_params)
        if passed and merit > best_gain:
            best, best_gain, entry["chosen"] = grown, merit, row["growth"]
    return entry, best


def _evaluate(model: ExpandableCNN, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    was = model.training
    model.eval()
    with torch.no_grad():
        z = torch.cat([model(x[i : i + 512]) for i in range(0, len(x), 512)])
    model.train(was)
    return float((z.argmax(1) == y).float().mean()), float(F.cross_entropy(z, y))


def grow(
    model: ExpandableCNN,
    train: tuple[torch.Tensor, torch.Tensor],
    valid: tuple[torch.Tensor, torch.Tensor],
    settings: GrowthSettings,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 0.05,
    weight_decay: float = 5e-4,
    seed: int = 0,
    device: str = "cpu",
    out: str | Path | None = None,
    report: Callable[[int, dict[str, float]], None] | None = None,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> GrowthRun:
    """Train ``model`` for ``epochs`` epochs (SGD, Nesterov momentum, cosine LR), growing it.

    ``settings.score_size`` training examples are held out for the score and not trained on.
    With ``out``, each accepted growth first writes the network it replaces to
    ``out/ckpt-<k>.pt`` (spec, weights, params, validation accuracy), and the final network is
    written last. ``report(epoch, metrics)`` gets validation metrics after each epoch; ``log``
    gets each epoch's history row (with its gate, if any).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    x, y = train
    if len(x) <= settings.score_size:
        raise ValueError(
            f"score_size={settings.score_size} leaves no training data ({len(x)} examples)"
        )
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(x), generator=gen)
    held, fit = perm[: settings.score_size], perm[settings.score_size :]
    dev = torch.device(device)
    fit_x, fit_y = x[fit].to(dev), y[fit].to(dev)
    held_x, held_y = x[held].to(dev), y[held].to(dev)
    val_x, val_y = valid[0].to(dev), valid[1].to(dev)
    model = model.to(dev).train()
    opt = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: 0.5 * (1 + math.cos(math.pi * e / epochs))
    )
    run = GrowthRun(model)
    in_shape = tuple(x.shape[1:])
    # Backward passes per scored batch: the true-label gradient plus the Fisher's vectors.
    passes = {"exact": 1 + model.spec.num_classes, "sampled": 2, "empirical": 1}[settings.fisher]
    last_growth, start = 0, time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(fit_x), generator=gen).to(dev)
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            loss = F.cross_entropy(model(fit_x[idx]), fit_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        run.train_flops += 3.0 * spec_flops(model.spec, in_shape) * len(fit_x)
        acc, vloss = _evaluate(model, val_x, val_y)
        row: dict[str, Any] = {
            "epoch": epoch,
            "params": param_count(model),
            "arch": model.spec.describe(),
            "train_loss": total / len(fit_x),
            "val_accuracy": acc,
            "val_loss": vloss,
        }
        if report is not None:
            report(epoch, {"accuracy": acc, "loss": vloss})
        if epoch < epochs and epoch - last_growth >= settings.cooldown:
            entry, grown = gate(model, held_x, held_y, settings, gen)
            # Per scored model: one forward and `passes` input-gradient backward passes.
            run.score_flops += (1 + passes) * entry["scored_flops"] * len(held_x)
            entry["epoch"] = epoch
            run.gates.append(entry)
            row["eta"] = entry["eta"]
            row["growth"] = entry["chosen"]
            if grown is not None:
                if out is not None:
                    _checkpoint(run, out, model, row, entry["chosen"])
                carry_optimizer(opt, model, grown)
                model = run.model = grown.to(dev).train()
                last_growth = epoch
        run.history.append(row)
        if log is not None:
            log(row)
    run.seconds = time.perf_counter() - start
    if out is not None:
        _checkpoint(run, out, model, run.history[-1], None)
    assert param_count(model) == spec_params(model.spec)
    return run


def _checkpoint(
    run: GrowthRun, out: str | Path, model: ExpandableCNN, row: dict[str, Any], next_growth: Any
) -> None:
    meta = {
        "epoch": row["epoch"],
        "params": param_count(model),
        "val_accuracy": row["val_accuracy"],
        "val_loss": row["val_loss"],
        "spec": model.spec.to_json(),
        "next_growth": next_growth,
    }
    path = save_checkpoint(Path(out) / f"ckpt-{len(run.checkpoints):02d}.pt", model, **meta)
    run.checkpoints.append({"path": str(path), **meta})
