"""The local executor: one trial at a time, in this process, deterministic.

The loop per trial is ``ask -> evaluate -> journal append -> tell -> snapshot -> on_record``.
The journal line is written (flushed and fsynced) before the strategy learns the result, so a
kill at any point loses at most the trial in flight. The strategy snapshot is only a shortcut
for resume: it is written when it costs little next to the trials (at most every
``snapshot_seconds``, and always when the loop ends); resume replays the journal past it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

from archsearch.evaluate.base import call_evaluator
from archsearch.results import Record, Run
from archsearch.strategy import Exhausted, Strategy

OnRecord = Callable[[Record], None]


class LocalExecutor:
    """Run trials sequentially in-process; ``snapshot_seconds`` bounds snapshot overhead."""

    name = "local"

    def __init__(self, snapshot_seconds: float = 1.0) -> None:
        if snapshot_seconds < 0:
            raise ValueError(f"snapshot_seconds must be >= 0, got {snapshot_seconds}")
        self.snapshot_seconds = float(snapshot_seconds)

    def run(
        self,
        strategy: Strategy,
        evaluator: Callable[..., Any],
        run: Run,
        budget: int,
        on_record: OnRecord | None = None,
    ) -> int:
        """Finish up to ``budget`` new trials; returns how many were journaled."""
        snap = _Snapshotter(strategy, run, self.snapshot_seconds)
        done, pending = 0, False
        try:
            while done < budget:
                try:
                    trial = strategy.ask()
                except Exhausted:
                    break
                pending = True
                start = time.time()
                result = call_evaluator(evaluator, trial)
                record = Record(trial, result, finished=time.time(), seconds=time.time() - start)
                run.append(record)
                strategy.tell(trial, result)
                pending = False
                done += 1
                snap.maybe()
                if on_record is not None:
                    on_record(record)
        finally:
            # Also on KeyboardInterrupt, unless a trial was asked but never journaled: that
            # snapshot would skip its number and random draws on resume (the journal replays).
            if not pending:
                snap.now()
        return done


class _Snapshotter:
    """Save the strategy's snapshot when the last save is at least ``every`` seconds old."""

    def __init__(self, strategy: Strategy, run: Run, every: float) -> None:
        self.strategy, self.run, self.every = strategy, run, every
        self.last = time.monotonic()
        self.dirty = False
        self.broken = False

    def maybe(self) -> None:
        self.dirty = True
        if time.monotonic() - self.last >= self.every:
            self.now()

    def now(self) -> None:
        if not self.dirty or self.broken:
            return
        try:
            blob = self.strategy.snapshot()
        except Exception as e:
            # Resume replays the journal instead; warn once and stop trying.
            self.broken = True
            warnings.warn(
                f"strategy {type(self.strategy).__name__} cannot be snapshotted ({e}); "
                "resume will replay the journal",
                stacklevel=2,
            )
            return
        self.run.save_snapshot(blob)
        self.last, self.dirty = time.monotonic(), False


Executor = LocalExecutor
