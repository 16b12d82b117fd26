"""The search loop and run folders: journal, summary, resume after a kill or a truncated line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archsearch import Architecture, FunctionSpace, Strategy
from archsearch.api import get_executor, search
from archsearch.journal import JOURNAL
from archsearch.results import Run
from archsearch.snapshot import SNAPSHOT
from archsearch.strategy import Exhausted


def tiny(choose):
    """Three decisions, one conditional on the first."""
    depth = choose("depth", [1, 2, 3])
    choose("width", [4, 8, 16, 32])
    if depth > 1:
        choose("skip", [False, True])
    return lambda task: None


SPACE = FunctionSpace(tiny, name="tiny")


def score(arch: Architecture) -> dict[str, float]:
    """A deterministic fake accuracy and size."""
    return {
        "accuracy": 0.1 * arch["depth"] + 0.001 * arch["width"] + 0.05 * bool(arch.get("skip")),
        "params": float(arch["depth"] * arch["width"]),
    }


def archs(run: Run) -> list[dict]:
    return [r.trial.arch.decisions for r in run.records()]


def test_search_writes_the_run_folder(tmp_path: Path) -> None:
    seen = []
    run = search(
        SPACE,
        "random",
        evaluator=score,
        budget=6,
        seed=3,
        out=tmp_path,
        run_id="r1",
        progress=False,
        on_record=seen.append,
    )
    assert run.path == tmp_path / "r1" and len(run.records()) == 6 and len(seen) == 6
    cfg = json.loads((run.path / "run.json").read_text())
    assert cfg["space"] == "tiny" and cfg["strategy"] == "random" and cfg["seed"] == 3
    assert cfg["budget"] == 6 and cfg["objectives"] == ["accuracy:max"]
    assert set(cfg["versions"]) == {"python", "torch", "archsearch"}
    assert cfg["evaluator"].endswith("score") and cfg["executor"] == "local"
    best = json.loads((run.path / "best.json").read_text())
    assert best["trials"] == 6 and best["value"] == max(
        r.result.metrics["accuracy"] for r in run.records()
    )
    assert [r.trial.number for r in run.records()] == list(range(6))
    assert not (run.path / "pareto.json").exists()
    again = search(
        SPACE,
        "random",
        evaluator=score,
        budget=6,
        seed=3,
        out=tmp_path,
        run_id="r2",
        progress=False,
        report=False,
    )
    assert archs(again) == archs(run)


def test_failures_do_not_stop_the_search(tmp_path: Path) -> None:
    def flaky(arch):
        if arch["width"] == 8:
            raise RuntimeError("candidate exploded")
        return score(arch)

    run = search(SPACE, evaluator=flaky, budget=12, out=tmp_path, progress=False, report=False)
    statuses = [r.result.status for r in run.records()]
    assert len(statuses) == 12 and "failed" in statuses and "ok" in statuses
    failed = next(r for r in run.records() if r.result.status == "failed")
    assert "RuntimeError: candidate exploded" in failed.result.error
    assert run.best().result.status == "ok"


def test_multi_objective_writes_pareto(tmp_path: Path) -> None:
    run = search(
        SPACE,
        evaluator=score,
        budget=8,
        objectives="accuracy,params:min",
        out=tmp_path,
        progress=False,
        report=False,
    )
    front = json.loads((run.path / "pareto.json").read_text())["front"]
    assert front and all(len(p["values"]) == 2 for p in front)


def test_bad_names_and_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown executor 'dask'; known: local, ray"):
        get_executor("dask")
    with pytest.raises(ValueError, match="unknown strategy 'randm'"):
        search(SPACE, "randm", evaluator=score, out=tmp_path)
    with pytest.raises(ValueError, match="strategy 'random' has no option 'temperature'"):
        search(SPACE, strategy_options={"temperature": 1}, evaluator=score, out=tmp_path)
    with pytest.raises(ValueError, match="executor 'local' has no option 'workers'"):
        search(SPACE, executor_options={"workers": 2}, evaluator=score, out=tmp_path)
    with pytest.raises(ValueError, match="budget must be from 1 to "):
        search(SPACE, evaluator=score, budget=-1, out=tmp_path)
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        search(resume=tmp_path / "nope")


def test_resume_continues_the_same_search(tmp_path: Path) -> None:
    whole = search(
        SPACE,
        evaluator=score,
        budget=10,
        seed=1,
        out=tmp_path,
        run_id="whole",
        progress=False,
        report=False,
    )
    half = search(
        SPACE,
        evaluator=score,
        budget=4,
        seed=1,
        out=tmp_path,
        run_id="half",
        progress=False,
        report=False,
    )
    assert (half.path / SNAPSHOT).exists()
    resumed = search(
        SPACE, evaluator=score, resume=half.path, budget=10, progress=False, report=False
    )
    assert archs(resumed) == archs(whole)
    with pytest.raises(ValueError, match="seed 9 differs from the resumed run's 1"):
        search(SPACE, evaluator=score, resume=half.path, seed=9, progress=False, report=False)
    assert json.loads((half.path / "run.json").read_text())["budget"] == 10
    # Without a snapshot the journal is replayed into a fresh strategy: same continuation.
    nosnap = search(
        SPACE,
        evaluator=score,
        budget=4,
        seed=1,
        out=tmp_path,
        run_id="nosnap",
        progress=False,
        report=False,
    )
    (nosnap.path / SNAPSHOT).unlink()
    search(SPACE, evaluator=score, resume=nosnap.path, budget=10, progress=False, report=False)
    assert archs(nosnap) == archs(whole)
    # Nothing left to do: no trial is re-run.
    search(SPACE, evaluator=lambda a: 1 / 0, resume=nosnap.path, progress=False, report=False)
    assert len(nosnap.records()) == 10


def test_truncated_journal_is_repaired_and_resumed(tmp_path: Path) -> None:
    run = search(
        SPACE,
        evaluator=score,
        budget=5,
        seed=2,
        out=tmp_path,
        run_id="t",
        progress=False,
        report=False,
    )
    kept = archs(run)[:4]
    journal = run.path / JOURNAL
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) - 25])  # the kill hit while writing line 5
    with pytest.warns(UserWarning, match="truncated last"):
        assert len(run.records()) == 4
    with pytest.warns(UserWarning, match="dropped a truncated last journal line"):
        search(SPACE, evaluator=score, resume=run.path, budget=7, progress=False, report=False)
    assert archs(run)[:4] == kept and len(run.records()) == 7
    assert [r.trial.number for r in run.records()] == list(range(7))


def test_interrupt_keeps_the_journal(tmp_path: Path) -> None:
    def stop_at_third(arch, calls=[]):  # noqa: B006
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return score(arch)

    with pytest.raises(KeyboardInterrupt):
        search(
            SPACE,
            evaluator=stop_at_third,
            budget=6,
            out=tmp_path,
            run_id="k",
            progress=False,
            report=False,
        )
    run = Run.open(tmp_path / "k")
    assert len(run.records()) == 2 and (run.path / "best.json").exists()
    search(SPACE, evaluator=score, resume=run.path, progress=False, report=False)
    assert len(run.records()) == 6


class _Three(Strategy):
    """Proposes three architectures, then is exhausted."""

    def ask(self):
        if self.n_asked == 3:
            raise Exhausted
        return self._trial(self.space.sample(self.rng))


def test_exhausted_strategy_ends_the_loop(tmp_path: Path) -> None:
    run = search(
        SPACE, _Three, evaluator=score, budget=10, out=tmp_path, progress=False, report=False
    )
    assert len(run.records()) == 3
    assert json.loads((run.path / "best.json").read_text())["trials"] == 3


SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
from test_search_api import SPACE, score
from archsearch.api import search

def slow(arch):
    time.sleep(0.02)
    return score(arch)

search(SPACE, evaluator=slow, budget=10_000, seed=5, out={out!r}, run_id="killed",
       progress=False, report=False, executor_options={{"snapshot_seconds": 0.1}})
"""


