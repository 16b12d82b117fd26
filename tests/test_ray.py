"""The Ray executor end to end on CPUs, with one Ray instance for the whole file.

Evaluators here are deterministic functions of the architecture, so the Ray executor's journal
can be compared with the local executor's trial by trial.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from archsearch import FunctionSpace, Result, Strategy, Trial
from archsearch.api import search
from archsearch.evaluate.ray import RayExecutor
from archsearch.strategies.random import RandomSearch

ray = pytest.importorskip("ray")


def toy(choose):
    """A flat toy space: 3 x 3 x 5 points."""
    choose("a", [1, 2, 3])
    choose("b", [0.0, 0.5, 1.0])
    choose("mode", ["ok", "raise", "nan", "die", "flaky"])


SPACE = FunctionSpace(toy, name="toy")


def value(arch) -> float:
    return arch["a"] * 0.1 + arch["b"]


class Scored:
    """Accuracy = a/10 + b, reported over ``epochs``; the decision ``mode`` injects faults."""

    def __init__(
        self,
        epochs: int = 2,
        sleep: float = 0.05,
        marker: str | None = None,
        meet: str = "",
        touch: str = "",
    ) -> None:
        self.epochs, self.sleep, self.marker, self.meet = epochs, sleep, marker, meet
        self.touch = touch

    def __call__(self, arch, report=None):
        start = time.time()
        if self.touch:
            Path(self.touch).touch()  # a relative path: where does the trial run?
        if self.meet:
            # Rendezvous: wait until two trials have started, so they must run side by side.
            Path(self.meet, f"{os.getpid()}-{time.time_ns()}").touch()
            while len(os.listdir(self.meet)) < 2 and time.time() < start + 60:
                time.sleep(0.01)
        mode = arch["mode"]
        if mode == "die" or (mode == "flaky" and not os.path.exists(self.marker)):
            if mode == "flaky":
                Path(self.marker).write_text("died once")
            os._exit(3)  # the worker process dies, as on a segfault or the OOM killer
        if mode == "raise":
            raise RuntimeError("boom: injected failure")
        v = value(arch)
        for epoch in range(1, self.epochs + 1):
            time.sleep(self.sleep)
            if report is not None:
                report(epoch, {"accuracy": v * epoch / self.epochs, "loss": 2.0 - v})
        if mode == "nan":
            return {"accuracy": math.nan}
        cost = {"start": start, "end": time.time(), "pid": os.getpid()}
        return Result(metrics={"accuracy": v, "loss": 2.0 - v}, cost=cost)


class Listed(Strategy):
    """Asks the given decisions in order; remembers what it was told."""

    def __init__(self, space, archs, objectives=None, seed=0):
        super().__init__(space, objectives, seed)
        self.archs, self.told = archs, {}

    def ask(self) -> Trial:
        return self._trial(self.space.validate(self.archs[self.n_asked % len(self.archs)]))

    def tell(self, trial, result):
        super().tell(trial, result)
        self.told[trial.number] = result.status


def arch(a=1, b=0.0, mode="ok"):
    return {"a": a, "b": b, "mode": mode}


def ok_only(choose):
    """The toy space without faults."""
    choose("a", [1, 2, 3])
    choose("b", [0.0, 0.5, 1.0])
    choose("mode", ["ok"])


OK_SPACE = FunctionSpace(ok_only, name="toy")


def ship_by_value() -> None:
    """Ray workers cannot import this test module: send its classes by value instead."""
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(autouse=True, scope="module")
def _shipped():
    ship_by_value()


def journal(run) -> dict[int, tuple]:
    return {
        r.trial.number: (r.trial.arch.decisions, r.result.status, r.result.metrics)
        for r in run.records()
    }


def test_ray_journal_matches_local(ray_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = dict(evaluator=Scored(), budget=6, out=tmp_path, progress=False, report=False, seed=3)
    local = search(OK_SPACE, "random", executor="local", run_id="local", **common)
    meet = tmp_path / "meet"
    meet.mkdir()
    remote = search(
        OK_SPACE,
        "random",
        executor="ray",
        executor_options={"concurrency": 2},
        run_id="ray",
        **{**common, "evaluator": Scored(meet=str(meet), touch="seen-by-a-trial")},
    )
    assert (tmp_path / "seen-by-a-trial").exists()  # trials run in the driver's directory
    assert journal(remote) == journal(local)
    records = remote.records()
    assert all(r.result.status == "ok" for r in records)
    events = sorted(
        [(r.result.cost["start"], 1) for r in records]
        + [(r.result.cost["end"], -1) for r in records]
    )
    running = [sum(step for _, step in events[: i + 1]) for i in range(len(events))]
    assert max(running) == 2  # the first two met; never more than the concurrency asked for
    assert len({r.result.cost["pid"] for r in records}) == 2  # one reused actor per slot
    assert json.loads((remote.path / "inflight.json").read_text()) == {"trials": []}
    assert (remote.path / "strategy.json").exists()  # JSON, never a pickle
    assert not (remote.path / "strategy.pkl").exists()


def test_ray_survives_failures_and_dead_workers(ray_session, tmp_path):
    plan = [
        arch(1),
        arch(2, mode="raise"),
        arch(3, mode="die"),
        arch(1, 0.5, mode="nan"),
        arch(2, 0.5, mode="flaky"),
        arch(3, 1.0),
    ]
    strategy = Listed(SPACE, plan)
    run = search(
        SPACE,
        strategy,
        evaluator=Scored(marker=str(tmp_path / "flaky-marker")),
        budget=len(plan),
        executor="ray",
        executor_options={"concurrency": 2, "max_failures": 1},
        out=tmp_path,
        run_id="faults",
        progress=False,
        report=False,
    )
    by_mode = {r.trial.arch["mode"]: r.result for r in run.records()}
    assert len(run.records()) == len(plan)
    assert "boom: injected failure" in by_mode["raise"].error
    assert by_mode["die"].status == "failed"
    assert "died 2 time(s) (max_failures=1)" in by_mode["die"].error
    assert by_mode["nan"].status == "failed" and "non-finite" in by_mode["nan"].error
    assert by_mode["flaky"].status == "ok"  # retried once on a fresh worker
    assert by_mode["flaky"].metrics["accuracy"] == pytest.approx(0.7)
    assert [r.result.status for r in run.records() if r.trial.number in (0, 5)] == ["ok", "ok"]
    assert strategy.told == {r.trial.number: r.result.status for r in run.records()}


def test_ray_asha_prunes_a_bad_trial(ray_session, tmp_path):
    strategy = Listed(OK_SPACE, [arch(1, 0.5), arch(2, 0.5), arch(1, 0.0)])
    run = search(
        OK_SPACE,
        strategy,
        evaluator=Scored(epochs=3),
        budget=3,
        executor="ray",
        executor_options={"concurrency": 1, "scheduler": "asha"},
        out=tmp_path,
        run_id="asha",
        progress=False,
        report=False,
    )
    records = {r.trial.number: r for r in run.records()}
    assert [records[i].result.status for i in range(3)] == ["ok", "ok", "pruned"]
    pruned = records[2].result
    # Stopped at the first rung (epoch 1): the metrics it reached, its history so far.
    assert pruned.metrics["accuracy"] == pytest.approx(0.1 / 3)
    assert [h["epoch"] for h in pruned.history] == [1.0]
    assert strategy.told == {0: "ok", 1: "ok", 2: "pruned"}


DRIVER = """
import sys
sys.path.insert(0, {tests!r})
from test_ray import OK_SPACE, Scored, ship_by_value
from archsearch.api import search

