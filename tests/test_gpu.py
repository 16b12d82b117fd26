"""The CUDA paths for real (``-m gpu``, skipped without CUDA), and benchmarks/gpu.py's dry mode.

The GPU tests train on the device itself: model and batches on CUDA, bf16 and fp16 autocast
(fp16 through a GradScaler), channels-last, a real ``torch.OutOfMemoryError`` under an
allocator cap becoming a failed trial with the cache emptied and the next trial fine, and two
half-GPU Ray trials running at once on the same GPU. The dry-mode tests run the benchmark's
parts on the CPU at its smallest sizes, in the default suite.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from archsearch import FunctionSpace, Result, Strategy
from archsearch.api import search
from archsearch.data import load_data
from archsearch.evaluate.failures import failure_text, is_out_of_memory
from archsearch.evaluate.placement import share_fraction
from archsearch.evaluate.trainer import Trainer
from archsearch.strategy import Exhausted

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
CUDA = torch.cuda.is_available()
gpu = pytest.mark.gpu
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
DATA = load_data("synthetic", shape=(3, 16, 16), classes=4, size=256, valid_size=64, noise=0.5)
SEEN: dict[str, object] = {}


class Looking(nn.Module):
    """A small conv net that notes where its input lives and what its conv computes in."""

    def __init__(self, width: int, classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.head = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(4))
        self.fc = nn.Linear(16 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Record the batch's device and layout and the conv's output dtype, then classify."""
        h = self.conv(x)
        if self.training:
            SEEN.update(
                device=x.device.type,
                channels_last=x.is_contiguous(memory_format=torch.channels_last)
                and not x.is_contiguous(),
                conv_dtype=h.dtype,
                weight_device=self.conv.weight.device.type,
            )
        return self.fc(self.head(h).flatten(1))


def looking(choose):
    """Widths 16 (trains) and 16384 (at batch 256 its first activation is twice a 1 GiB cap)."""
    width = choose("width", [16, 16384])
    return lambda task: Looking(width, task.num_classes)


SPACE = FunctionSpace(looking, name="looking")


class Listed(Strategy):
    """Asks the given widths in order."""

    def __init__(self, space, widths, objectives=None, seed=0):
        super().__init__(space, objectives, seed)
        self.widths = widths

    def ask(self):
        if self.n_asked >= len(self.widths):
            raise Exhausted("done")
        return self._trial(self.space.validate({"width": self.widths[self.n_asked]}))


def small(**options) -> Trainer:
    return Trainer(SPACE, DATA, epochs=2, batch_size=32, count_complexity=False, **options)


@gpu
@needs_cuda
def test_model_and_batches_on_cuda_channels_last_by_default():
    model, result = small().fit({"width": 16})
    assert result.status == "ok", result.error
    assert result.metrics["accuracy"] > 0.5  # 4 classes: chance is 0.25
    assert SEEN["device"] == "cuda" and SEEN["weight_device"] == "cuda"
    assert SEEN["channels_last"] is True  # the data was stored channels-last once
    assert model.conv.weight.is_contiguous(memory_format=torch.channels_last)
    major = torch.cuda.get_device_capability(0)[0]
    assert SEEN["conv_dtype"] == (torch.bfloat16 if major >= 8 else torch.float16)
    small(channels_last=False).fit({"width": 16})
    assert SEEN["channels_last"] is False


