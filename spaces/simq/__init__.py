"""SimQ-NAS spaces: elastic ResNet / ViT super-networks with per-layer bit widths.

The names below are re-exported lazily (imported from ``space`` on first use), so
importing a light submodule such as the CLI command does not import the whole family.
"""

from __future__ import annotations

from archsearch.lazy import reexports

_SOURCE = "archsearch.spaces.simq.space"
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

__getattr__, __dir__ = reexports(__name__, _SOURCE, __all__)
