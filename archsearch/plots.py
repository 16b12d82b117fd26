"""Figures of a run (matplotlib, Agg): best-so-far curves, cost scatter, Pareto front.

Each function takes journal records and returns a matplotlib Figure, or None when the run has
nothing to show for that figure (e.g. no finished trial); :mod:`archsearch.report` embeds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter  # noqa: E402

from archsearch.results import Record, pareto_front  # noqa: E402
from archsearch.strategy import Objective, score  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def best_so_far(records: Sequence[Record], objective: Objective) -> list[float | None]:
    """The best value of ``objective`` after each record (None until one scored)."""
    out: list[float | None] = []
    best = None
    for r in records:
        s = score(r.result, objective)
        if s is not None and (best is None or s > best):
            best = s
        out.append(None if best is None else objective.sign() * best)
    return out


def _curve(ax, xs: Sequence[float], ys: Sequence[float | None], label: str | None = None) -> None:
    pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
    if pts:
        ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", label=label)


def _mark_failed(ax, xs: Sequence[float]) -> None:
    """Failed trials as red crosses along the bottom of ``ax`` (they have no value to plot)."""
    if xs:
        ax.scatter(
            list(xs),
            [0.03] * len(xs),
            marker="x",
            s=28,
            color="C3",
            transform=ax.get_xaxis_transform(),  # x in data, y in axes fraction
            label=f"failed ({len(xs)})",
            clip_on=False,
            zorder=3,
        )


def progress_figure(records: Sequence[Record], objective: Objective) -> Figure | None:
    """Best-so-far against the trial number (0-based, as in the tables) and against wall time.

    Failed trials are marked with red crosses along the bottom of both panels.
    """
    if not any(score(r.result, objective) is not None for r in records):
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    by_number = sorted(records, key=lambda r: r.trial.number)
    numbers = [r.trial.number for r in by_number]
    vals = [r.result.value(objective.name) for r in by_number]
    ok = [
        (n, v)
        for n, v, r in zip(numbers, vals, by_number)
        if v is not None and r.result.status != "failed"
    ]
    a1.scatter([n for n, _ in ok], [v for _, v in ok], s=10, color="0.6", label="trial")
    _curve(a1, numbers, best_so_far(by_number, objective), "best so far")
    _mark_failed(a1, [r.trial.number for r in by_number if r.result.status == "failed"])
    a1.set_xlabel("trial number")
    a1.xaxis.set_major_locator(MaxNLocator(integer=True))
    a1.set_ylabel(objective.name)
    a1.legend(loc="best")
    by_time = sorted(records, key=lambda r: r.finished)
    t0 = min((r.finished - r.seconds for r in by_time), default=0.0)
    _curve(a2, [r.finished - t0 for r in by_time], best_so_far(by_time, objective))
    _mark_failed(a2, [r.finished - t0 for r in by_time if r.result.status == "failed"])
    a2.set_xlabel("wall-clock seconds since the first trial started")
    a2.set_ylabel(f"best {objective.name}")
    if any(r.result.status == "failed" for r in records):
        a2.legend(loc="best")
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _count_axis(ax, xs: Sequence[float]) -> None:
    """A log x axis over a decade or more, else linear; ticks read as K/M/G counts."""
    from archsearch.runview import human

    if xs and max(xs) >= 10 * min(xs):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v, 3)))


def cost_figure(records: Sequence[Record], objective: Objective) -> Figure | None:
    """The objective against FLOPs and against parameters."""
    pts = [
        (r.result.cost.get("flops"), r.result.cost.get("params"), r.result.value(objective.name))
        for r in records
        if r.result.status != "failed"
    ]
    pts = [p for p in pts if p[2] is not None and (p[0] or p[1])]
    if not pts:
        return None
    failed = [
        (r.result.cost.get("flops"), r.result.cost.get("params"))
        for r in records
        if r.result.status == "failed"
    ]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, i, label in ((axes[0], 0, "FLOPs: multiply-adds (MACs)"), (axes[1], 1, "parameters")):
        xs = [(p[i], p[2]) for p in pts if p[i]]
        ax.scatter([x for x, _ in xs], [y for _, y in xs], s=12)
        bad = [f[i] for f in failed if f[i]]
        _mark_failed(ax, bad)
        if bad:
            ax.legend(loc="best")
        _count_axis(ax, [x for x, _ in xs] + bad)
        ax.set_xlabel(label)
        ax.set_ylabel(objective.name)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def pareto_figure(records: Sequence[Record], objectives: Sequence[Objective]) -> Figure | None:
    """All trials and the Pareto front over the first two objectives."""
    if len(objectives) < 2:
        return None
    o1, o2 = objectives[:2]
    pts = [
        (r.result.value(o1.name), r.result.value(o2.name))
        for r in records
        if r.result.status != "failed"
    ]
    pts = [p for p in pts if None not in p]
    if not pts:
        return None
    front = pareto_front(records, objectives[:2])
    fx = sorted((r.result.value(o1.name), r.result.value(o2.name)) for r in front)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=10, color="0.6", label="trials")
    ax.plot([p[0] for p in fx], [p[1] for p in fx], "o-", color="C3", label="Pareto front")
    ax.set_xlabel(f"{o1.name} ({o1.direction})")
    ax.set_ylabel(f"{o2.name} ({o2.direction})")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def compare_figure(runs: Sequence[tuple[str, Sequence[Record]]], objective: Objective) -> Figure:
    """Best-so-far curves of several runs in one figure."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, records in runs:
        ordered = sorted(records, key=lambda r: r.trial.number)
        numbers = [r.trial.number for r in ordered]
        _curve(ax, numbers, best_so_far(ordered, objective), label)
    ax.set_xlabel("trial number")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"best {objective.name}")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    return fig
