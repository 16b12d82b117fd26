"""NAS-Bench-201 cell space with its network and its table evaluator."""

from __future__ import annotations

from archsearch.spaces.nb201.space import (
    EDGE_NAMES,
    EDGES,
    OPS,
    NB201Space,
    arch_str,
    from_arch_str,
    nb201,
)

__all__ = [
    "arch_str",
    "EDGE_NAMES",
    "EDGES",
    "from_arch_str",
    "nb201",
    "NB201Space",
    "OPS",
]