ship_by_value()
search(OK_SPACE, "random", evaluator=Scored(sleep=0.25), budget=8, seed=5, executor="ray",
       executor_options={{"concurrency": 2, "address": {address!r}}}, out={out!r},
       run_id="killed", progress=False, report=False)
"""


def test_ray_resume_after_sigkill_keeps_finished_trials(ray_session, tmp_path):
    script = tmp_path / "driver.py"
    tests = str(Path(__file__).parent)
    script.write_text(DRIVER.format(tests=tests, address=ray_session, out=str(tmp_path)))
    proc = subprocess.Popen([sys.executable, str(script)], env={**os.environ})
    path = tmp_path / "killed"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (path / "trials.jsonl").exists() and len(
            (path / "trials.jsonl").read_bytes().splitlines()
        ) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the driver ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = (path / "trials.jsonl").read_bytes()
    inflight = {t["number"] for t in json.loads((path / "inflight.json").read_text())["trials"]}
    done_before = {json.loads(line)["number"] for line in before.splitlines()}

    run = search(
        OK_SPACE,
        "random",
        evaluator=Scored(),
        resume=path,
        executor="ray",
        progress=False,
        report=False,
    )

    after = (path / "trials.jsonl").read_bytes()
    assert after.startswith(
        before[: before.rfind(b"\n") + 1]
    )  # no finished trial lost or rewritten
    records = run.records()
    numbers = [r.trial.number for r in records]
    assert len(records) == 8 and len(set(numbers)) == 8
    assert done_before <= set(numbers)
    assert inflight - done_before <= set(numbers)  # in-flight trials ran again
    # The strategy continued the same search: trial k is the k-th ask of a fresh seeded run.
    fresh = RandomSearch(OK_SPACE, seed=5)
    asked = [fresh.ask().arch for _ in range(max(numbers) + 1)]
    assert all(r.trial.arch == asked[r.trial.number] for r in records)


def test_ray_resource_errors_before_any_trial(ray_session, tmp_path):
    kw = dict(
        evaluator=Scored(), budget=2, out=tmp_path, progress=False, report=False, executor="ray"
    )
    with pytest.raises(ValueError, match="gpus_per_trial=1 but this machine has 0 GPU"):
        search(OK_SPACE, "random", executor_options={"gpus_per_trial": 1}, run_id="g", **kw)
    assert not (tmp_path / "g").exists()  # refused before the run folder was made
    with pytest.raises(ValueError, match="cpus_per_trial=3 but this machine has 2 CPU"):
        search(OK_SPACE, "random", executor_options={"cpus_per_trial": 3}, run_id="c", **kw)
    assert not (tmp_path / "c").exists()
    with pytest.raises(ValueError, match="needs the epochs per trial"):
        search(
            OK_SPACE,
            "random",
            executor_options={"scheduler": "asha"},
            run_id="e",
            **{**kw, "evaluator": lambda arch: {"accuracy": 1.0}},
        )
    for name in "gce":
        assert not (tmp_path / name / "trials.jsonl").exists()


@pytest.mark.parametrize(
    "options, match",
    [
        ({"scheduler": "hyperband"}, "unknown scheduler 'hyperband'; known: none, asha"),
        ({"gpus_per_trial": 1.5}, "above 1 it must be a whole number"),
        ({"gpus_per_trial": -1}, "gpus_per_trial must be >= 0"),
        ({"cpus_per_trial": 0}, "cpus_per_trial must be > 0"),
        ({"concurrency": 0}, "concurrency must be a whole number >= 1"),
        ({"max_failures": -1}, "max_failures must be a whole number >= 0"),
        ({"asha_options": {"eta": 3}}, "unknown asha option"),
        ({"address": "ray://head:10001"}, r"Ray Client \(ray://\) is not supported"),
    ],
)
def test_ray_executor_rejects_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        RayExecutor(**options)


def cluster(*nodes):
    total = {}
    for n in nodes:
        for k, v in n.items():
            total[k] = total.get(k, 0.0) + v
    return {"total": total, "nodes": list(nodes)}


@pytest.mark.parametrize(
    "options, nodes, expected",
    [
        ({}, [{"CPU": 2.0}], (1.0, 0.0, 2)),  # no GPU: CPU trials
        ({}, [{"CPU": 16.0, "GPU": 2.0}], (1.0, 1.0, 2)),  # default: one GPU per trial
        ({"gpus_per_trial": 0.25}, [{"CPU": 16.0, "GPU": 2.0}], (1.0, 0.25, 8)),
        ({"gpus_per_trial": 0, "cpus_per_trial": 4}, [{"CPU": 16.0, "GPU": 2.0}], (4.0, 0.0, 4)),
        ({}, [{"CPU": 8.0, "GPU": 4.0}, {"CPU": 8.0, "GPU": 4.0}], (1.0, 1.0, 8)),
    ],
)
def test_ray_resources_per_trial(options, nodes, expected):
    assert RayExecutor(**options)._resources(cluster(*nodes)) == expected


def test_ray_gpus_must_fit_on_one_node():
    two = cluster({"CPU": 8.0, "GPU": 1.0}, {"CPU": 8.0, "GPU": 1.0})
    with pytest.raises(
        ValueError, match="largest Ray node has 1 GPU\\(s\\) \\(cluster total 2\\)"
    ):
        RayExecutor(gpus_per_trial=2)._resources(two)


def test_ray_trial_sees_only_its_gpus(monkeypatch):
    import torch

    from archsearch.evaluate import ray_trial

    calls = []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setattr(ray, "get_gpu_ids", lambda: [])
    assert ray_trial.place_devices(0.0) == []
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""  # a CPU trial must not grab GPU 0

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # what Ray sets for an actor on GPU 1
    monkeypatch.setattr(ray, "get_gpu_ids", lambda: [1])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    gib = 2**30
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda i: SimpleNamespace(total_memory=80 * gib)
    )
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction", lambda *a: calls.append(a))
    assert ray_trial.place_devices(0.25) == ["1"]
    # A quarter of 80 GiB less the process's CUDA context (0.75 GiB): 19.25 GiB.
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "1" and calls == [(19.25 / 80, 0)]
    ray_trial.place_devices(1.0)
    assert len(calls) == 1  # a whole GPU is not capped


def test_ray_is_imported_only_when_used():
    code = (
        "import sys, archsearch.api, archsearch.evaluate.ray as r; "
        "r.RayExecutor(concurrency=2); archsearch.api.get_executor('ray', concurrency=2); "
        "print('ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ray_ledger_reconciles_a_killed_run(tmp_path):
    from archsearch.evaluate.ray_searcher import Ledger, StrategySearcher
    from archsearch.journal import INFLIGHT
    from archsearch.loop import Loop
    from archsearch.results import Record, Run

    run = Run.create(tmp_path, "r", {"objectives": ["accuracy:max"]})
    strategy = RandomSearch(OK_SPACE, seed=1)
    trials = [strategy.ask() for _ in range(5)]  # 0..4 asked
    for t in (trials[0], trials[1], trials[3]):
        run.append(Record(t, Result(metrics={"accuracy": 0.5})))
    strategy.tell(trials[0], Result(metrics={"accuracy": 0.5}))  # the kill came before 1 and 3
    stale = Trial(7, trials[0].arch)  # asked after the snapshot: asked again, not rerun
    inflight = [t.to_json() for t in (trials[2], trials[4], stale)]
    (run.path / INFLIGHT).write_text(json.dumps({"trials": inflight}))

    ledger = Ledger(Loop(strategy, run))
    assert ledger.reconcile() == 3
    assert strategy.n_told == 3  # the journaled trials the snapshot missed were told
    assert [t.number for t in ledger.rerun] == [2, 4]
    assert ledger.next_trial("a").arch == trials[2].arch
    assert ledger.next_trial("b").number == 4
    assert ledger.next_trial("c").number == 5  # then the strategy asks on

    searcher = StrategySearcher(ledger)
    searcher.save(str(tmp_path / "searcher.pkl"))
    other = StrategySearcher(Ledger(Loop(RandomSearch(OK_SPACE, seed=9), run)))
    other.restore(str(tmp_path / "searcher.pkl"))
    assert other.ledger.strategy.n_asked == 6 and other.ledger.strategy.n_told == 3
    assert sorted(other.ledger.inflight) == [2, 4, 5]
    assert other.suggest("d")["archsearch_trial"]["number"] == 2
