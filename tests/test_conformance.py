"""Every registered strategy on every registered space, and every space on its own."""

from __future__ import annotations

import itertools

import pytest
import torch

from archsearch.params import Choice
from archsearch.registry import entries, get_space
from archsearch.space import Space
from archsearch.testing.conformance import check_space, check_strategy

SPACES = sorted(entries("space"))
STRATEGIES = sorted(n for n, e in entries("strategy").items() if getattr(e.obj, "generic", True))
MULTI = [n for n in STRATEGIES if getattr(entries("strategy")[n].obj, "multi_objective", False)]


@pytest.fixture(scope="module")
def spaces():
    return {name: get_space(name) for name in SPACES}


@pytest.mark.parametrize("space_name", SPACES)
def test_space_conformance(spaces, space_name):
    check_space(spaces[space_name])


@pytest.mark.parametrize("space_name", SPACES)
@pytest.mark.parametrize("strategy_name", STRATEGIES)
def test_strategy_conformance(spaces, strategy_name, space_name):
    check_strategy(entries("strategy")[strategy_name].obj, spaces[space_name], n=10)


@pytest.mark.parametrize("strategy_name", MULTI)
@pytest.mark.parametrize("space_name", SPACES[:1])
def test_multi_objective_conformance(spaces, strategy_name, space_name):
    space = spaces[space_name]
    check_strategy(
        entries("strategy")[strategy_name].obj, space, n=10, objectives="accuracy,latency_ms"
    )


class _Leaky(Space):
    """A toy space whose build also reads a call counter, something outside the architecture."""

    name = "leaky"

    def __init__(self, leak: str) -> None:
        self.leak, self.calls = leak, itertools.count()

    def next_param(self, partial):
        return Choice("width", (4, 8)) if "width" not in partial else None

    def build(self, arch, task):
        odd = next(self.calls) % 2 == 1
        width = arch["width"] + (self.leak == "width" and odd)
        act = torch.nn.Tanh() if self.leak == "activation" and odd else torch.nn.ReLU()
        n_in = int(torch.tensor(task.input_shape).prod())
        return torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(n_in, width),
            act,
            torch.nn.Linear(width, task.num_classes),
        )


def test_replay_check_passes_a_space_that_builds_from_the_record_alone():
    check_space(_Leaky("none"), n=2)


@pytest.mark.parametrize(
    ("leak", "match"),
    [
        ("width", "replay built a different structure"),
        # Same parameters, so equal parameter counts; only the outputs tell the models apart.
        ("activation", "the replayed model computes otherwise"),
    ],
)
def test_replay_check_catches_a_build_that_reads_outside_the_architecture(leak, match):
    with pytest.raises(AssertionError, match=match):
        check_space(_Leaky(leak), n=2)
