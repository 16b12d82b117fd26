"""Solvers that design networks without training (DeepMAD, compound scaling), as plugins.

The entry point ``archsearch.plugins: solvers = "archsearch.solvers"`` loads this module; it only
names each solver, its strategy and its CLI subcommand with a one-line description, so listing
them imports neither torch nor cvxpy. Each solver is a subpackage owning all of them.
"""

from __future__ import annotations

from archsearch.registry import register_lazy

_PKG = "archsearch.solvers"
ENTRIES: tuple[tuple[str, str, str, str], ...] = (
    (
        "solver",
        "deepmad",
        f"{_PKG}.deepmad.solver:solve",
        "DeepMAD: CNN design by mathematical programming",
    ),
    (
        "strategy",
        "deepmad",
        f"{_PKG}.deepmad.strategy:DeepMADStrategy",
        "DeepMAD: train the networks solved for each budget",
    ),
    (
        "command",
        "design",
        f"{_PKG}.deepmad.cli:register",
        "design a CNN for a FLOPs/params budget by mathematical programming (DeepMAD)",
    ),
    (
        "solver",
        "scaling",
        f"{_PKG}.scaling.solver:scale",
        "fast compound scaling (dWr) of a found network, as pycls",
    ),
    (
        "strategy",
        "scaling",
        f"{_PKG}.scaling.strategy:ScalingStrategy",
        "compound-scale a run's best network to several factors",
    ),
    (
        "command",
        "scale",
        f"{_PKG}.scaling.cli:register",
        "compound-scale a network's FLOPs by a factor (fast dWr scaling, as pycls)",
    ),
)

for _kind, _name, _target, _description in ENTRIES:
    register_lazy(_kind, _name, _target, _description)
