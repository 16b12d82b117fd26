"""Growth settings of a self-expanding network (torch-free; the gate is :mod:`archsearch.spaces.expanding.grow`).

Mitchell, Mundt and Kersting, "Self-Expanding Neural Networks" (arXiv 2307.04526): ``tau`` the
relative and ``alpha`` the absolute threshold on the gain of the natural expansion score,
``cooldown`` epochs between growths, ``layer_cost`` the cost factor of depth, and caps on size.
"""

from __future__ import annotations

from dataclasses import dataclass

FISHERS = ("exact", "sampled", "empirical")
LAYER_INITS = ("residual", "identity")
ALLOWED = ("both", "width", "depth")
SELECTIONS = ("gain", "gain_per_param")


@dataclass(frozen=True)
class GrowthSettings:
    """When and how a network may grow (see the module docstring for the gate)."""

    tau: float = 0.1
    alpha: float = 0.01
    cooldown: int = 2
    allowed: str = "both"
    widen_by: int = 4
    layer_init: str = "residual"
    layer_cost: float = 2.0
    max_params: int = 50_000
    max_width: int = 64
    max_layers: int = 4
    damping: float = 1e-3
    fisher: str = "exact"
    score_size: int = 256
    select: str = "gain_per_param"

    def __post_init__(self) -> None:
        if self.allowed not in ALLOWED:
            raise ValueError(
                f"unknown allowed growth {self.allowed!r}; known: {', '.join(ALLOWED)}"
            )
        if self.layer_init not in LAYER_INITS:
            raise ValueError(
                f"unknown layer init {self.layer_init!r}; known: {', '.join(LAYER_INITS)}"
            )
        if self.select not in SELECTIONS:
            raise ValueError(f"unknown selection {self.select!r}; known: {', '.join(SELECTIONS)}")
        if self.fisher not in FISHERS:
            raise ValueError(f"unknown fisher {self.fisher!r}; known: {', '.join(FISHERS)}")
        for name in ("tau", "alpha"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("cooldown", "widen_by", "max_width", "max_layers", "score_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.layer_cost > 0 or not self.damping > 0:
            raise ValueError(
                f"layer_cost and damping must be > 0, got {self.layer_cost}, {self.damping}"
            )
