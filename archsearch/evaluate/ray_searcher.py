"""The driver side of the Ray executor: an archsearch strategy seen by Tune as a ``Searcher``.

Tune asks the searcher for a configuration whenever a trial slot is free
(``suggest`` -> ``strategy.ask``) and tells it when a trial ends (``on_trial_complete`` ->
``strategy.tell``). Everything that makes the run durable happens here, in the driver process, in
the order of the one :class:`~archsearch.loop.Loop` as each trial ends: the journal line is
appended (``trials.jsonl``, the truth), the strategy is told, its throttled JSON snapshot is
written, then ``inflight.json`` (the trials asked and not yet journaled) is rewritten.

Statuses: a trial whose last report carries the evaluator's result is journaled with that result
(``ok`` or ``failed``); one stopped by the scheduler after some epochs is ``pruned`` with the
metrics of its last epoch; one whose worker process died more than ``max_failures`` times is
``failed`` with Tune's error text. A trial stopped before it reported anything (the run was
interrupted) is not journaled: it stays in flight and runs again on resume.

Resume after the driver was killed (SIGKILL included) is :meth:`Ledger.reconcile`: journaled
trials the snapshot had not been told yet are told, and in-flight trials the restored strategy had
already asked are run again as they were; trials asked after the last snapshot are simply asked
again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ray.tune import Callback
from ray.tune.progress_reporter import TrialProgressCallback
from ray.tune.search import Searcher

from archsearch.evaluate.ray_trial import EPOCH_KEY, FINAL_KEY, TIME_ATTR, TRIAL_KEY
from archsearch.journal import INFLIGHT, read_in_flight
from archsearch.loop import Loop
from archsearch.strategy import Result, Trial


class Ledger:
    """Journal, strategy and in-flight trials of one ``RayExecutor.run`` call, kept in step."""

    def __init__(self, loop: Loop, max_failures: int = 0) -> None:
        self.loop = loop
        self.strategy, self.run = loop.strategy, loop.run
        self.max_failures = max_failures
        self.inflight: dict[int, Trial] = {}
        self.rerun: list[Trial] = []
        self.by_tune_id: dict[str, Trial] = {}
        self.epochs: dict[str, dict[int, dict[str, float]]] = {}
        self.errored: set[str] = set()

    def reconcile(self) -> int:
        """Bring strategy, journal and in-flight file into step; returns the journal's length."""
        self.run.repair()
        records = self.run.records()
        # Tells follow the journal's order, so records past n_told were journaled by a driver
        # killed before it told the strategy and wrote the snapshot.
        for record in records[self.strategy.n_told :]:
            self.strategy.tell(record.trial, record.result)
        done = {r.trial.number for r in records}
        if done and self.strategy.n_asked <= max(done):
            # A strategy rebuilt by replaying the journal counts fewer asks than were made when
            # trials ran concurrently; numbers must stay unique within the run.
            self.strategy.n_asked = max(done) + 1
        self.rerun = sorted(
            (t for t in read_in_flight(self.run.path) if t.number not in done),
            key=lambda t: t.number,
        )
        self.rerun = [t for t in self.rerun if t.number < self.strategy.n_asked]
        self.inflight = {t.number: t for t in self.rerun}
        self._write_inflight()
        return len(records)

    def next_trial(self, tune_id: str) -> Trial | None:
        """The trial to run under ``tune_id``: an interrupted one first, else a new ask."""
        if self.rerun:
            trial = self.rerun.pop(0)
        else:
            trial = self.loop.ask()
            if trial is None:
                return None
        self.inflight[trial.number] = trial
        self.by_tune_id[tune_id] = trial
        self._write_inflight()
        return trial

    def on_epoch(self, tune_id: str, report: dict[str, Any]) -> None:
        """Keep an epoch's metrics (a pruned trial is journaled with its last ones)."""
        if EPOCH_KEY in report and tune_id in self.by_tune_id:
            self.epochs.setdefault(tune_id, {})[int(report[TIME_ATTR])] = json.loads(
                report[EPOCH_KEY]
            )

    def complete(self, tune_id: str, last: dict[str, Any] | None) -> None:
        """A trial ended without a worker error: finished or stopped by the scheduler."""
        trial = self.by_tune_id.get(tune_id)
        if trial is None or tune_id in self.errored:
            return
        last = last or {}
        self.on_epoch(tune_id, last)  # a stopping report reaches the searcher only here
        epochs = self.epochs.get(tune_id, {})
        if FINAL_KEY in last:
            payload = json.loads(last[FINAL_KEY])
            result, seconds = Result.from_json(payload["result"]), float(payload["seconds"])
        elif epochs:
            history = [{"epoch": float(e), **m} for e, m in sorted(epochs.items())]
            result = Result("pruned", metrics=dict(epochs[max(epochs)]), history=history)
            seconds = float(last.get("time_total_s", 0.0))
        else:
            self.loop.forget(trial)
            self._forget(tune_id)  # never ran: it stays in flight and runs again on resume
            return
        self._finish(tune_id, trial, result, seconds)

    def fail(self, tune_id: str, error: str, failures: int, seconds: float) -> None:
        """A trial whose worker died more often than ``max_failures`` allows."""
        trial = self.by_tune_id.get(tune_id)
        if trial is None:
            return
        history = [
            {"epoch": float(e), **m} for e, m in sorted(self.epochs.get(tune_id, {}).items())
        ]
        text = (
            f"the trial's worker process died {failures} time(s) "
            f"(max_failures={self.max_failures}):\n{error}"
        )
        self._finish(tune_id, trial, Result.failed(text, history=history), seconds)

    def _finish(self, tune_id: str, trial: Trial, result: Result, seconds: float) -> None:
        self.inflight.pop(trial.number, None)
        self.loop.finish(trial, result, seconds)
        self._write_inflight()
        self._forget(tune_id)

    def _forget(self, tune_id: str) -> None:
        self.by_tune_id.pop(tune_id, None)
        self.epochs.pop(tune_id, None)
        self.errored.discard(tune_id)

    def _write_inflight(self) -> None:
        # Plain write-and-rename, no fsync: it guards against a killed process, not a lost
        # machine, and at worst an in-flight trial is asked again instead of rerun.
        path = self.run.path / INFLIGHT
        tmp = path.with_name(INFLIGHT + ".tmp")
        trials = [t.to_json() for t in sorted(self.inflight.values(), key=lambda t: t.number)]
        tmp.write_text(json.dumps({"trials": trials}) + "\n")
        os.replace(tmp, path)

    @property
    def exhausted(self) -> bool:
        """Whether the strategy has nothing left to propose."""
        return self.loop.exhausted

    @property
    def finished(self) -> int:
        """Trials journaled by this ledger."""
        return self.loop.finished

    def state(self) -> bytes:
        """The in-flight trials and the strategy's JSON state, for Tune's searcher checkpoint."""
        inflight = [t.to_json() for t in self.inflight.values()]
        return json.dumps({"strategy": self.strategy.state(), "inflight": inflight}).encode()

    def set_state(self, blob: bytes) -> None:
        """Inverse of :meth:`state` (JSON: nothing of the checkpoint is unpickled)."""
        state = json.loads(blob)
        if state.get("strategy") is not None:
            self.strategy.load_state(state["strategy"])
        self.inflight = {t.number: t for t in map(Trial.from_json, state["inflight"])}
        self.rerun = sorted(self.inflight.values(), key=lambda t: t.number)


