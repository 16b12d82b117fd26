"""The one search loop: ask -> evaluate -> journal append -> tell -> snapshot -> on_record.

Every executor (local, Ray) and ``expand`` drive a :class:`Loop`; they differ only in how an
evaluation runs. The order of the bookkeeping is fixed here: the journal line is written
(flushed and fsynced) before the strategy learns the result, so a kill at any point loses at
most the trials in flight. Snapshots (``strategy.json``) are a shortcut for resume and are
throttled the same way everywhere (at most one every ``snapshot_seconds``, and one when the loop
closes), so the per-trial cost of the driver does not grow with the run: a snapshot holds the
strategy's own small JSON state, and the journal's identity is a running SHA-256, never re-read.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Sequence

from archsearch import snapshot
from archsearch.journal import Line
from archsearch.results import Record, Run
from archsearch.strategy import Exhausted, Result, Strategy, Trial

OnRecord = Callable[[Record], None]


class Loop:
    """The bookkeeping of one search over ``run``, shared by every executor.

    ``journal`` is the run's journal as read at the start (the lines the strategy has been told);
    ``concurrent=True`` (Ray) allows snapshots while trials are in flight, which the executor
    then keeps in its own in-flight file.
    """

    def __init__(
        self,
        strategy: Strategy,
        run: Run,
        journal: Sequence[Line] = (),
        on_record: OnRecord | None = None,
        snapshot_seconds: float = 1.0,
        concurrent: bool = False,
    ) -> None:
        if snapshot_seconds < 0:
            raise ValueError(f"snapshot_seconds must be >= 0, got {snapshot_seconds}")
        self.strategy, self.run, self.on_record = strategy, run, on_record
        self.every, self.concurrent = float(snapshot_seconds), concurrent
        self._sha = hashlib.sha256()
        for line in journal:
            self._sha.update(line.raw + b"\n")
        self.told = len(journal)
        self.finished = 0
        self.pending: set[int] = set()
        self.exhausted = False
        self._last, self._dirty, self._broken = time.monotonic(), False, False

    def ask(self) -> Trial | None:
        """The strategy's next trial, or None once it is exhausted."""
        try:
            trial = self.strategy.ask()
        except Exhausted:
            self.exhausted = True
            return None
        self.pending.add(trial.number)
        return trial

    def finish(self, trial: Trial, result: Result, seconds: float) -> Record:
        """Journal a finished trial, tell the strategy, maybe snapshot, then call on_record."""
        record = Record(trial, result, finished=time.time(), seconds=seconds)
        line = self.run.append(record)
        self._sha.update(line + b"\n")
        self.strategy.tell(trial, result)
        self.told += 1
        self.finished += 1
        self.pending.discard(trial.number)
        self._dirty = True
        if time.monotonic() - self._last >= self.every:
            self.snapshot()
        if self.on_record is not None:
            self.on_record(record)
        return record

    def forget(self, trial: Trial) -> None:
        """A trial that will not be journaled now (it reruns on resume)."""
        self.pending.discard(trial.number)

    def snapshot(self) -> None:
        """Write the strategy's snapshot now, if it changed and no unjournaled ask would be lost."""
        if not self._dirty or self._broken or (self.pending and not self.concurrent):
            return
        try:
            snapshot.save(self.run, self.strategy, self.told, self._sha.hexdigest())
        except (TypeError, ValueError) as e:  # a state that is not JSON: resume replays instead
            self._broken = True
            warnings.warn(
                f"strategy {type(self.strategy).__name__} cannot be snapshotted ({e}); "
                "resume will replay the journal",
                stacklevel=2,
            )
            return
        self._last, self._dirty = time.monotonic(), False

    def __getstate__(self) -> dict:
        # Tune pickles its searcher (and so this loop) for its own experiment state; a copy never
        # writes the run, so the running digest (not picklable) is left behind.
        state = dict(self.__dict__)
        state["_sha"], state["_broken"] = None, True
        return state

    def close(self) -> None:
        """The last snapshot (also after Ctrl-C, unless a trial was asked but never journaled)."""
        self.snapshot()
