"""The Ray part of ``benchmarks/gpu.py``: four trials on quarter shares of one GPU.

The search is a real one (random search on the NASNet space, the default trainer) through the
Ray executor with ``gpus_per_trial=0.25``. The evaluator is wrapped in :class:`Probe`, which
records, inside each trial: the process, ``CUDA_VISIBLE_DEVICES`` and Ray's GPU ids, when the
trial started and ended, the allocator cap the executor set and the trial's peak memory. A
barrier in the probe passes only once all four trials are running, so "all four at once" is
not inferred from timing but required (a scheduler that ran them two by two would time out
the barrier). While the search runs, the driver samples GPU utilization and the memory of each
process on the GPU (NVML through ``pynvml``, else ``nvidia-smi``, else torch's own reading).
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch

from archsearch.api import search
from archsearch.data import load_data
from archsearch.evaluate.ray_local import local_cluster
from archsearch.evaluate.trainer import Trainer
from archsearch.registry import get_space

TRIALS = 4
SHARE = 1.0 / TRIALS


class Probe:
    """The trainer, instrumented: where and when each trial ran and what memory it used."""

    def __init__(self, trainer: Trainer, folder: str, meet: int, meet_seconds: float) -> None:
        self.trainer, self.epochs = trainer, trainer.epochs
        self.folder, self.meet, self.meet_seconds = folder, meet, meet_seconds

    def __call__(self, arch: Any, *, report: Any = None, epochs: int | None = None) -> Any:
        """Wait for the other trials, train, write this trial's line."""
        import ray

        rec: dict[str, Any] = {
            "pid": os.getpid(),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "ray_gpu_ids": [str(i) for i in ray.get_gpu_ids()],
            "placed": time.time(),
        }
        here = Path(self.folder, "meet")
        here.mkdir(exist_ok=True)
        (here / f"{os.getpid()}-{time.time_ns()}").touch()
        while (
            len(os.listdir(here)) < self.meet and time.time() < rec["placed"] + self.meet_seconds
        ):
            time.sleep(0.02)
        rec["met"] = len(os.listdir(here))
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
            read = getattr(torch.cuda, "get_per_process_memory_fraction", None)
            rec["cap_fraction"] = read(0) if read else None
            rec["total_bytes"] = torch.cuda.get_device_properties(0).total_memory
        rec["start"] = time.time()
        result = self.trainer(arch, report=report, epochs=epochs)
        rec["end"] = time.time()
        if cuda:
            rec["peak_allocated_bytes"] = torch.cuda.max_memory_allocated()
            rec["peak_reserved_bytes"] = torch.cuda.max_memory_reserved()
        rec["device"] = str(self.trainer.resolve_device())
        rec["status"], rec["accuracy"] = result.status, result.metrics.get("accuracy")
        rec["error"] = result.error.splitlines()[-1] if result.error else None
        Path(self.folder, f"trial-{os.getpid()}-{time.time_ns()}.json").write_text(json.dumps(rec))
        return result


