"""ModuleSpace.complete: one traversal gives exactly the generic per-decision walk's record."""

from __future__ import annotations

import numpy as np
import pytest

from archsearch.layers import conv, dropout, max_pool
from archsearch.modules import D, Dependent, Layer, ModuleSpace, Optional, Or, Repeat, Seq
from archsearch.space import Space


def program():
    width = D([8, 16], name="width")
    double = Dependent(lambda w: 2 * w, width)
    cell = lambda: Or(  # noqa: E731
        lambda: Layer(conv, filters=width, kernel=D([3, 5])),
        lambda: Layer(max_pool, kernel=3),
        labels=["conv", "pool"],
        name="op",
    )
    return Seq(
        Repeat(cell, [1, 2, 3], name="cells"),
        Layer(conv, filters=double, name="wide"),
        Optional(lambda: Layer(dropout, rate=D([0.1, 0.3])), name="drop"),
    )


SPACE = ModuleSpace(program, name="cells")


@pytest.mark.parametrize("seed", range(12))
def test_one_pass_complete_equals_the_generic_walk(seed: int) -> None:
    fast = SPACE.sample(np.random.default_rng(seed))
    rng = np.random.default_rng(seed)
    slow = Space.complete(SPACE, {}, lambda p, _: p.sample(rng))
    assert fast == slow and list(fast.decisions) == list(slow.decisions)
    assert SPACE.validate(fast) == fast


def test_partial_completion_keeps_given_decisions() -> None:
    arch = SPACE.sample(np.random.default_rng(0), {"cells": 3, "width": 16})
    assert arch["cells"] == 3 and arch["width"] == 16 and "cells/2" in arch
    seen = []
    SPACE.complete({"cells": 1}, lambda p, so_far: seen.append(dict(so_far)) or p.grid(1)[0])
    assert seen[0] == {"cells": 1} and all("cells" in s for s in seen)