@gpu
@needs_cuda
@pytest.mark.parametrize("amp, dtype", [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_amp_both_ways(monkeypatch, amp, dtype):
    scalers = []
    real = torch.amp.GradScaler

    class Spy(real):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            scalers.append(self)

    monkeypatch.setattr(torch.amp, "GradScaler", Spy)
    result = small(amp=amp).fit({"width": 16})[1]
    assert result.status == "ok" and math.isfinite(result.metrics["loss"]), result.error
    assert result.metrics["accuracy"] > 0.5
    assert SEEN["conv_dtype"] == dtype
    assert [s.is_enabled() for s in scalers] == [amp == "fp16"]  # a scaler for fp16 only
    if amp == "fp16":
        assert scalers[0].get_scale() > 1.0  # the loss was scaled


@gpu
@needs_cuda
def test_a_real_cuda_oom_is_recognized():
    total = torch.cuda.get_device_properties(0).total_memory
    with pytest.raises(torch.cuda.OutOfMemoryError) as caught:
        torch.empty(2 * total, dtype=torch.uint8, device="cuda")
    assert is_out_of_memory(caught.value)
    assert failure_text(caught.value).startswith("out of memory: CUDA out of memory")


class Reserved:
    """The trainer, plus what the caching allocator still holds after each trial."""

    def __init__(self, trainer):
        self.trainer = trainer

    def __call__(self, arch):
        result = self.trainer(arch)
        result.cost["reserved_after"] = float(torch.cuda.memory_reserved())
        return result


@gpu
@needs_cuda
def test_cuda_oom_fails_the_trial_empties_the_cache_and_the_next_trains(tmp_path, monkeypatch):
    emptied = []
    real_empty = torch.cuda.empty_cache
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: (emptied.append(1), real_empty()))
    total = torch.cuda.get_device_properties(0).total_memory
    cap = 2**30
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(cap / total, 0)
    try:
        trainer = small(batch_size=256)  # width 16384: 256 x 16384 x 16 x 16 x 2 B = 2 GiB
        run = search(
            SPACE, Listed(SPACE, [16, 16384, 16]), evaluator=Reserved(trainer), budget=3,
            out=tmp_path, dataset=DATA, progress=False, report=False,
        )  # fmt: skip
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
    first, big, after = (r.result for r in run.records())
    assert [first.status, big.status, after.status] == ["ok", "failed", "ok"], big.error
    assert big.error.startswith("out of memory: CUDA out of memory"), big.error
    assert emptied  # the trainer handed the failed candidate's blocks back
    assert big.cost["reserved_after"] < cap / 4
    assert after.metrics["accuracy"] > 0.5


class Placed:
    """A Ray trial that waits for its neighbour and reports what GPU it sees."""

    def __init__(self, meet: str, log: str) -> None:
        self.meet, self.log = meet, log

    def __call__(self, arch):
        start = time.time()
        Path(self.meet, f"{os.getpid()}-{time.time_ns()}").touch()
        while len(os.listdir(self.meet)) < 2 and time.time() < start + 120:
            time.sleep(0.01)
        x = torch.ones(1024, device="cuda")  # the trial really computes on its GPU
        read = getattr(torch.cuda, "get_per_process_memory_fraction", lambda i: None)
        seen = {
            "visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "fraction": read(0),
            "uuid": str(getattr(torch.cuda.get_device_properties(0), "uuid", "")),
            "total": torch.cuda.get_device_properties(0).total_memory,
            "sum": float(x.sum()),
            "start": start,
            "end": time.time(),
        }
        Path(self.log, f"{os.getpid()}.json").write_text(json.dumps(seen))
        return Result(metrics={"accuracy": 1.0})


@gpu
@needs_cuda
def test_two_half_gpu_ray_trials_share_one_gpu_at_once(tmp_path):
    ray = pytest.importorskip("ray")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    meet, log = tmp_path / "meet", tmp_path / "log"
    meet.mkdir(), log.mkdir()
    space = FunctionSpace(lambda choose: choose("width", [16, 32]), name="w")
    run = search(
        space, "random", evaluator=Placed(str(meet), str(log)), budget=2, out=tmp_path,
        progress=False, report=False, executor="ray",
        executor_options={"gpus_per_trial": 0.5, "concurrency": 2},
    )  # fmt: skip
    assert [r.result.status for r in run.records()] == ["ok", "ok"]
    seen = [json.loads(p.read_text()) for p in log.glob("*.json")]
    assert len(seen) == 2 and len(os.listdir(meet)) == 2  # two processes met
    assert seen[0]["visible"] == seen[1]["visible"] and seen[0]["visible"] not in (None, "")
    assert seen[0]["uuid"] == seen[1]["uuid"]
    assert max(s["start"] for s in seen) < min(s["end"] for s in seen)  # they overlapped
    assert all(s["sum"] == 1024.0 for s in seen)
    if seen[0]["fraction"] is not None:
        assert seen[0]["fraction"] == pytest.approx(share_fraction(0.5, seen[0]["total"]))


# The dry mode of benchmarks/gpu.py, in the default suite.


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    import gpu
    import gpu_parts

    yield gpu, gpu_parts
    sys.path.remove(str(BENCH))


def test_dry_throughput_trains_exactly_as_the_plain_loop(bench):
    _, parts = bench
    part = parts.throughput_part(parts.SIZES["test"], "cpu")
    assert [r["model"].split(" (")[0] for r in part["models"]] == [
        "nasnet-a 1@48", "nasnet-a 1@48", "deeparchitect sample seed 1"
    ]  # fmt: skip
    for row in part["models"]:
        for t, q in zip(row["runs"]["trainer"], row["runs"]["plain"]):
            assert t["status"] == "ok"
            assert t["train_loss"] == pytest.approx(q["train_loss"], rel=1e-5)
            assert t["loss"] == pytest.approx(q["loss"], rel=1e-5)
        assert row["ratio"] > 0 and row["autocast_dtype"] == "None"
    record = {"device": "cpu", "parts": {"throughput": part}}
    assert parts.checks(record)["trainer_trains_as_the_plain_loop"]


def test_dry_record_says_so_and_its_oom_is_a_real_allocation_limit(bench, tmp_path, capsys):
    gpu, _ = bench
    out = tmp_path / "gpu.json"
    record = gpu.main(["--dry", "--sizes", "test", "--parts", "oom", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(record))
    assert record["mode"] == "dry" and record["device"] == "cpu"
    assert "no GPU figure exists yet" in record["note"]
    part = record["parts"]["oom"]  # run in a child process under RLIMIT_AS
    assert part["limit"]["kind"].startswith("resource.setrlimit(RLIMIT_AS)")
    assert [t["status"] for t in part["trials"]] == ["ok", "failed", "ok"]
    assert "can't allocate memory" in part["trials"][1]["error"]
    assert record["checks"] == {"too_big_fails_then_next_trains": True}
    with pytest.raises(SystemExit) as e:
        gpu.main(["--parts", "warp"])
    assert e.value.code == 2
    assert "unknown part(s) ['warp']; allowed: throughput, precision, oom, ray" in (
        capsys.readouterr().err
    )


def test_dry_precision_skips_fp16_on_the_cpu(bench, monkeypatch):
    _, parts = bench
    monkeypatch.setattr(parts, "trainer_fit", lambda trainer, arch: {
        "seconds": 1.0, "status": "ok", "train_loss": 1.0, "amp": trainer.amp,
        "channels_last": trainer.channels_last,
    })  # fmt: skip
    runs = parts.precision_part(parts.SIZES["test"], "cpu")["runs"]
    assert [(r["amp"], r["channels_last"], r["status"]) for r in runs] == [
        ("off", True, "ok"), ("off", False, "ok"), ("bf16", True, "ok"), ("bf16", False, "ok"),
        ("fp16", True, "skipped"), ("fp16", False, "skipped"),
    ]  # fmt: skip
    assert parts.checks({"device": "cpu", "parts": {"precision": {"runs": runs}}}) == {
        "every_precision_trains": True
    }


def test_overlap_counts_trials_running_at_once(bench):
    import gpu_ray

    at = [{"start": 0, "end": 4}, {"start": 1, "end": 5}, {"start": 2, "end": 3}]
    assert gpu_ray.overlap(at) == 3
    assert gpu_ray.overlap([{"start": 0, "end": 1}, {"start": 2, "end": 3}]) == 1


@pytest.mark.slow
def test_dry_ray_part_runs_four_quarter_gpu_trials_at_once(tmp_path):
    out = tmp_path / "ray.json"
    cmd = [sys.executable, str(BENCH / "gpu.py"), "--dry", "--sizes", "test", "--parts", "ray"]
    subprocess.run([*cmd, "--out", str(out)], check=True, timeout=600)
    ray = json.loads(out.read_text())["parts"]["ray"]
    assert ray["checks"] == {
        "four_trials_journaled_ok": True,
        "four_trials_at_once": True,
        "four_processes": True,
        "same_gpu_visible_to_all": True,
    }
    assert {t["cuda_visible_devices"] for t in ray["trials"]} == {"0"}
