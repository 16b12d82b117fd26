"""Novelty: draw until the draw is unseen, at most ``1 + retries`` draws.

Every strategy that avoids re-proposing an architecture (aging evolution, SMBO, MCTS, NSGA-II,
LINAS) and the :class:`archsearch.strategies.dedup.Dedup` wrapper redraw through
:func:`draw_unseen`, with the one default :data:`RETRIES`. After ``retries`` redraws the last
draw is returned even if seen, so a strategy on an exhausted space still proposes something.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any, TypeVar

T = TypeVar("T")

RETRIES = 32
"""Default number of redraws of a repeated proposal."""


def arch_key(item: Any) -> str:
    """The key of an architecture, or of a trial's architecture."""
    arch = getattr(item, "arch", item)
    return arch.key


def draw_unseen(
    sample: Callable[[], T],
    seen: Container[str],
    retries: int = RETRIES,
    key: Callable[[T], str] = arch_key,
) -> T:
    """``sample()`` again while its key is in ``seen``, at most ``retries`` more times."""
    item = sample()
    for _ in range(retries):
        if key(item) not in seen:
            break
        item = sample()
    return item
