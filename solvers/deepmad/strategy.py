"""``--strategy deepmad``: train the networks DeepMAD designs for one or more budgets.

DeepMAD (Shen et al., CVPR 2023) designs a CNN without training by solving a mathematical
program (:mod:`archsearch.solvers.deepmad`). As a strategy it solves once per budget, in the
order given, asks each solved network once for the normal trainer to train, then raises
:class:`~archsearch.strategy.Exhausted`. Budgets are the options ``flops`` and ``params``
(numbers or equal-length lists); the design resolution defaults to the space's ``resolution``
option (set it to the dataset's input size). Budgets quoted at another resolution (ImageNet's
224, say) are scaled to the design resolution r with ``budget_resolution=R``: FLOPs times
(r / R)^2, as conv FLOPs grow with the feature-map area. The networks are of the ``cnn``
space: run it on ``--space cnn --space-opt free=true``. The problem is the published one by
default (the released code's space and counting, ``bounds="published"``); with
``bounds="relaxed"`` the budgets count what the trained cnn network costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archsearch.options import check_options
from archsearch.space import Space
from archsearch.strategies.designed import DesignedNetworks


def _as_list(name: str, value: float | Sequence[float] | None) -> list[float]:
    if value is None:
        raise ValueError(
            f"strategy 'deepmad' needs option {name} (a number or a list, e.g. "
            f"--strategy-opt {name}=[4.13e9])"
        )
    values = [value] if isinstance(value, (int, float)) else list(value)
    if not values or any(not isinstance(v, (int, float)) or v <= 0 for v in values):
        raise ValueError(f"strategy 'deepmad' option {name}={value!r} must hold positive numbers")
    return [float(v) for v in values]


class DeepMADStrategy(DesignedNetworks):
    """Asks the DeepMAD solution of each (flops, params) budget once, then stops."""

    noun = "DeepMAD networks"

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        flops: float | Sequence[float] | None = None,
        params: float | Sequence[float] | None = None,
        family: str = "resnet",
        rho: float | None = None,
        resolution: int | None = None,
        budget_resolution: int | None = None,
        num_classes: int = 1000,
        **options: Any,
    ) -> None:
        super().__init__(space, objectives, seed)
        from archsearch.solvers.deepmad.solver import optimize

        own = ("flops", "params", "family", "rho", "resolution", "budget_resolution")
        check_options("strategy 'deepmad'", optimize, options, fixed=own, extra=own)

        f_list, p_list = _as_list("flops", flops), _as_list("params", params)
        if len(f_list) != len(p_list):
            raise ValueError(
                f"strategy 'deepmad': {len(f_list)} flops budgets but {len(p_list)} params budgets"
            )
        res = int(resolution or space.resolution or 224)
        if budget_resolution is not None:
            if budget_resolution < 1:
                raise ValueError(f"budget_resolution must be >= 1, got {budget_resolution}")
            f_list = [f * (res / budget_resolution) ** 2 for f in f_list]
        self.budgets = list(zip(f_list, p_list))
        for f, p in self.budgets:
            sol = optimize(f, p, family, rho, res, num_classes=num_classes, **options)
            self._add(
                sol.arch,
                "the DeepMAD network",
                flops_budget=f,
                params_budget=p,
                deepmad_objective=sol.objective,
                deepmad_bound=sol.bound,
            )
