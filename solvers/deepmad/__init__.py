"""DeepMAD: CNN design by mathematical programming, its strategy and ``design``.

The names below are re-exported lazily (imported from ``solver`` on first use), so
importing a light submodule such as the CLI command does not import the whole family.
"""

from __future__ import annotations

from archsearch.lazy import reexports

_SOURCE = "archsearch.solvers.deepmad.solver"
__all__ = [
    "A_DEFAULT",
    "BOUNDS",
    "DEPTH_PENALTIES",
    "evaluate",
    "FAMILIES",
    "Family",
    "family_template",
    "Objective",
    "optimize",
    "RELAXED",
    "RELEASED_HEADS",
    "Solution",
    "solve",
    "Structure",
    "Terms",
    "to_architecture",
    "to_spec",
]

__getattr__, __dir__ = reexports(__name__, _SOURCE, __all__)
