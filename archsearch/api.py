"""The Python API: one call runs a search and returns its run folder.

``search(space, strategy, dataset=..., budget=...)`` takes the fields of
:class:`~archsearch.config.SearchConfig` (names, or Python objects for a custom space,
strategy, dataset or evaluator). Everything is validated and built before the run folder
exists (:func:`archsearch.plan.prepare`); then the folder is created and locked, and the one
:class:`~archsearch.loop.Loop` runs ``ask -> evaluate -> journal -> tell`` on the chosen
executor until ``budget`` trials are journaled; ``best.json`` (``pareto.json`` for several
objectives) and ``report.html`` are written and the lock released. ``search(resume=RUN_DIR)``
checks the journal, restores the strategy (its JSON snapshot when it matches, else a replay of
the journal) and continues the same search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from archsearch.config import SearchConfig
from archsearch.loop import Loop
from archsearch.plan import Plan, get_executor, prepare
from archsearch.progress import ProgressBar
from archsearch.results import Record, Run, best_of
from archsearch.strategy import Objective

__all__ = ["DEFAULT_BUDGET", "DEFAULT_EPOCHS", "SearchConfig", "get_executor", "search"]

DEFAULT_BUDGET = SearchConfig.budget
DEFAULT_EPOCHS = SearchConfig.epochs


def search(
    space: Any = None,
    strategy: Any = None,
    *,
    resume: str | Path | None = None,
    evaluator: Callable[..., Any] | None = None,
    progress: bool = True,
    on_record: Callable[[Record], None] | None = None,
    report: bool = True,
    **fields: Any,
) -> Run:
    """Run (or, with ``resume``, continue) a search and return its run folder.

    ``fields`` are :class:`~archsearch.config.SearchConfig`'s (``dataset``, ``budget``,
    ``epochs``, ``seed``, ``objectives``, ``executor``, ``executor_options``,
    ``space_options``, ``strategy_options``, ``trainer_options``, ``data_root``, ``out``,
    ``run_id``). At the end it writes ``best.json`` (``pareto.json`` for several objectives)
    and, with ``report=True``, ``report.html``.
    """
    plan = prepare(space, strategy, resume=resume, evaluator=evaluator, **fields)
    run, journal = plan.open()
    try:
        _run_loop(plan, run, journal, progress, on_record)
    except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: say which run to resume
        e.run = run.path  # type: ignore[attr-defined]
        raise
    finally:
        try:
            run.write_summary()
            if report:
                from archsearch.report import write_report

                write_report(run)
        finally:
            run.close()
    return run


def _run_loop(
    plan: Plan,
    run: Run,
    journal: Sequence[Any],
    progress: bool,
    on_record: Callable[[Record], None] | None,
) -> None:
    records = [r for _, r in journal]
    remaining = plan.config.budget - len(records)
    if remaining <= 0:
        return
    objs = plan.objectives
    evaluator = plan.evaluator(run.path)
    bar = None
    if progress:
        best = best_of(records, objs[0])
        bar = ProgressBar(
            plan.config.budget, len(records), objs[0], best and best.result.value(objs[0].name)
        )

    def each(record: Record) -> None:
        if bar is not None:
            bar(record)
        _check_objectives(record, objs)
        if on_record is not None:
            on_record(record)

    loop = Loop(
        plan.strategy,
        run,
        [line for line, _ in journal],
        each,
        snapshot_seconds=plan.executor.snapshot_seconds,
        concurrent=plan.executor.concurrent,
    )
    try:
        plan.executor.run(loop, evaluator, remaining)
    finally:
        if bar is not None:
            bar.close()


def _check_objectives(record: Record, objectives: Sequence[Objective]) -> None:
    """Stop a search whose objective names a metric its successful trials do not report.

    Evaluators that declare what they report are checked before the run starts
    (:func:`archsearch.plan.prepare`); this catches custom evaluators that do not.
    """
    result = record.result
    if result.status != "ok":
        return
    for o in objectives:
        if o.name not in result.metrics and o.name not in result.cost:
            known = ", ".join(sorted({*result.metrics, *result.cost}))
            raise ValueError(
                f"objective '{o.name}' is not a metric of this search's trials; they report: "
                f"{known}"
            )
