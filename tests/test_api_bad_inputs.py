"""The Python API's bad arguments: a clear exception naming the value, before any file exists.

``archsearch.search`` validates every setting and builds every object before it makes the run
folder (:func:`archsearch.plan.prepare`), so each case below must raise ValueError (or the
TypeError of a Python call with a keyword it does not take) whose message names the bad value,
and leave the output folder, and the working folder, empty.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archsearch import Architecture, FunctionSpace
from archsearch.api import search


def tiny(choose):
    choose("depth", [1, 2, 3])
    choose("width", [4, 8])
    return lambda task: None


def score(arch: Architecture) -> dict[str, float]:
    return {"accuracy": 0.1 * arch["depth"], "params": float(arch["width"])}


SPACE = FunctionSpace(tiny, name="tiny")


def _no_options(choose):
    choose("x", [])
    return lambda task: None


def _empty_range(choose):
    choose("w", [1, 2])
    choose.int("d", 3, 1)
    return lambda task: None


def _twice(choose):
    choose("w", [1, 2])
    choose("w", [1, 2, 3])
    return lambda task: None


def _empty_valid():
    import torch

    from archsearch.data import Data
    from archsearch.space import Task

    x = torch.zeros(8, 1, 8, 8)
    y = torch.arange(8) % 2
    return Data("tiny-data", Task((1, 8, 8), 2), (x, y), (x[:0], y[:0]))


# (keyword arguments of search, exception type, fragment of its message)
CASES = [
    ({"budget": "5"}, ValueError, "budget must be a whole number from 1 to 10,000,000, got '5'"),
    ({"budget": 2.5}, ValueError, "got 2.5"),
    ({"budget": True}, ValueError, "got True"),
    ({"budget": 0}, ValueError, "budget must be from 1 to 10,000,000, got 0"),
    ({"budget": -3}, ValueError, "got -3"),
    ({"budget": 10**20}, ValueError, "got 100000000000000000000"),
    ({"epochs": 0}, ValueError, "epochs must be from 1"),
    ({"epochs": 10**11}, ValueError, "got 100000000000"),
    ({"epochs": 1.0}, ValueError, "got 1.0"),
    ({"seed": -1}, ValueError, "seed must be from 0"),
    ({"seed": "0"}, ValueError, "got '0'"),
    ({"seed": 2**40}, ValueError, "got 1099511627776"),
    ({"evaluator": 5}, ValueError, "evaluator must be callable (arch -> Result), got 5"),
    ({"objectives": ["accuracy", 5]}, ValueError, "got 5"),
    ({"objectives": "accuracy:up"}, ValueError, "direction 'up'"),
    ({"objectives": []}, ValueError, "at least one objective"),
    ({"objectives": "accuracy,accuracy"}, ValueError, "repeat"),
    ({"objectives": "latency_ms"}, None, None),  # checked against what the trials report
    ({"out": ""}, ValueError, "out must name a folder, got ''"),
    ({"out": "/etc/passwd"}, ValueError, "'/etc/passwd' is a file"),
    ({"run_id": "../x"}, ValueError, "run_id must be a plain folder name"),
    ({"run_id": ""}, ValueError, "got ''"),
    ({"run_id": "a/b"}, ValueError, "'a/b'"),
    ({"dataset": 5}, ValueError, "dataset must be a registered name or a Data, got 5"),
    ({"dataset": "mnist"}, ValueError, "unknown dataset 'mnist'"),
    ({"data_root": ""}, ValueError, "data_root must name a folder"),
    ({"space_options": 5}, ValueError, "space_options must be a mapping"),
    ({"strategy_options": {"x": 1}}, ValueError, "strategy 'random' has no option 'x'"),
    ({"executor": "dask"}, ValueError, "unknown executor 'dask'"),
    ({"executor_options": {"workers": 2}}, ValueError, "executor 'local' has no option"),
    ({"strategy": "randm"}, ValueError, "unknown strategy 'randm'"),
    (
        {"strategy": 5},
        ValueError,
        "strategy must be a registered name, a Strategy class or a Strategy, got 5",
    ),
    ({"space": 5}, ValueError, "space must be a registered name"),
    ({"space": "nope"}, ValueError, "unknown space 'nope'"),
    ({"bogus": 1}, TypeError, "unexpected keyword 'bogus'"),
    ({"space": FunctionSpace(_no_options, name="s")}, ValueError, "x: a Choice needs at least"),
    ({"space": FunctionSpace(_empty_range, name="s")}, ValueError, "low=3, high=1"),
    ({"space": FunctionSpace(_twice, name="s")}, ValueError, "declared twice"),
]


@pytest.mark.parametrize(("kwargs", "error", "fragment"), CASES, ids=lambda v: repr(v)[:40])
def test_bad_argument_raises_before_any_file(tmp_path, monkeypatch, kwargs, error, fragment):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "runs"
    given = {"space": SPACE, "evaluator": score, "out": out, "budget": 1, **kwargs}
    if error is None:  # the objective the evaluator does not report: the first trial stops it
        error, fragment = ValueError, "objective 'latency_ms' is not a metric"
    with pytest.raises(error) as info:
        search(progress=False, report=False, **given)
    assert fragment in str(info.value), str(info.value)
    if kwargs.get("objectives") != "latency_ms":
        assert list(tmp_path.iterdir()) == [], list(tmp_path.rglob("*"))


def test_empty_validation_split_is_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="'tiny-data' has an empty valid split"):
        search(SPACE, dataset=_empty_valid(), out=tmp_path / "runs", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_optuna_sampler_options_are_checked_before_the_run_folder(tmp_path):
    opts = {"sampler_options": {"n_startup_trials": "x"}}
    with pytest.raises(ValueError, match='n_startup_trials must be an integer .*got "x"'):
        search(SPACE, "optuna", evaluator=score, strategy_options=opts, out=tmp_path / "r")
    with pytest.raises(ValueError, match="sampler_options must be a JSON object"):
        search(
            SPACE,
            "optuna",
            evaluator=score,
            strategy_options={"sampler_options": "x"},
            out=tmp_path,
        )
    assert list(tmp_path.iterdir()) == []


def test_resume_with_a_budget_below_the_finished_trials_touches_nothing(tmp_path: Path):
    run = search(SPACE, evaluator=score, budget=3, out=tmp_path, run_id="r", progress=False)
    before = {p: p.stat().st_mtime_ns for p in run.path.rglob("*")}
    with pytest.raises(ValueError, match="budget 2 is below the 3 trials"):
        search(SPACE, evaluator=score, resume=run.path, budget=2)
    assert {p: p.stat().st_mtime_ns for p in run.path.rglob("*")} == before
