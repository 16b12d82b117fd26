"""The self-expanding CNN space: growth while training, checkpoints, ``expand``."""

from __future__ import annotations

from archsearch.spaces.expanding.space import (
    ExpandingSpace,
    GrowingTrainer,
    GrowthSettings,
    load_checkpoint,
    read_checkpoint,
)

__all__ = [
    "ExpandingSpace",
    "GrowingTrainer",
    "GrowthSettings",
    "load_checkpoint",
    "read_checkpoint",
]
