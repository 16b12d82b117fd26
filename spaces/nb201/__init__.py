"""NAS-Bench-201 cell space with its network and its table evaluator.

The names below are re-exported lazily (imported from ``space`` on first use), so
importing a light submodule such as the CLI command does not import the whole family.
"""

from __future__ import annotations

from archsearch.lazy import reexports

_SOURCE = "archsearch.spaces.nb201.space"
__all__ = [
    "arch_str",
    "EDGE_NAMES",
    "EDGES",
    "from_arch_str",
    "nb201",
    "NB201Space",
    "OPS",
]

__getattr__, __dir__ = reexports(__name__, _SOURCE, __all__)
