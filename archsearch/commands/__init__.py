"""CLI subcommands of the core beyond those in :mod:`archsearch.cli`, listed lazily.

Each command module defines ``register(subparsers)`` and keeps its heavy imports inside its
functions, so building the parser stays cheap. Families add their own commands (``build``,
``design``, ``expand``, ``scale``) from their packages through the same registry kind.
"""

from __future__ import annotations

from archsearch.registry import register_lazy

register_lazy(
    "command",
    "export",
    "archsearch.commands.export:register",
    "export a run's best (or chosen) model: arch JSON, torch.export program, weights",
)
register_lazy(
    "command",
    "report",
    "archsearch.commands.report:register",
    "write RUN/report.html; 'compare' draws the best-so-far curves of several runs",
)
register_lazy(
    "command",
    "repair",
    "archsearch.commands.repair:register",
    "show a run's unreadable or repeated journal lines and set them aside",
)
