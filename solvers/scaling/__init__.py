"""Fast compound scaling (dWr), its report, its strategy and ``scale``.

The names below are re-exported lazily (imported from ``solver`` on first use), so
importing a light submodule such as the CLI command does not import the whole family.
"""

from __future__ import annotations

from archsearch.lazy import reexports

_SOURCE = "archsearch.solvers.scaling.solver"
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

__getattr__, __dir__ = reexports(__name__, _SOURCE, __all__)
