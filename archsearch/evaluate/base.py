"""Calling evaluators: any callable ``evaluator(arch, *, report=None, **meta) -> Result``.

Executors never call an evaluator directly but through :func:`call_evaluator`, which passes the
per-epoch ``report`` callback and the trial's settings (``trial.meta``, e.g. an epoch budget)
only to evaluators that accept them, and turns any exception into a failed
:class:`~archsearch.strategy.Result` carrying the traceback, so one broken candidate never
stops a search. ``KeyboardInterrupt`` (and ``SystemExit``) still propagate.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from archsearch.options import keywords
from archsearch.strategy import Result, Trial

Report = Callable[[int, dict[str, float]], None]


def as_result(value: Any) -> Result:
    """An evaluator's return value as a Result: a Result, or a mapping of metrics."""
    if isinstance(value, Result):
        return value
    if isinstance(value, Mapping):
        metrics = {str(k): float(v) for k, v in value.items()}
        bad = [k for k, v in metrics.items() if math.isnan(v) or math.isinf(v)]
        if bad:
            return Result.failed(f"evaluator returned a non-finite {bad[0]}", metrics=metrics)
        return Result(metrics=metrics)
    raise TypeError(
        f"evaluator returned {type(value).__name__}; expected a Result or a dict of metrics"
    )


def call_evaluator(
    evaluator: Callable[..., Any], trial: Trial, report: Report | None = None
) -> Result:
    """Evaluate ``trial.arch``; exceptions (not KeyboardInterrupt) become failed Results."""
    try:
        names, var_kw = keywords(evaluator, skip=1) or ([], False)  # skip: the architecture
        kwargs: dict[str, Any] = {}
        if report is not None and ("report" in names or var_kw):
            kwargs["report"] = report
        for k, v in trial.meta.items():
            if k != "report" and (k in names or var_kw):
                kwargs[k] = v
        return as_result(evaluator(trial.arch, **kwargs))
    except Exception:
        return Result.failed(traceback.format_exc().rstrip())
