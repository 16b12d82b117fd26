"""The local executor: one trial at a time, in this process, deterministic.

It drives the one :class:`~archsearch.loop.Loop` (ask -> evaluate -> journal -> tell ->
snapshot -> on_record) and only decides how an evaluation runs: here, a direct call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from archsearch.evaluate.base import call_evaluator
from archsearch.loop import Loop


class LocalExecutor:
    """Run trials sequentially in-process."""

    name = "local"
    #: Trials run one after another: a snapshot never races an unjournaled ask.
    concurrent = False

    def __init__(self, snapshot_seconds: float = 1.0) -> None:
        if snapshot_seconds < 0:
            raise ValueError(f"snapshot_seconds must be >= 0, got {snapshot_seconds}")
        self.snapshot_seconds = float(snapshot_seconds)

    def check(self) -> None:
        """Nothing to check before a run: this process is the machine."""

    def run(self, loop: Loop, evaluator: Callable[..., Any], budget: int) -> int:
        """Finish up to ``budget`` new trials through ``loop``; returns how many were journaled."""
        try:
            while loop.finished < budget:
                trial = loop.ask()
                if trial is None:
                    break
                start = time.time()
                result = call_evaluator(evaluator, trial)
                loop.finish(trial, result, time.time() - start)
        finally:
            loop.close()
        return loop.finished


Executor = LocalExecutor
