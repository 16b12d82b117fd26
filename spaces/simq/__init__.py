"""SimQ-NAS spaces: elastic ResNet / ViT super-networks with per-layer bit widths."""

from __future__ import annotations

from archsearch.spaces.simq.space import (
    BIT_SETS,
    ResNetSpace,
    SimQResNet,
    SimQSpace,
    SimQViT,
    ViTSpace,
    simq_resnet,
    simq_vit,
)

__all__ = [
    "BIT_SETS",
    "ResNetSpace",
    "simq_resnet",
    "simq_vit",
    "SimQResNet",
    "SimQSpace",
    "SimQViT",
    "ViTSpace",
]
