"""``--strategy scaling``: train a found network compound-scaled to several flop factors.

The paper's use of fast compound scaling (Dollar, Singh, Girshick, CVPR 2021): take the best
architecture of a finished run (or an architecture file, or a reference network of
:data:`archsearch.spaces.cnn.zoo.ZOO`), scale it by each factor with
:func:`archsearch.solvers.scaling.scale` and ask each scaled network once, in the order given,
for the normal trainer to train; then :class:`~archsearch.strategy.Exhausted`. It proposes
networks of the ``cnn`` space, so run it on ``--space cnn --space-opt free=true`` (scaled widths
and depths leave the searchable domains).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archsearch.arch import Architecture
from archsearch.space import Space
from archsearch.strategies.designed import DesignedNetworks


class ScalingStrategy(DesignedNetworks):
    """Asks the base scaled by each of ``factors`` (alpha or a named ``scaling``), then stops."""

    noun = "scaled networks"

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        base: str | Path | Architecture | None = None,
        factors: Sequence[float] = (2, 4),
        alpha: float = 0.8,
        scaling: str | None = None,
    ) -> None:
        super().__init__(space, objectives, seed)
        from archsearch.solvers.scaling.report import load_base
        from archsearch.solvers.scaling.solver import scale

        if base is None:
            raise ValueError(
                "strategy 'scaling' needs option base=RUN_DIR, an architecture file or a "
                "reference network (--strategy-opt base=...)"
            )
        if isinstance(factors, (int, float)):
            factors = [factors]
        if not factors:
            raise ValueError("strategy 'scaling' needs at least one factor (factors=[2, 4])")
        arch = base if isinstance(base, Architecture) else load_base(base)
        self.base, self.factors = arch, [float(f) for f in factors]
        self.alpha, self.scaling = float(alpha), scaling
        for f in self.factors:
            self._add(
                scale(arch, f, self.alpha, strategy=scaling),
                f"the base scaled by {f:g}",
                factor=f,
                scaling=scaling or f"alpha={self.alpha:g}",
            )
