"""NASNet search space (Zoph et al., CVPR 2018): cells, network, counts, drawing, ``build``.

The names below are re-exported lazily (imported from ``space`` on first use), so
importing a light submodule such as the CLI command does not import the whole family.
"""

from __future__ import annotations

from archsearch.lazy import reexports

_SOURCE = "archsearch.spaces.nasnet.space"
__all__ = [
    "B",
    "cell_blocks",
    "COMBINERS",
    "CONCAT_RULES",
    "draw_cell",
    "genotype",
    "GENOTYPES",
    "LAYOUTS",
    "nasnet",
    "NASNetConfig",
    "NASNetSpace",
    "OPS",
    "PUBLISHED",
    "Published",
]

__getattr__, __dir__ = reexports(__name__, _SOURCE, __all__)
