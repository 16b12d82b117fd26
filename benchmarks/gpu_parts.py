"""The parts of ``benchmarks/gpu.py`` that time training: sizes, the plain loop, the throughput
and precision parts, and the record's checks (the OOM part is :mod:`gpu_oom`, the Ray part
:mod:`gpu_ray`).

The plain loop is the textbook PyTorch training loop, written here independently of the
trainer: ``torch.optim.SGD`` with Nesterov momentum, a ``LambdaLR`` cosine schedule stepped per
batch, ``torch.autocast`` and ``torch.amp.GradScaler``, a seeded permutation of data already on
the device, and a validation pass after each epoch, as the trainer does. Both build the model
after ``torch.manual_seed(seed)`` and draw the batch order from one seeded generator, so on the
CPU they train bit for bit alike and their losses can be compared, not only their speed.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from archsearch import Architecture
from archsearch.data import Data, load_data
from archsearch.evaluate.placement import autocast_dtype, memory_format
from archsearch.evaluate.trainer import Trainer
from archsearch.registry import get_space

GIB = 2**30


@dataclass(frozen=True)
class Sizes:
    """How big each part runs: one row per mode (``gpu``, ``dry``) and the tests' ``test``."""

    name: str
    train: int  # training images (synthetic 3x32x32)
    valid: int
    batch: int
    epochs: int
    repeats: int  # timed runs of each loop
    warmup: bool  # one untimed run of each loop first (cuDNN's kernel choice, lazy set-up)
    nasnet_large: tuple[int, int]  # (N cells per stack, F filters)
    nasnet_small: tuple[int, int]
    oom_batch: int
    oom_cap_bytes: int  # gpu: the allocator cap; dry: address space above the child's own
    ray_train: int
    ray_epochs: int
    ray_nasnet: tuple[int, int]
    ray_cpus_per_trial: float
    ray_meet_seconds: float  # how long the barrier waits for all four trials

    def as_json(self) -> dict[str, Any]:
        """The row as the record shows it."""
        return asdict(self)


