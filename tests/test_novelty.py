"""Novelty: one redraw helper and one retry default, used by every deduplicating strategy."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import archsearch
from archsearch import FunctionSpace
from archsearch.novelty import RETRIES, draw_unseen
from archsearch.registry import entries, get_strategy
from archsearch.strategies.nsga2 import NSGA2
from archsearch.strategy import Result

SIX = FunctionSpace(lambda c: (c("a", [0, 1, 2]), c("b", [0, 1]), None)[-1], name="s6")


def test_draw_unseen_redraws_at_most_retries_times():
    draws = iter(["x", "x", "y", "z"])
    calls = []

    def sample():
        calls.append(1)
        return next(draws)

    assert draw_unseen(sample, {"x"}, retries=5, key=str) == "y"
    assert len(calls) == 3
    # Out of retries, the last draw comes back even though it was seen.
    assert draw_unseen(lambda: "x", {"x"}, retries=3, key=str) == "x"
    assert draw_unseen(lambda: "x", {"x"}, retries=0, key=str) == "x"


@pytest.mark.parametrize("name", sorted(entries("strategy")))
def test_every_retries_knob_has_the_one_default(name):
    params = inspect.signature(get_strategy(name)).parameters
    if "retries" in params:
        assert params["retries"].default == RETRIES
    assert inspect.signature(NSGA2).parameters["retries"].default == RETRIES


def test_no_strategy_keeps_its_own_retry_loop():
    root = Path(archsearch.__file__).parent
    loop = re.compile(r"range\([^)]*retries")
    copies = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "novelty.py" and loop.search(p.read_text())
    ]
    assert copies == [], f"redraw loops outside archsearch/novelty.py: {copies}"


CASES = [
    ("evolution", {"population": 3, "sample": 2}),
    ("smbo", {"initial": 2}),
    ("mcts", {}),
    ("mcts-bisect", {}),
    ("nsga2", {"population": 2}),
    ("linas", {"population": 2, "inner_evals": 8}),
    ("dedup", {"strategy": "random"}),
    ("dedup", {"strategy": "optuna"}),
]


def _keys(name: str, knobs: dict, n: int, seed: int) -> list[str]:
    s = get_strategy(name)(SIX, objectives="accuracy,latency:min", seed=seed, **knobs)
    keys = []
    for _ in range(n):
        t = s.ask()
        keys.append(t.arch.key)
        d = t.arch.decisions
        s.tell(t, Result(metrics={"accuracy": d["a"] + 0.1 * d["b"], "latency": d["b"] - d["a"]}))
    return keys


@pytest.mark.parametrize(
    ("name", "knobs"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_repeat_within_a_small_space(name, knobs, seed):
    keys = _keys(name, knobs, 4, seed)
    assert len(set(keys)) == len(keys), keys


def test_without_retries_repeats_do_happen_on_that_space():
    repeated = [
        len(set(k)) < len(k) for k in (_keys("evolution", {"retries": 0}, 4, s) for s in range(3))
    ]
    assert any(repeated)
