"""The out-of-memory part of ``benchmarks/gpu.py``: small, too big, small, under a memory cap.

On CUDA the cap is PyTorch's own (``torch.cuda.set_per_process_memory_fraction``), so the big
candidate raises a real ``torch.OutOfMemoryError`` inside the trainer; after each trial the
allocator's reserved bytes are read, to see that the failed candidate's blocks went back. On
the CPU the cap is an address-space limit (``RLIMIT_AS``) on a child process, so the CPU
allocator's own "can't allocate memory" error is the one the trainer meets.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from gpu_parts import Sizes, synthetic

from archsearch import FunctionSpace, Strategy
from archsearch.api import search
from archsearch.evaluate.trainer import Trainer
from archsearch.strategy import Exhausted, Trial

#: The OOM part's candidates: a stem conv this wide. At the big width the stem's output alone
#: (batch x 16384 x 32 x 32) is 8 GiB in bf16 at the gpu batch, 4 GiB in fp32 at the dry batch.
PROBE_WIDTHS = (32, 16384)


def _probe_space(choose: Any) -> Any:
    """One stem conv of a chosen width: 32 trains; 16384 is too big for the memory cap."""
    width = choose("width", list(PROBE_WIDTHS))

    def make(task: Any) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(task.input_shape[0], width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(width, task.num_classes),
        )

    return make


class Listed(Strategy):
    """Asks the given widths once each, in order."""

    def __init__(self, space: Any, widths: list[int], objectives: Any = None, seed: int = 0):
        super().__init__(space, objectives, seed)
        self.widths = widths

    def ask(self) -> Trial:
        """The next width, then Exhausted."""
        if self.n_asked >= len(self.widths):
            raise Exhausted("all widths asked")
        return self._trial(self.space.validate({"width": self.widths[self.n_asked]}))


class Memory:
    """The trainer, plus the allocator's reserved bytes after each trial (empty_cache's work)."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer, self.epochs = trainer, trainer.epochs

    def __call__(self, arch: Any, *, report: Any = None) -> Any:
        """Train, then read what the allocator still holds."""
        result = self.trainer(arch, report=report)
        if torch.cuda.is_available() and self.trainer.resolve_device().type == "cuda":
            result.cost["reserved_after_bytes"] = float(torch.cuda.memory_reserved())
            result.cost["peak_reserved_bytes"] = float(torch.cuda.max_memory_reserved())
            torch.cuda.reset_peak_memory_stats()
        return result


def oom_part(sizes: Sizes, device: str, child: bool = False) -> dict[str, Any]:
    """Small, too big, small: through a local search, under a memory cap."""
    limit: dict[str, Any] = {}
    if device == "cuda":
        total = torch.cuda.get_device_properties(0).total_memory
        gc.collect()  # the earlier parts' models and data go before the cap is set
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(sizes.oom_cap_bytes / total, 0)
        torch.cuda.reset_peak_memory_stats()
        limit = {
            "kind": "torch.cuda.set_per_process_memory_fraction",
            "cap_bytes": sizes.oom_cap_bytes,
        }
    elif child:
        limit = _limit_address_space(sizes.oom_cap_bytes)
    space = FunctionSpace(_probe_space, name="probe")
    data = synthetic(sizes.oom_batch * 2, sizes.oom_batch)
    trainer = Trainer(space, data, epochs=1, batch_size=sizes.oom_batch, device=device,
                      threads=None, count_complexity=False)  # fmt: skip
    small, big = PROBE_WIDTHS
    widths = [small, big, small]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run = search(
                space, Listed(space, widths), evaluator=Memory(trainer), budget=3, out=tmp,
                dataset=data, progress=False, report=False,
            )  # fmt: skip
            records = run.records()
    finally:
        if device == "cuda":
            torch.cuda.set_per_process_memory_fraction(1.0, 0)
    trials = []
    for r in records:
        row = {"width": r.trial.arch["width"], "status": r.result.status, **r.result.cost}
        if r.result.error:
            row["error"] = r.result.error.splitlines()[0][:300]
        else:
            row["accuracy"] = r.result.metrics["accuracy"]
        trials.append(row)
    return {"limit": limit, "trials": trials}


def _limit_address_space(headroom: int) -> dict[str, Any]:
    """Cap this process's address space at what it maps now plus ``headroom`` (Linux)."""
    import resource

    mapped = _vm_size()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + headroom, mapped + headroom))
    return {"kind": "resource.setrlimit(RLIMIT_AS) in a child process",
            "mapped_bytes": mapped, "headroom_bytes": headroom}  # fmt: skip


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status: the dry OOM part needs Linux")


def oom_in_child(sizes: Sizes, script: Path) -> dict[str, Any]:
    """The dry OOM part in a child process, so the address-space limit binds it alone."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(script), "--oom-child", "--sizes", sizes.name]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"the OOM child failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
