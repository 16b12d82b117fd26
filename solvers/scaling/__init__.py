"""Fast compound scaling (dWr), its report, its strategy and ``scale``."""

from __future__ import annotations

from archsearch.solvers.scaling.solver import (
    ALPHAS,
    NAMED,
    NASNET_KEYS,
    Factors,
    alpha_type,
    factors,
    parse_type,
    round_group,
    round_resolution,
    round_width,
    scale,
    scale_nasnet,
    scale_spec,
)

__all__ = [
    "alpha_type",
    "ALPHAS",
    "Factors",
    "factors",
    "NAMED",
    "NASNET_KEYS",
    "parse_type",
    "round_group",
    "round_resolution",
    "round_width",
    "scale",
    "scale_nasnet",
    "scale_spec",
]