def test_resume_after_sigkill(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent), out=str(tmp_path)))
    proc = subprocess.Popen(
        [sys.executable, str(script)], env={**os.environ, "PYTHONHASHSEED": "0"}
    )
    journal = tmp_path / "killed" / JOURNAL
    deadline = time.time() + 60
    while time.time() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 12:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run = Run.open(tmp_path / "killed")
    before = archs(run)
    assert len(before) >= 12
    resumed = search(
        SPACE,
        evaluator=score,
        resume=run.path,
        budget=len(before) + 5,
        progress=False,
        report=False,
    )
    after = archs(resumed)
    assert after[: len(before)] == before and len(after) == len(before) + 5
    numbers = [r.trial.number for r in resumed.records()]
    assert numbers == list(range(len(after)))
    reference = search(
        SPACE,
        evaluator=score,
        budget=len(after),
        seed=5,
        out=tmp_path,
        run_id="ref",
        progress=False,
        report=False,
    )
    assert archs(reference) == after


def test_progress_bar_shows_count_and_best(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    search(SPACE, evaluator=score, budget=3, out=tmp_path, report=False)
    err = capsys.readouterr().err
    assert "3/3" in err and "best accuracy=" in err


def test_resume_needs_unregistered_objects_again(tmp_path: Path) -> None:
    from archsearch.data import load_data

    run = search(
        SPACE, evaluator=score, budget=2, out=tmp_path, run_id="c", progress=False, report=False
    )
    with pytest.raises(ValueError, match="custom evaluator .*score.*; pass evaluator= to resume"):
        search(resume=run.path)
    with pytest.raises(ValueError, match="space 'tiny' is not registered; pass the space object"):
        search(resume=run.path, evaluator=score)
    data = load_data("synthetic", size=40)
    data.name = "mine"
    run2 = search(
        SPACE, dataset=data, budget=1, out=tmp_path, run_id="d", progress=False, report=False
    )
    with pytest.raises(ValueError, match="dataset 'mine' is not registered; pass dataset="):
        search(SPACE, resume=run2.path)


def test_unpicklable_strategy_falls_back_to_replay(tmp_path: Path) -> None:
    class Unpicklable(Strategy):
        def ask(self):
            return self._trial(self.space.sample(self.rng))

        def state(self):
            return {"hook": lambda: None}  # not JSON: no snapshot, resume replays

    with pytest.warns(UserWarning, match="cannot be snapshotted"):
        run = search(
            SPACE,
            Unpicklable,
            evaluator=score,
            budget=3,
            out=tmp_path,
            progress=False,
            report=False,
        )
    assert not (run.path / SNAPSHOT).exists()
    with pytest.warns(UserWarning, match="cannot be snapshotted"):
        search(
            SPACE,
            Unpicklable,
            evaluator=score,
            resume=run.path,
            budget=5,
            progress=False,
            report=False,
        )
    assert len(run.records()) == 5


def test_missing_dataset_leaves_no_run_folder(tmp_path):
    from archsearch.api import search

    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        search(
            "deeparchitect",
            "random",
            dataset="cifar10",
            data_root=tmp_path / "none",
            budget=1,
            epochs=1,
            out=tmp_path / "runs",
            progress=False,
        )
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_an_objective_no_trial_reports_stops_the_search_keeping_its_trial(tmp_path: Path) -> None:
    kw = dict(evaluator=score, budget=5, out=tmp_path, run_id="r", progress=False, report=False)
    with pytest.raises(ValueError, match=r"objective 'acuracy' is not a metric.*accuracy, params"):
        search(SPACE, "random", objectives="acuracy", **kw)
    assert len(Run.open(tmp_path / "r").records()) == 1


def test_ctrl_c_mid_trial_then_resume_gives_the_uninterrupted_sequence(tmp_path: Path) -> None:
    kw = dict(evaluator=score, budget=6, out=tmp_path, progress=False, report=False)
    whole = search(SPACE, "random", run_id="whole", **kw)
    calls = []

    def interrupted(arch: Architecture) -> dict[str, float]:
        calls.append(arch)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return score(arch)

    with pytest.raises(KeyboardInterrupt):
        search(SPACE, "random", run_id="cut", **{**kw, "evaluator": interrupted})
    assert len(Run.open(tmp_path / "cut").records()) == 2
    resumed = search(SPACE, resume=tmp_path / "cut", **kw)
    assert [r.trial.number for r in resumed.records()] == list(range(6))
    assert archs(resumed) == archs(whole)


def test_resume_rejects_a_smaller_budget_and_a_folder_that_is_no_search(tmp_path: Path) -> None:
    kw = dict(evaluator=score, out=tmp_path, progress=False, report=False)
    search(SPACE, "random", budget=4, run_id="r", **kw)
    with pytest.raises(ValueError, match="budget 2 is below the 4 trials .* budget >= 4"):
        search(SPACE, resume=tmp_path / "r", budget=2, **kw)
    assert Run.open(tmp_path / "r").config["budget"] == 4
    Run.create(tmp_path, "other", {"space": "expanding"})
    with pytest.raises(ValueError, match="run.json lacks strategy, budget, epochs, seed"):
        search(SPACE, resume=tmp_path / "other", **kw)
