"""NAS-Bench-201 space, network and table evaluator."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from archsearch.spaces.nb201 import EDGE_NAMES, arch_str, from_arch_str, nb201
from archsearch.spaces.nb201.table import ENV_VAR, TableEvaluator

from archsearch.arch import Architecture
from archsearch.space import Task

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
HEADER = "index,arch_str,valid-accuracy,test-accuracy,valid-loss,train-all-time"


TABLE = "nb201_cifar10_valid_avg.csv"
# CI checks out a clean clone with a copy of ``shared/`` beside it: <repo>/../shared/data/.
SHARED_TABLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / TABLE


def real_table() -> Path | None:
    """The full NB201 CSV: ``$ARCHSEARCH_NB201_TABLE`` if set, else ``shared/data/`` beside the repo."""
    given = os.environ.get(ENV_VAR)
    for path in ([Path(given)] if given else []) + [SHARED_TABLE]:
        if path.is_file():
            return path
    return None


def tiny_table(tmp_path: Path) -> Path:
    rows = [
        HEADER,
        f"0,{BEST},91.6067,91.2,0.4,3000.5",
        "1,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10.0,10.0,2.3,100",
    ]
    p = tmp_path / "nb201.csv"
    p.write_text("\n".join(rows))
    return p


def test_decisions_and_arch_str_roundtrip():
    space = nb201()
    arch = from_arch_str(BEST)
    assert list(arch.decisions) == list(EDGE_NAMES)
    assert space.validate(arch) == arch and arch_str(arch) == BEST
    assert [space.next_param({}).name, len(space.next_param({}).options)] == ["edge_1_0", 5]
    assert space.next_param(arch.decisions) is None


def test_network_matches_published_size():
    # NAS-Bench-201 reports 1.53 M parameters for the largest cell (all 3x3 convs) on CIFAR-10.
    arch = Architecture("nb201", dict.fromkeys(EDGE_NAMES, "nor_conv_3x3"))
    model = nb201().build(arch, Task((3, 32, 32), 10))
    assert sum(p.numel() for p in model.parameters()) == 1_531_546
    tiny = Architecture("nb201", dict.fromkeys(EDGE_NAMES, "avg_pool_3x3"))
    small = nb201().build(tiny, Task((3, 32, 32), 10))
    assert sum(p.numel() for p in small.parameters()) < 0.2e6


def test_small_network_runs_on_digits():
    import torch

    model = nb201(C=8, N=1).build(from_arch_str(BEST), Task((1, 8, 8), 10))
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_table_lookup(tmp_path):
    ev = TableEvaluator(tiny_table(tmp_path))
    r = ev(from_arch_str(BEST))
    assert r.metrics["accuracy"] == pytest.approx(0.916067)
    assert r.metrics["test_accuracy"] == pytest.approx(0.912)
    assert r.cost["train_seconds"] == pytest.approx(3000.5)
    assert len(ev) == 2


def test_space_evaluator_hook(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert nb201().evaluator(None) is None
    assert isinstance(nb201(table=str(tiny_table(tmp_path))).evaluator(None), TableEvaluator)
    monkeypatch.setenv(ENV_VAR, str(tiny_table(tmp_path)))
    assert isinstance(nb201().evaluator(None), TableEvaluator)


def test_table_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match="set ARCHSEARCH_NB201_TABLE"):
        TableEvaluator()
    with pytest.raises(FileNotFoundError, match="table not found"):
        TableEvaluator(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("arch_str,valid-accuracy\nx,1\n")
    with pytest.raises(ValueError, match="missing column\\(s\\) test-accuracy"):
        TableEvaluator(bad)
    ev = TableEvaluator(tiny_table(tmp_path))
    with pytest.raises(KeyError, match="is not in the table"):
        ev(from_arch_str(BEST.replace("skip_connect", "none")))
    with pytest.raises(ValueError, match="evaluates space 'nb201', not 'x'"):
        ev(Architecture("x", {"a": 1}))
    with pytest.raises(ValueError, match="not a NAS-Bench-201 cell string"):
        from_arch_str("|conv~0|")
    with pytest.raises(ValueError, match="C >= 1 and N >= 1"):
        nb201(C=0)


@pytest.mark.skipif(
    real_table() is None, reason=f"no NB201 table: set {ENV_VAR}, or put {TABLE} in shared/data/"
)
def test_real_table_optimum():
    path = real_table()
    ev = TableEvaluator(path)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(ev) == 5**6 == 15_625
    # The table's known optima (shared/data/README.md), read from the CSV directly.
    best = max(rows, key=lambda r: float(r["valid-accuracy"]))
    assert (best["index"], best["arch_str"]) == ("6111", BEST)
    assert float(best["valid-accuracy"]) == pytest.approx(91.6067, abs=1e-4)
    top_test = max(rows, key=lambda r: float(r["test-accuracy"]))
    assert top_test["index"] == "1459"
    assert float(top_test["test-accuracy"]) == pytest.approx(91.5233, abs=1e-4)
    # The evaluator returns the same rows as fractions, and its own maximum is the optimum.
    for row in (best, top_test, rows[0]):
        r = ev(from_arch_str(row["arch_str"]))
        assert r.metrics["accuracy"] == pytest.approx(float(row["valid-accuracy"]) / 100)
        assert r.metrics["test_accuracy"] == pytest.approx(float(row["test-accuracy"]) / 100)
    assert max(ev.rows, key=lambda k: ev.rows[k]["accuracy"]) == BEST
    # Every cell of the space is in the table exactly once: 5**6 distinct parsed cells (the
    # parser rejects unknown ops), so every op appears on every edge.
    assert len({tuple(from_arch_str(k).decisions.values()) for k in ev.rows}) == 5**6


def test_a_missing_table_fails_when_the_space_is_made(tmp_path):
    with pytest.raises(FileNotFoundError, match="NAS-Bench-201 table not found: .*missing.csv"):
        nb201(table=str(tmp_path / "missing.csv"))
