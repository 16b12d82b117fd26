"""The trainer and call_evaluator: learning, determinism, failures as failed results."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from archsearch import Architecture, FunctionSpace, Result, Trial
from archsearch.complexity import count
from archsearch.data import load_data
from archsearch.evaluate.base import call_evaluator
from archsearch.evaluate.trainer import Trainer


class _Broken(nn.Module):
    def __init__(self, how: str, classes: int) -> None:
        super().__init__()
        self.how, self.fc = how, nn.Linear(1, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.how == "oom":
            raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")
        if self.how == "raise":
            raise ValueError("shape trouble in the candidate")
        return self.fc(x.mean((1, 2, 3))[:, None]) * math.nan


def small_cnn(choose, kinds=("ok", "ok2", "nan", "raise", "oom")):
    """A two-decision conv net (and three broken variants) for the tests."""
    width = choose("width", [8, 16])
    kind = choose("kind", list(kinds))

    def make(task):
        if kind not in ("ok", "ok2"):
            return _Broken(kind, task.num_classes)
        c = task.input_shape[0]
        return nn.Sequential(
            nn.Conv2d(c, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(16 * width, task.num_classes),
        )

    return make


SPACE = FunctionSpace(small_cnn, name="small")
DATA = load_data("synthetic", shape=(1, 8, 8), classes=5, size=320, valid_size=160, noise=0.7)


def arch(width: int = 8, kind: str = "ok") -> Architecture:
    return Architecture("small", {"width": width, "kind": kind})


def test_trainer_learns_and_reports_each_epoch() -> None:
    seen = []
    trainer = Trainer(SPACE, DATA, epochs=3, batch_size=32, lr=0.05, device="cpu")
    r = trainer(arch(), report=lambda e, m: seen.append((e, m)))
    assert r.status == "ok", r.error
    assert r.metrics["accuracy"] > 0.6  # chance is 0.2
    assert [e for e, _ in seen] == [1, 2, 3] and set(seen[0][1]) == {"accuracy", "loss"}
    assert [h["epoch"] for h in r.history] == [1, 2, 3]
    assert r.history[-1]["accuracy"] == r.metrics["accuracy"]
    assert r.metrics["train_seconds"] > 0 and math.isfinite(r.metrics["loss"])
    model = SPACE.build(arch(), DATA.task)
    assert r.cost == count(model, DATA.task.input_shape)


def test_same_seed_same_result_and_epoch_override() -> None:
    a = Trainer(SPACE, DATA, epochs=2, seed=7, device="cpu")(arch(16))
    b = Trainer(SPACE, DATA, epochs=2, seed=7, device="cpu")(arch(16))
    c = Trainer(SPACE, DATA, epochs=2, seed=8, device="cpu")(arch(16))
    assert (
        a.metrics["loss"] == b.metrics["loss"] and a.metrics["accuracy"] == b.metrics["accuracy"]
    )
    assert a.metrics["loss"] != c.metrics["loss"]
    one = Trainer(SPACE, DATA, epochs=2, seed=7, device="cpu")(arch(16), epochs=1)
    assert len(one.history) == 1
    assert one.history == Trainer(SPACE, DATA, epochs=1, seed=7, device="cpu")(arch(16)).history


@pytest.mark.parametrize(
    "kind, message",
    [
        ("nan", "training loss is nan in epoch 1"),
        ("raise", "ValueError: shape trouble in the candidate"),
        ("oom", "out of memory: CUDA out of memory"),
    ],
)
def test_broken_candidates_become_failed_results(kind: str, message: str) -> None:
    r = Trainer(SPACE, DATA, epochs=1, device="cpu")(arch(kind=kind))
    assert r.status == "failed" and message in r.error


def test_out_of_memory_is_recognized() -> None:
    from archsearch.evaluate.failures import failure_text, is_out_of_memory

    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: 9 GB"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("size mismatch"))
    assert failure_text(MemoryError()) == "out of memory: MemoryError"


def test_max_steps_and_trainer_errors() -> None:
    steps = []
    r = Trainer(SPACE, DATA, epochs=5, batch_size=64, max_steps=7, device="cpu")(
        arch(), report=lambda e, m: steps.append(e)
    )
    assert r.status == "ok" and steps == [1, 2]  # 5 batches per epoch: 7 steps end in epoch 2
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        Trainer(SPACE, DATA, epochs=0)
    with pytest.raises(ValueError, match="optimizer 'lbfgs' is not allowed"):
        Trainer(SPACE, DATA, optimizer="lbfgs")
    with pytest.raises(ValueError, match="amp='fp16' needs a CUDA device"):
        Trainer(SPACE, DATA, device="cpu", amp="fp16")._amp_dtype(torch.device("cpu"))


def test_call_evaluator_passes_what_is_accepted() -> None:
    trial = Trial(3, arch(), {"epochs": 2, "note": "x"})
    got = {}

    def plain(a):
        return {"accuracy": 0.5}

    def with_report(a, *, report=None, epochs=None):
        got.update(report=report, epochs=epochs)
        return Result(metrics={"accuracy": 0.7})

    def fails(a):
        raise RuntimeError("boom")

    rep = lambda e, m: None  # noqa: E731
    assert call_evaluator(plain, trial, rep).metrics == {"accuracy": 0.5}
    assert call_evaluator(with_report, trial, rep).metrics == {"accuracy": 0.7}
    assert got == {"report": rep, "epochs": 2}
    bad = call_evaluator(fails, trial)
    assert (
        bad.status == "failed" and "Traceback" in bad.error and "RuntimeError: boom" in bad.error
    )
    wrong = call_evaluator(lambda a: 0.3, trial)
    assert wrong.status == "failed" and "expected a Result or a dict of metrics" in wrong.error
    nan = call_evaluator(lambda a: {"accuracy": math.nan}, trial)
    assert nan.status == "failed" and "non-finite accuracy" in nan.error

    def interrupted(a):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        call_evaluator(interrupted, trial)


def test_cpu_autocast_and_channels_last_paths() -> None:
    r = Trainer(SPACE, DATA, epochs=1, device="cpu", amp="bf16", channels_last=True)(arch())
    assert r.status == "ok" and r.metrics["accuracy"] > 0.3


def test_search_trains_with_the_default_trainer(tmp_path) -> None:
    from archsearch.api import search

    working = FunctionSpace(lambda choose: small_cnn(choose, ("ok", "ok2")), name="small")
    run = search(
        working,
        dataset=DATA,
        budget=3,
        epochs=1,
        out=tmp_path,
        progress=False,
        report=False,
        trainer_options={"device": "cpu", "batch_size": 64},
    )
    records = run.records()
    assert len(records) == 3 and run.config["dataset"] == "synthetic"
    for r in records:
        assert r.result.status == "ok", r.result.error
        assert r.result.metrics["accuracy"] > 0.5  # 5 classes: chance is 0.2
        assert r.result.cost["params"] > 0 and len(r.result.history) == 1


class _OwnEvaluation(FunctionSpace):
    def evaluator(self, data, **options):
        assert options["epochs"] == 2 and options["run_path"].is_dir()
        return lambda a: {"accuracy": float(a["width"]) / 100, "classes": data.task.num_classes}


def test_search_uses_the_space_evaluator_hook(tmp_path) -> None:
    from archsearch.api import search

    space = _OwnEvaluation(small_cnn, name="small")
    run = search(
        space, dataset=DATA, budget=4, epochs=2, out=tmp_path, progress=False, report=False
    )
    assert all(r.result.metrics["classes"] == 5 for r in run.records())
    assert run.best().result.metrics["accuracy"] in (0.08, 0.16)


def test_thread_policy(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # the shell's setting would win
    cpu = torch.device("cpu")
    before = torch.get_num_threads()
    assert Trainer(SPACE, DATA, threads=1).cpu_threads(cpu) == 1
    assert 1 <= Trainer(SPACE, DATA).cpu_threads(cpu) <= before
    assert Trainer(SPACE, DATA, threads=None).cpu_threads(cpu) is None
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as inside a Ray worker
    assert Trainer(SPACE, DATA, threads=4).cpu_threads(cpu) is None
    with pytest.raises(ValueError, match="threads must be 'auto', None or an integer >= 1"):
        Trainer(SPACE, DATA, threads=0)
    Trainer(SPACE, DATA, epochs=1, threads=1, device="cpu")(arch())
    assert torch.get_num_threads() == before  # restored after the call


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_steps": 0}, "max_steps must be >= 1"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"schedule": "step"}, "schedule 'step' is not allowed"),
        ({"amp": "int8"}, "amp 'int8' is not allowed"),
    ],
)
def test_trainer_options_are_validated(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Trainer(SPACE, DATA, **options)


def test_epoch_override_is_validated_and_schedules_work() -> None:
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        Trainer(SPACE, DATA)(arch(), epochs=0)
    for opts in ({"optimizer": "adamw", "lr": 0.01}, {"schedule": "constant", "warmup_epochs": 1}):
        r = Trainer(SPACE, DATA, epochs=2, device="cpu", **opts)(arch())
        assert r.status == "ok" and r.metrics["accuracy"] > 0.4, opts


def test_devices_and_out_of_memory_by_type() -> None:
    from archsearch.evaluate.failures import is_out_of_memory
    from archsearch.evaluate.placement import resolve_device, share_fraction

    with pytest.raises(ValueError, match="device 'gpu0' is not a device; expected 'auto'"):
        Trainer(SPACE, DATA, device="gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda:0' but this process sees 0 CUDA"):
            resolve_device("cuda:0")
    assert resolve_device("cpu").type == "cpu"
    # The caching allocator's own exception is recognized by its type, whatever it says.
    assert is_out_of_memory(torch.OutOfMemoryError("allocator cap reached"))
    assert is_out_of_memory(RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED"))
    # A quarter of an 80 GiB GPU less 0.75 GiB of context; a tiny share keeps half of itself.
    assert share_fraction(0.25, 80 * 2**30) == pytest.approx(19.25 / 80)
    assert share_fraction(0.25, 2**30) == 0.125
