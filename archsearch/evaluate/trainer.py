"""The default evaluator: train one candidate on in-memory data, report per-epoch validation.

Training follows common NAS practice (e.g. Zoph et al., NASNet, 2018; Liu et al., DARTS, 2019):
SGD with Nesterov momentum and weight decay, the learning rate annealed per step on a cosine
schedule, ``eta_t = eta_0 * (1 + cos(pi * t / T)) / 2`` for step ``t`` of ``T``, after an
optional linear warm-up. Inputs live on the device for the whole run and are shuffled with a
seeded index permutation, so there is no ``DataLoader`` in the loop. On CUDA the forward pass
runs under autocast (bf16 where the GPU has it natively, else fp16 with a gradient scaler) in
channels-last memory format (:mod:`archsearch.evaluate.placement`). One seed fixes the initial
weights, the batch order and dropout: the same architecture and seed give the same accuracy on
CPU.

A candidate that raises, diverges (NaN or infinite loss) or runs out of memory becomes a
``failed`` Result with its error text; its memory is handed back and the search goes on.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from archsearch.arch import Architecture
from archsearch.complexity import count
from archsearch.data import Data, load_data
from archsearch.evaluate.base import Report
from archsearch.evaluate.failures import Diverged, failure_text
from archsearch.evaluate.placement import (
    AMP_MODES,
    autocast_dtype,
    memory_format,
    parse_device,
    release_memory,
    resolve_device,
    rng_devices,
    to_device,
)
from archsearch.space import Scheduled, Space
from archsearch.strategy import Result

if TYPE_CHECKING:
    from archsearch.params import Value

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("cosine", "constant")


class Trainer:
    """Train a candidate for ``epochs`` (or ``max_steps``) and return its validation metrics."""

    def __init__(
        self,
        space: Space,
        data: Data | str = "digits",
        epochs: int = 3,
        batch_size: int = 32,
        lr: float = 0.05,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 5e-4,
        optimizer: str = "sgd",
        schedule: str = "cosine",
        warmup_epochs: float = 0.0,
        label_smoothing: float = 0.0,
        grad_clip: float | None = None,
        max_steps: int | None = None,
        eval_batch_size: int = 1024,
        device: str = "auto",
        amp: str = "auto",
        channels_last: bool | None = None,
        seed: int = 0,
        threads: int | str | None = "auto",
        count_complexity: bool = True,
    ) -> None:
        checks = (
            ("epochs", epochs, 1),
            ("batch_size", batch_size, 1),
            ("eval_batch_size", eval_batch_size, 1),
        )
        for name, value, low in checks:
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if threads not in (None, "auto") and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be 'auto', None or an integer >= 1, got {threads!r}")
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        for name, value, allowed in (
            ("optimizer", optimizer, OPTIMIZERS),
            ("schedule", schedule, SCHEDULES),
            ("amp", amp, AMP_MODES),
        ):
            if value not in allowed:
                raise ValueError(f"{name} {value!r} is not allowed; expected one of {allowed}")
        parse_device(device)
        self.space = space
        self.data = load_data(data) if isinstance(data, str) else data
        self.epochs, self.batch_size, self.eval_batch_size = epochs, batch_size, eval_batch_size
        self.lr, self.momentum, self.nesterov = float(lr), momentum, nesterov
        self.weight_decay, self.optimizer, self.schedule = weight_decay, optimizer, schedule
        self.warmup_epochs, self.label_smoothing = warmup_epochs, label_smoothing
        self.grad_clip, self.max_steps = grad_clip, max_steps
        self.device, self.amp, self.channels_last = device, amp, channels_last
        self.seed, self.threads, self.count_complexity = int(seed), threads, count_complexity
        self._cache: dict[tuple[str, str], tuple[torch.Tensor, ...]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}  # device copies are rebuilt where the trainer runs
        return state

    def resolve_device(self) -> torch.device:
        """The device to train on (``auto``: CUDA when available, else CPU)."""
        return resolve_device(self.device)

    def _tensors(
        self, device: torch.device, fmt: torch.memory_format = torch.contiguous_format
    ) -> tuple[torch.Tensor, ...]:
        """The splits on ``device`` in ``fmt``, copied once per trainer and device (one cached)."""
        key = (str(device), str(fmt))
        if key not in self._cache:
            self._cache.clear()  # the old copy goes before the new one is made
            (tx, ty), (vx, vy) = self.data.train, self.data.valid
            self._cache[key] = tuple(to_device(t, device, fmt) for t in (tx, ty, vx, vy))
        return self._cache[key]

    def __call__(
        self,
        arch: Architecture | Mapping[str, Value],
        *,
        report: Report | None = None,
        epochs: int | None = None,
        **meta: Any,
    ) -> Result:
        """Train ``arch`` and return accuracy, loss and train seconds; failures become failed."""
        return self.fit(arch, report=report, epochs=epochs)[1]

    def fit(
        self,
        arch: Architecture | Mapping[str, Value],
        *,
        report: Report | None = None,
        epochs: int | None = None,
    ) -> tuple[torch.nn.Module | None, Result]:
        """Train ``arch``; returns the trained model (None if it could not be built) and the Result."""
        epochs = self.epochs if epochs is None else int(epochs)
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        device = self.resolve_device()
        threads = self.cpu_threads(device)
        previous = torch.get_num_threads()
        if threads is not None and threads != previous:
            torch.set_num_threads(threads)
        # cuDNN picks the fastest convolution algorithms for each candidate's shapes.
        benchmark = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = benchmark or device.type == "cuda"
        try:
            return self._run(arch, device, epochs, report)
        finally:
            torch.backends.cudnn.benchmark = benchmark
            if threads is not None and threads != previous:
                torch.set_num_threads(previous)

    def cpu_threads(self, device: torch.device) -> int | None:
        """Torch's intra-op threads for this call on CPU, or None to leave them alone.

        ``auto`` uses at most half the usable cores (never more than torch uses already): small
        candidates gain little from more threads, and on an oversubscribed CPU (other jobs,
        parallel trials) spinning thread pools slow down by 10x or more. ``OMP_NUM_THREADS``
        (set by Ray in its workers) always wins.
        """
        if device.type != "cpu" or self.threads is None or "OMP_NUM_THREADS" in os.environ:
            return None
        if self.threads == "auto":
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
            half = max(1, (cores or os.cpu_count() or 2) // 2)
            return min(torch.get_num_threads(), half)
        return int(self.threads)

    def _run(
        self,
        arch: Architecture | Mapping[str, Value],
        device: torch.device,
        epochs: int,
        report: Report | None,
    ) -> tuple[torch.nn.Module | None, Result]:
        built: dict[str, Any] = {}
        history: list[dict[str, float]] = []
        cost: dict[str, float] = {}
        failure: str | None = None
        with torch.random.fork_rng(devices=rng_devices(device)):
            torch.manual_seed(self.seed)
            epochs_run = self._epochs(arch, device, epochs, cost, built)
            try:
                while True:
                    try:
                        epoch, metrics = next(epochs_run)
                    except StopIteration:
                        break
                    except Exception as e:
                        failure = failure_text(e)
                        break
                    history.append({"epoch": epoch, **metrics})
                    if report is not None:
                        report(epoch, {"accuracy": metrics["accuracy"], "loss": metrics["loss"]})
            finally:
                epochs_run.close()
        if failure is not None:
            # The model, optimizer and activations went with the generator and the exception.
            built.clear()
            release_memory(device)
            return None, Result.failed(failure, cost=cost, history=history)
        if not history:
            return built.get("model"), Result.failed("no epoch was trained", cost=cost)
        last = history[-1]
        metrics = {k: v for k, v in last.items() if k != "epoch"}
        metrics["train_seconds"] = time.perf_counter() - built["start"]
        return built["model"], Result(metrics=metrics, cost=cost, history=history)

    @property
    def reports(self) -> frozenset[str]:
        """The metric and cost names every successful result carries (checked before a run)."""
        names = {"accuracy", "loss", "train_loss", "train_seconds"}
        arch = self.space.sample(np.random.default_rng(0))
        analytic = self.space.complexity(arch, self.data.task)
        if analytic:
            return frozenset(names | set(analytic))
        return frozenset(
            names | ({"params", "flops", "activations"} if self.count_complexity else {"params"})
        )

    def _cost(self, arch: Architecture, model: torch.nn.Module) -> dict[str, float]:
        task = self.data.task
        analytic = self.space.complexity(arch, task) if isinstance(arch, Architecture) else None
        if analytic:
            return {k: float(v) for k, v in analytic.items()}
        if not self.count_complexity:
            return {"params": float(sum(p.numel() for p in model.parameters()))}
        return count(model, task.input_shape)

    def _optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        params = [p for p in model.parameters() if p.requires_grad]
        if self.optimizer == "sgd":
            return torch.optim.SGD(
                params,
                lr=self.lr,
                momentum=self.momentum,
                nesterov=self.nesterov and self.momentum > 0,
                weight_decay=self.weight_decay,
            )
        cls = torch.optim.Adam if self.optimizer == "adam" else torch.optim.AdamW
        return cls(params, lr=self.lr, weight_decay=self.weight_decay)

    def _lr(self, step: int, total: int, warmup: int) -> float:
        if step < warmup:
            return self.lr * (step + 1) / warmup
        if self.schedule == "constant":
            return self.lr
        t = (step - warmup) / max(1, total - warmup)
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * t))

    def _amp_dtype(self, device: torch.device) -> torch.dtype | None:
        return autocast_dtype(self.amp, device)

    def _epochs(
        self,
        arch: Architecture | Mapping[str, Value],
        device: torch.device,
        epochs: int,
        cost: dict,
        built: dict,
    ) -> Iterator[tuple[int, dict[str, float]]]:
        """Build, count and train; yields ``(epoch, validation metrics)`` after each epoch."""
        task = self.data.task
        if not isinstance(arch, Architecture):
            arch = self.space.validate(arch)
        model = self.space.build(arch, task)
        cost.update(self._cost(arch, model))
        fmt = memory_format(self.channels_last, device, task.input_shape)
        model = model.to(device=device, memory_format=fmt)
        built["model"], built["start"] = model, time.perf_counter()
        tx, ty, vx, vy = self._tensors(device, fmt)
        amp_dtype = self._amp_dtype(device)
        n = len(ty)
        bs = min(self.batch_size, n)
        # A last batch of one example would break batch norm's statistics; drop it.
        batches = n // bs + (1 if n % bs > 1 else 0)
        total = (
            batches * epochs if self.max_steps is None else min(self.max_steps, batches * epochs)
        )
        warmup = int(self.warmup_epochs * batches)
        opt = self._optimizer(model)
        scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
        order = torch.Generator().manual_seed(self.seed)
        step = 0
        for epoch in range(1, epochs + 1):
            if step >= total:
                break
            model.train()
            perm = to_device(torch.randperm(n, generator=order), device)
            loss_sum = torch.zeros((), device=device)
            done = 0
            for b in range(batches):
                if step >= total:
                    break
                idx = perm[b * bs : (b + 1) * bs]
                x, y = tx[idx], ty[idx]  # a gather keeps tx's (channels-last) layout
                for group in opt.param_groups:
                    group["lr"] = self._lr(step, total, warmup)
                if isinstance(model, Scheduled):  # scheduled regularizers (NASNet drop path)
                    model.set_progress(step / total)
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    out = model(x)
                loss = F.cross_entropy(out.float(), y, label_smoothing=self.label_smoothing)
                aux = getattr(model, "aux_logits", None)
                if aux is not None:  # an auxiliary head's loss, weighted by the model
                    aux_loss = F.cross_entropy(
                        aux.float(), y, label_smoothing=self.label_smoothing
                    )
                    loss = loss + model.aux_weight * aux_loss
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if self.grad_clip is not None:
                    scaler.unscale_(opt)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
                scaler.step(opt)
                scaler.update()
                loss_sum += loss.detach()
                step, done = step + 1, done + 1
            train_loss = float(loss_sum) / max(1, done)
            if not math.isfinite(train_loss):
                raise Diverged(f"training loss is {train_loss} in epoch {epoch}")
            acc, val_loss = self._validate(model, vx, vy, amp_dtype, device)
            if not math.isfinite(val_loss):
                raise Diverged(f"validation loss is {val_loss} after epoch {epoch}")
            yield epoch, {"accuracy": acc, "loss": val_loss, "train_loss": train_loss}

    def _validate(
        self,
        model: torch.nn.Module,
        vx: torch.Tensor,
        vy: torch.Tensor,
        amp_dtype: torch.dtype | None,
        device: torch.device,
    ) -> tuple[float, float]:
        model.eval()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        with torch.inference_mode():
            for i in range(0, len(vy), self.eval_batch_size):
                x, y = vx[i : i + self.eval_batch_size], vy[i : i + self.eval_batch_size]
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    out = model(x)
                loss_sum += F.cross_entropy(out.float(), y, reduction="sum")
                correct += (out.argmax(1) == y).sum()
        n = max(1, len(vy))
        return float(correct) / n, float(loss_sum) / n
