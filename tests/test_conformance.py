"""Every registered strategy on every registered space, and every space on its own."""

from __future__ import annotations

import pytest

from archsearch.registry import entries, get_space
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