class StrategySearcher(Searcher):
    """A Tune ``Searcher`` backed by an archsearch strategy (through a :class:`Ledger`)."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(metric=None, mode=None)
        self.ledger = ledger

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        """Ask the strategy (or hand out an interrupted trial); FINISHED when it is exhausted."""
        trial = self.ledger.next_trial(trial_id)
        return Searcher.FINISHED if trial is None else {TRIAL_KEY: trial.to_json()}

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """Keep per-epoch metrics."""
        self.ledger.on_epoch(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Journal and tell; a worker error waits for :class:`ErrorText`, which has its text."""
        if error:
            self.ledger.errored.add(trial_id)
        else:
            self.ledger.complete(trial_id, result)

    def save(self, checkpoint_path: str) -> None:
        """Write the strategy's state (Tune checkpoints its searcher with the experiment)."""
        Path(checkpoint_path).write_bytes(self.ledger.state())

    def restore(self, checkpoint_path: str) -> None:
        """Read what :meth:`save` wrote."""
        self.ledger.set_state(Path(checkpoint_path).read_bytes())


class TrialEnd(Callback):
    """Journals a trial whose worker died for good, and slims every finished Tune trial.

    Tune tells a searcher only the trial id on error; this callback, called right after, sees the
    trial itself (error file, number of failures). Tune also keeps every finished ``Trial`` with
    its last result and running statistics of every reported number (~25 KB each), which makes
    a long driver grow; they are dropped once the journal has the trial.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Record the dead trial as failed."""
        error = trial.get_error()
        text = str(error) if error is not None else "the worker process died"
        seconds = float((trial.last_result or {}).get("time_total_s", 0.0))
        self.ledger.fail(trial.trial_id, text, trial.num_failures, seconds)
        _slim(trial)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Drop what Tune keeps of a finished trial beyond its identity."""
        _slim(trial)


def _slim(trial: Any) -> None:
    meta = getattr(trial, "run_metadata", None)
    if meta is None:
        return
    last = meta.last_result or {}
    meta.last_result = {k: last[k] for k in _KEEP if k in last}
    meta.metric_analysis = {}
    meta.metric_n_steps = {}


_KEEP = ("trial_id", "done", "training_iteration", "time_total_s")


class Silent(TrialProgressCallback):
    """Stands in for Tune's console progress callback, which would print and keep every trial.

    Progress is archsearch's own (``on_record``); with one of these in the callbacks Tune does
    not add its default.
    """

    def __init__(self) -> None:
        super().__init__()

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        """Nothing to print."""

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Nothing to print (the journal has the error)."""

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Nothing to print."""
