"""The stage-wise AnyNet-style CNN space: spec, analytic counts, model, zoo.

The names below are re-exported lazily (imported from ``space`` on first use), so
importing a light submodule such as the CLI command does not import the whole family.
"""

from __future__ import annotations

from archsearch.lazy import reexports

_SOURCE = "archsearch.spaces.cnn.space"
__all__ = [
    "BLOCKS",
    "build",
    "cnn_space",
    "CNNSpace",
    "CNNSpec",
    "complexity",
    "decode",
    "encode",
    "SPACE",
    "Stage",
]

__getattr__, __dir__ = reexports(__name__, _SOURCE, __all__)
