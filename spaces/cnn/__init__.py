"""The stage-wise AnyNet-style CNN space: spec, analytic counts, model, zoo."""

from __future__ import annotations

from archsearch.spaces.cnn.space import (
    BLOCKS,
    SPACE,
    CNNSpace,
    CNNSpec,
    Stage,
    build,
    cnn_space,
    complexity,
    decode,
    encode,
)

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