class Sampler(threading.Thread):
    """GPU utilization and per-process GPU memory every ``interval`` seconds, in the driver."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval, self.samples, self.source = interval, [], None
        self.done = threading.Event()
        self._read = self._pick()

    def _pick(self) -> Any:
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self.source = "pynvml"

            def nvml() -> dict[str, Any]:
                util = pynvml.nvmlDeviceGetUtilizationRates(handle)
                try:
                    procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
                    per = {str(p.pid): p.usedGpuMemory for p in procs}
                except pynvml.NVMLError:
                    per = None
                return {"gpu_percent": util.gpu, "memory_percent": util.memory, "processes": per}

            return nvml
        except Exception:  # no pynvml, or NVML not usable here: try the next source
            pass
        if shutil.which("nvidia-smi"):
            self.source = "nvidia-smi"
            query = ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                     "--format=csv,noheader,nounits", "--id=0"]  # fmt: skip

            def smi() -> dict[str, Any]:
                gpu, used = subprocess.run(query, capture_output=True, text=True).stdout.split(",")
                return {"gpu_percent": float(gpu), "memory_used_mib": float(used)}

            return smi
        if torch.cuda.is_available():
            self.source = "torch.cuda.utilization"
            return lambda: {"gpu_percent": torch.cuda.utilization(0)}
        return None

    def run(self) -> None:
        """Sample until stopped (nothing where no source is available)."""
        while self._read is not None and not self.done.wait(self.interval):
            try:
                self.samples.append({"t": time.time(), **self._read()})
            except Exception as e:  # a reading that fails once is recorded, not fatal
                self.samples.append({"t": time.time(), "error": f"{type(e).__name__}: {e}"})

    def summary(self, start: float, end: float) -> dict[str, Any]:
        """Mean and peak utilization while trials trained, and the GPU processes seen."""
        inside = [s for s in self.samples if start <= s["t"] <= end and "gpu_percent" in s]
        if self._read is None:
            return {"source": None, "why": "no CUDA device: nothing to sample"}
        gpu = [float(s["gpu_percent"]) for s in inside]
        seen = max((len(s.get("processes") or {}) for s in inside), default=0)
        return {
            "source": self.source,
            "interval_s": self.interval,
            "samples_while_training": len(gpu),
            "mean_gpu_percent": round(sum(gpu) / len(gpu), 1) if gpu else None,
            "max_gpu_percent": max(gpu) if gpu else None,
            "max_processes_on_gpu": seen if self.source == "pynvml" else None,
            "samples": self.samples,
        }


def overlap(trials: list[dict[str, Any]]) -> int:
    """The most trials training at one moment, from their start and end times."""
    events = sorted([(t["start"], 1) for t in trials] + [(t["end"], -1) for t in trials])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def ray_part(sizes: Any, device: str) -> dict[str, Any]:
    """Four quarter-GPU trials through the Ray executor; the record of each and the checks."""
    import ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if device == "cuda":  # the driver's own cached blocks go back before the trials start
        gc.collect()
        torch.cuda.empty_cache()
    gpus = 1  # one GPU shared by four trials; in the dry mode a logical one (no device)
    cpus = max(1, math.ceil(TRIALS * sizes.ray_cpus_per_trial))
    t0 = time.perf_counter()
    # A fresh instance of our own (even where a `ray start` cluster runs), token-protected
    # like the executor's.
    cluster = contextlib.ExitStack()
    cluster.enter_context(local_cluster(
        num_cpus=cpus, num_gpus=gpus, include_dashboard=False, log_to_driver=False
    ))  # fmt: skip
    init_seconds = time.perf_counter() - t0
    sampler = Sampler()
    sampler.start()
    cells, filters = sizes.ray_nasnet
    space = get_space("nasnet", cells=cells, filters=filters)
    data = load_data("synthetic", shape=(3, 32, 32), classes=10, size=sizes.ray_train,
                     valid_size=max(64, sizes.ray_train // 8))  # fmt: skip
    trainer = Trainer(space, data, epochs=sizes.ray_epochs, batch_size=sizes.batch)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            probe = Probe(trainer, tmp, TRIALS, sizes.ray_meet_seconds)
            address = ray.get_runtime_context().gcs_address
            t1 = time.perf_counter()
            run = search(
                space, "random", evaluator=probe, budget=TRIALS, out=tmp, dataset=data,
                progress=False, report=False, executor="ray",
                executor_options={"gpus_per_trial": SHARE, "address": address,
                                  "cpus_per_trial": sizes.ray_cpus_per_trial},
            )  # fmt: skip
            search_seconds = time.perf_counter() - t1
            statuses = [r.result.status for r in run.records()]
            trials = [json.loads(p.read_text()) for p in sorted(Path(tmp).glob("trial-*.json"))]
    finally:
        sampler.done.set()
        sampler.join()
        cluster.close()
    for t in trials:
        if t.get("cap_fraction") is not None:
            t["cap_bytes"] = int(t["cap_fraction"] * t["total_bytes"])
            t["within_cap"] = t["peak_reserved_bytes"] <= t["cap_bytes"]
    start = min((t["start"] for t in trials), default=0.0)
    end = max((t["end"] for t in trials), default=0.0)
    visible = {t["cuda_visible_devices"] for t in trials}
    checks = {
        "four_trials_journaled_ok": statuses == ["ok"] * TRIALS,
        "four_trials_at_once": len(trials) == TRIALS
        and all(t["met"] >= TRIALS for t in trials)
        and overlap(trials) == TRIALS,
        "four_processes": len({t["pid"] for t in trials}) == TRIALS,
        "same_gpu_visible_to_all": len(visible) == 1 and visible != {None} and visible != {""},
    }
    if device == "cuda":
        checks["each_within_its_cap"] = all(t.get("within_cap") for t in trials)
        checks["each_trained_on_cuda"] = all(t["device"].startswith("cuda") for t in trials)
    return {
        "space": f"nasnet {cells}@{filters}, random search",
        "gpus_per_trial": SHARE,
        "cpus_per_trial": sizes.ray_cpus_per_trial,
        "ray_gpus": gpus if device == "cuda" else "1 logical GPU (no device: trials train on CPU)",
        "ray_init_seconds": round(init_seconds, 2),
        "search_seconds": round(search_seconds, 2),
        "max_trials_training_at_once": overlap(trials),
        "trials": [
            {
                **t,
                "start": round(t["start"] - start, 3),
                "end": round(t["end"] - start, 3),
                "placed": round(t["placed"] - start, 3),
            }
            for t in trials
        ],  # fmt: skip
        "utilization": sampler.summary(start, end),
        "checks": checks,
    }
