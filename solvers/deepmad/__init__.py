"""DeepMAD: CNN design by mathematical programming, its strategy and ``design``."""

from __future__ import annotations

from archsearch.solvers.deepmad.solver import (
    A_DEFAULT,
    DEPTH_PENALTIES,
    FAMILIES,
    Family,
    Objective,
    Solution,
    Structure,
    Terms,
    evaluate,
    optimize,
    solve,
    to_architecture,
    to_spec,
)

__all__ = [
    "A_DEFAULT",
    "DEPTH_PENALTIES",
    "evaluate",
    "FAMILIES",
    "Family",
    "Objective",
    "optimize",
    "Solution",
    "solve",
    "Structure",
    "Terms",
    "to_architecture",
    "to_spec",
]
