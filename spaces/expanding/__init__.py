"""The self-expanding CNN space: growth while training, checkpoints, ``expand``.

The names below are re-exported lazily (imported from ``space`` on first use), so
importing a light submodule such as the CLI command does not import the whole family.
"""

from __future__ import annotations

from archsearch.lazy import reexports

_SOURCE = "archsearch.spaces.expanding.space"
__all__ = [
    "ExpandingSpace",
    "GrowingTrainer",
    "GrowthSettings",
    "load_checkpoint",
    "read_checkpoint",
]

__getattr__, __dir__ = reexports(__name__, _SOURCE, __all__)