_GPU = Sizes(
    name="gpu", train=5120, valid=1024, batch=128, epochs=2, repeats=3, warmup=True,
    nasnet_large=(6, 768), nasnet_small=(2, 192),
    oom_batch=256, oom_cap_bytes=4 * GIB,
    ray_train=5120, ray_epochs=4, ray_nasnet=(2, 192), ray_cpus_per_trial=2.0,
    ray_meet_seconds=180.0,
)  # fmt: skip
SIZES = {
    "gpu": _GPU,
    "dry": replace(
        _GPU,
        name="dry",
        train=128,
        valid=64,
        batch=32,
        epochs=1,
        repeats=2,
        nasnet_large=(1, 48),
        nasnet_small=(1, 48),
        oom_batch=64,
        oom_cap_bytes=3 * GIB // 2,
        ray_train=128,
        ray_epochs=1,
        ray_nasnet=(1, 48),
        ray_cpus_per_trial=0.5,
        ray_meet_seconds=240.0,
    ),  # fmt: skip
}
SIZES["test"] = replace(
    SIZES["dry"], name="test", train=32, valid=16, batch=16, repeats=1, warmup=False
)
#: The trainer's settings shared by both loops (the trainer's defaults, batch size aside).
RECIPE = {"lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "eval_batch_size": 1024}
_T0 = time.perf_counter()


def say(message: str) -> None:
    """One progress line, with the seconds since the script started."""
    print(f"[gpu.py +{time.perf_counter() - _T0:6.1f}s] {message}", flush=True)


def synthetic(train: int, valid: int) -> Data:
    """Learnable synthetic CIFAR-sized data (3x32x32, 10 classes)."""
    return load_data("synthetic", shape=(3, 32, 32), classes=10, size=train, valid_size=valid)


def models(sizes: Sizes) -> list[tuple[str, Any, Architecture]]:
    """(name, space, architecture): NASNet-A large and small, and a deeparchitect candidate."""
    from archsearch.spaces.nasnet import genotype

    rows = []
    for label, (cells, filters) in (("large", sizes.nasnet_large), ("small", sizes.nasnet_small)):
        space = get_space("nasnet", cells=cells, filters=filters)
        rows.append((f"nasnet-a {cells}@{filters} ({label})", space, genotype("nasnet-a")))
    da = get_space("deeparchitect")
    rows.append(("deeparchitect sample seed 1", da, da.sample(np.random.default_rng(1))))
    return rows


@contextmanager
def one_thread(device: str) -> Iterator[None]:
    """One torch thread on the CPU, for the trainer and the plain loop alike (then restored)."""
    before = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sync(device: torch.device) -> None:
    """Wait for queued kernels, so a timer reads finished work."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_fit(
    space: Any, arch: Architecture, data: Data, tensors: tuple, sizes: Sizes, amp: str, cl: bool
) -> dict[str, float]:
    """The textbook loop on the same model, data and settings as the trainer; timed."""
    device = tensors[0].device
    dtype = autocast_dtype(amp, device)
    fmt = memory_format(cl, device, data.task.input_shape)
    tx, ty, vx, vy = tensors
    torch.backends.cudnn.benchmark = device.type == "cuda"
    sync(device)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[0] if device.type == "cuda" else []):
        torch.manual_seed(0)
        model = space.build(arch, data.task).to(device=device, memory_format=fmt)
        opt = torch.optim.SGD(
            model.parameters(),
            lr=RECIPE["lr"],
            momentum=RECIPE["momentum"],
            nesterov=True,
            weight_decay=RECIPE["weight_decay"],
        )
        n, bs = len(ty), sizes.batch
        per_epoch = n // bs + (1 if n % bs > 1 else 0)
        total = per_epoch * sizes.epochs
        schedule = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total))
        )
        scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
        order = torch.Generator().manual_seed(0)
        for _ in range(sizes.epochs):
            model.train()
            perm = torch.randperm(n, generator=order).to(device)
            running = torch.zeros((), device=device)
            for b in range(per_epoch):
                idx = perm[b * bs : (b + 1) * bs]
                with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                    out = model(tx[idx])
                loss = F.cross_entropy(out.float(), ty[idx])
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                with warnings.catch_warnings():  # a skipped fp16 step makes LambdaLR warn
                    warnings.simplefilter("ignore", UserWarning)
                    schedule.step()
                running += loss.detach()
            train_loss = float(running) / per_epoch
            model.eval()
            correct = torch.zeros((), device=device, dtype=torch.long)
            val_loss = torch.zeros((), device=device)
            step = RECIPE["eval_batch_size"]
            with torch.inference_mode():
                for i in range(0, len(vy), step):
                    x, y = vx[i : i + step], vy[i : i + step]
                    with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                        out = model(x)
                    val_loss += F.cross_entropy(out.float(), y, reduction="sum")
                    correct += (out.argmax(1) == y).sum()
            accuracy, loss = float(correct) / len(vy), float(val_loss) / len(vy)
    sync(device)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "train_loss": train_loss, "loss": loss, "accuracy": accuracy}


def trainer_for(space: Any, data: Data, sizes: Sizes, device: str, amp: str, cl: bool) -> Trainer:
    """The trainer with the plain loop's settings (counting off: the plain loop counts nothing)."""
    return Trainer(
        space, data, epochs=sizes.epochs, batch_size=sizes.batch, device=device, amp=amp,
        channels_last=cl, threads=None, count_complexity=False, **RECIPE,
    )  # fmt: skip


def trainer_fit(trainer: Trainer, arch: Architecture) -> dict[str, Any]:
    """One timed trainer call (the trainer reads its results back, so the clock sees the end)."""
    device = trainer.resolve_device()
    sync(device)
    start = time.perf_counter()
    _, result = trainer.fit(arch)
    sync(device)
    out = {"seconds": time.perf_counter() - start, "status": result.status}
    if result.status != "ok":
        out["error"] = (result.error or "").splitlines()[-1]
        return out
    return {
        **out,
        "train_loss": result.metrics["train_loss"],
        "loss": result.metrics["loss"],
        "accuracy": result.metrics["accuracy"],
    }


def compare(name: str, space: Any, arch: Architecture, data: Data, sizes: Sizes, device: str,
            amp: str = "auto", cl: bool | None = None) -> dict[str, Any]:  # fmt: skip
    """Trainer vs plain loop, alternating (after a warm-up of each); medians and their ratio."""
    trainer = trainer_for(space, data, sizes, device, amp, cl)
    dev = trainer.resolve_device()
    fmt = memory_format(cl, dev, data.task.input_shape)
    tensors = trainer._tensors(dev, fmt)  # the very tensors the trainer trains on
    images = sizes.train * sizes.epochs
    if sizes.warmup:
        trainer_fit(trainer, arch), plain_fit(space, arch, data, tensors, sizes, amp, cl)
    runs: dict[str, list[dict]] = {"trainer": [], "plain": []}
    for _ in range(sizes.repeats):
        runs["trainer"].append(trainer_fit(trainer, arch))
        runs["plain"].append(plain_fit(space, arch, data, tensors, sizes, amp, cl))
    rate = {k: images / float(np.median([r["seconds"] for r in v])) for k, v in runs.items()}
    row = {
        "model": name,
        "params": sum(p.numel() for p in space.build(arch, data.task).parameters()),
        "amp": amp,
        "autocast_dtype": str(autocast_dtype(amp, dev)),
        "channels_last": fmt == torch.channels_last,
        "trainer_images_per_s": round(rate["trainer"], 1),
        "plain_images_per_s": round(rate["plain"], 1),
        "ratio": round(rate["trainer"] / rate["plain"], 4),
        "runs": runs,
    }
    say(f"  {name}: trainer {row['trainer_images_per_s']} img/s, plain "
        f"{row['plain_images_per_s']} img/s, ratio {row['ratio']}")  # fmt: skip
    return row


def throughput_part(sizes: Sizes, device: str) -> dict[str, Any]:
    """Trainer vs plain loop for each model, AMP and channels-last at their defaults."""
    data = synthetic(sizes.train, sizes.valid)
    with one_thread(device):
        rows = [compare(n, space, arch, data, sizes, device) for n, space, arch in models(sizes)]
    return {
        "what": "train images/s of one whole fit (build, train, a validation pass per epoch), "
        "median of the timed runs; amp 'auto' (bf16 where native, else fp16; off on CPU), "
        "channels-last on CUDA",
        "goal_ratio": 0.95,
        "models": rows,
        "min_ratio": min(r["ratio"] for r in rows),
    }


def precision_part(sizes: Sizes, device: str) -> dict[str, Any]:
    """The small NASNet-A through the trainer in every precision and both memory formats."""
    data = synthetic(sizes.train, sizes.valid)
    name, space, arch = models(sizes)[1]
    rows = []
    for amp in ("off", "bf16", "fp16"):
        for cl in (True, False):
            row: dict[str, Any] = {"amp": amp, "channels_last": cl}
            if amp == "fp16" and device != "cuda":
                rows.append({**row, "status": "skipped", "why": "fp16 autocast needs CUDA"})
                continue
            trainer = trainer_for(space, data, sizes, device, amp, cl)
            with one_thread(device):
                if device == "cuda":
                    trainer_fit(trainer, arch)  # warm-up: cuDNN picks its kernels for this layout
                fit = trainer_fit(trainer, arch)
            row.update(fit, images_per_s=round(sizes.train * sizes.epochs / fit["seconds"], 1))
            row["grad_scaler"] = amp == "fp16"
            rows.append(row)
            say(f"  {amp} channels_last={cl}: {fit['status']}, {row['images_per_s']} img/s")
    return {"model": name, "runs": rows}


def checks(record: dict[str, Any]) -> dict[str, bool]:
    """What the record must show, as booleans (each part's own, where it ran)."""
    p, out = record["parts"], {}
    if "throughput" in p:
        out["throughput_ratio_at_least_0.95"] = p["throughput"]["min_ratio"] >= 0.95
        if record["device"] == "cpu":  # deterministic on the CPU: the same training, bit for bit
            out["trainer_trains_as_the_plain_loop"] = all(
                math.isclose(t[k], q[k], rel_tol=1e-5)
                for k in ("train_loss", "loss")
                for row in p["throughput"]["models"]
                for t, q in zip(row["runs"]["trainer"], row["runs"]["plain"])
            )
    if "precision" in p:
        out["every_precision_trains"] = all(
            r["status"] in ("ok", "skipped") and math.isfinite(r.get("train_loss", 0.0))
            for r in p["precision"]["runs"]
        )
    if "oom" in p:
        trials = p["oom"]["trials"]
        out["too_big_fails_then_next_trains"] = [t["status"] for t in trials] == [
            "ok", "failed", "ok"
        ] and "out of memory" in trials[1].get("error", "")  # fmt: skip
        if record["device"] == "cuda":
            cap = p["oom"]["limit"]["cap_bytes"]
            out["oom_memory_handed_back"] = trials[1]["reserved_after_bytes"] < cap / 4
    if "ray" in p:
        out.update(p["ray"]["checks"])
    return out
