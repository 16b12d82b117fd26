"""NASNet search space (Zoph et al., CVPR 2018): cells, network, counts, drawing, ``build``."""

from __future__ import annotations

from archsearch.spaces.nasnet.space import (
    COMBINERS,
    CONCAT_RULES,
    GENOTYPES,
    LAYOUTS,
    OPS,
    PUBLISHED,
    B,
    NASNetConfig,
    NASNetSpace,
    Published,
    cell_blocks,
    draw_cell,
    genotype,
    nasnet,
)

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
