"""Run folders: the journal, truncated-line recovery, best and Pareto summaries; the registry."""

from __future__ import annotations

import json
import math

import pytest

from archsearch.arch import Architecture
from archsearch.registry import lookup
from archsearch.results import Record, Run, dominates, pareto_front
from archsearch.strategy import Objective, Result, Trial, objectives_from, score


def rec(n: int, acc: float, lat: float, status: str = "ok") -> Record:
    arch = Architecture("s", {"x": n})
    return Record(
        Trial(n, arch), Result(status=status, metrics={"accuracy": acc, "latency_ms": lat})
    )


def test_journal_appends_and_reads_back(tmp_path):
    run = Run.create(tmp_path, "r1", {"objectives": "accuracy,latency_ms"})
    for i, (a, lat) in enumerate([(0.5, 3.0), (0.9, 5.0), (0.7, 1.0), (math.nan, 1.0)]):
        run.append(rec(i, a, lat))
    run.append(rec(4, 0.99, 0.5, status="failed"))
    records = Run.open(run.path).records()
    assert [r.trial.number for r in records] == [0, 1, 2, 3, 4]
    assert math.isnan(records[3].result.metrics["accuracy"])
    assert run.best().trial.number == 1
    assert [r.trial.number for r in run.pareto()] == [1, 2]
    summary = run.write_summary()
    assert summary["number"] == 1 and summary["failed"] == 1 and summary["trials"] == 5
    pareto = json.loads((run.path / "pareto.json").read_text())
    assert [p["number"] for p in pareto["front"]] == [1, 2]


def test_truncated_last_line_is_dropped_with_warning_and_repaired(tmp_path):
    run = Run.create(tmp_path, "r", {})
    run.append(rec(0, 0.5, 1.0))
    run.append(rec(1, 0.6, 1.0))
    with open(run.path / "trials.jsonl", "ab") as f:
        f.write(b'{"number": 2, "arch": {"spa')
    with pytest.warns(UserWarning, match="dropped a truncated last line"):
        assert [r.trial.number for r in run.records()] == [0, 1]
    assert run.repair() > 0
    run.append(rec(2, 0.7, 1.0))
    assert [r.trial.number for r in run.records()] == [0, 1, 2]


def test_corrupt_middle_line_is_an_error(tmp_path):
    run = Run.create(tmp_path, "r", {})
    (run.path / "trials.jsonl").write_text(
        '{"broken\n' + json.dumps(rec(1, 0.5, 1).to_json()) + "\n"
    )
    with pytest.raises(ValueError, match="line 1 is corrupt"):
        run.records()


def test_run_folder_errors(tmp_path):
    Run.create(tmp_path, "r", {})
    with pytest.raises(ValueError, match="already exists; pass --resume"):
        Run.create(tmp_path, "r", {})
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        Run.open(tmp_path / "nope")


def test_objectives_and_scores():
    objs = objectives_from("accuracy, latency_ms, flops:max")
    assert [(o.name, o.direction) for o in objs] == [
        ("accuracy", "max"),
        ("latency_ms", "min"),
        ("flops", "max"),
    ]
    r = Result(metrics={"accuracy": 0.5, "latency_ms": 2.0})
    assert score(r, objs[1]) == -2.0 and score(r, Objective("missing")) is None
    assert score(Result.failed("boom", metrics={"accuracy": 1.0}), objs[0]) is None
    with pytest.raises(ValueError, match="direction 'up' is not allowed"):
        Objective("accuracy", "up")
    with pytest.raises(ValueError, match="objectives repeat a name"):
        objectives_from("accuracy,accuracy")
    with pytest.raises(ValueError, match="status 'done' is not allowed"):
        Result(status="done")
    assert dominates((1, 1), (1, 0)) and not dominates((1, 0), (0, 1))
    assert pareto_front([], objs) == []


def test_registry_unknown_name_suggests_and_lists():
    with pytest.raises(
        ValueError, match=r"unknown strategy 'randm' \(did you mean 'random'\?\); known: .*random"
    ):
        lookup("strategy", "randm")
    with pytest.raises(ValueError, match="unknown registry kind 'model'"):
        lookup("model", "x")


def test_open_rejects_a_run_json_that_is_not_a_settings_object(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "run.json").write_text("{bad")
    with pytest.raises(ValueError, match=r"a/run.json is not valid JSON \(.*\); not a run folder"):
        Run.open(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "run.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"b/run.json holds a list, not a run's settings"):
        Run.open(tmp_path / "b")
