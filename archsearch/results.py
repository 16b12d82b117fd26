"""Run folders: ``run.json``, the append-only journal ``trials.jsonl``, ``best.json``, ``pareto.json``.

The journal is the truth. One JSON line per finished trial is appended, flushed and fsynced as
the trial finishes, so a run killed at any moment keeps every finished trial; a truncated last
line (the kill hit mid-write) is dropped with a warning when the journal is read; any other
unreadable line is an error naming it (:mod:`archsearch.journal`). The strategy's snapshot
(``strategy.json``, :mod:`archsearch.snapshot`) is an optimization for resume, never the record;
no file of a run folder is ever unpickled. A writer holds the folder's lock
(:mod:`archsearch.runlock`).
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsearch import pareto
from archsearch.journal import JOURNAL, JournalError, Line, read_lines
from archsearch.pareto import dominates  # noqa: F401  (importable from here for now)
from archsearch.runlock import RunLock
from archsearch.strategy import Objective, Result, Trial, count_statuses, score, scores

RUN_JSON = "run.json"


@dataclass
class Record:
    """One journal line: the trial, its result and when it finished."""

    trial: Trial
    result: Result
    finished: float = 0.0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The journal line as a dict."""
        return {
            **self.trial.to_json(),
            "result": self.result.to_json(),
            "finished": self.finished,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Record:
        """Inverse of :meth:`to_json`."""
        return cls(
            Trial.from_json(d),
            Result.from_json(d["result"]),
            d.get("finished", 0.0),
            d.get("seconds", 0.0),
        )


def write_atomic(path: Path, text: str | bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    mode = "wb" if isinstance(text, bytes) else "w"
    with open(tmp, mode) as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _json_default(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, (set, tuple)):
        return list(x)
    return str(x)


def new_run_id(space: str, strategy: str, seed: int) -> str:
    """``YYYYmmdd-HHMMSS-<space>-<strategy>-s<seed>``."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{space}-{strategy}-s{seed}"


class Run:
    """A run folder under ``results/``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock: RunLock | None = None

    @classmethod
    def create(
        cls, root: str | Path, run_id: str, config: dict[str, Any], lock: bool = False
    ) -> Run:
        """Make a new run folder and write ``run.json`` (with a fresh run ``id``) under its lock.

        Refuses to overwrite an existing run. With ``lock=True`` the lock is kept (a search
        writes on); the caller releases it with :meth:`close`.
        """
        path = Path(root) / run_id
        if (path / RUN_JSON).exists():
            raise ValueError(
                f"run folder {path} already exists; pass --resume {path} to continue it"
            )
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path).lock()
        if (path / RUN_JSON).exists():  # another process made it between the check and the lock
            run.close()
            raise ValueError(
                f"run folder {path} already exists; pass --resume {path} to continue it"
            )
        config = {"id": uuid.uuid4().hex, **config}
        write_atomic(path / RUN_JSON, json.dumps(config, indent=2, default=_json_default) + "\n")
        if not lock:
            run.close()
        return run

    def lock(self) -> Run:
        """Take the folder's writer lock (a second writer gets a one-line error); returns self."""
        if self._lock is None:
            self._lock = RunLock(self.path).acquire()
        return self

    def close(self) -> None:
        """Release the writer lock, if held."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def id(self) -> str:
        """The run's identity: ``run.json``'s ``id`` (runs of the first landing: the folder name)."""
        return str(self.config.get("id") or self.path.name)

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """An existing run folder; a clear error if it is not one."""
        p = Path(path)
        if not (p / RUN_JSON).is_file():
            raise FileNotFoundError(f"not a run folder (no {RUN_JSON}): {p}")
        try:
            cfg = json.loads((p / RUN_JSON).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{p / RUN_JSON} is not valid JSON ({e}); not a run folder") from None
        if not isinstance(cfg, dict):
            raise ValueError(f"{p / RUN_JSON} holds a {type(cfg).__name__}, not a run's settings")
        if not {"id", "space"} & cfg.keys():
            raise ValueError(
                f"{p / RUN_JSON} holds no run settings (no id, no space); not a run folder"
            )
        return cls(p)

    @property
    def config(self) -> dict[str, Any]:
        """The contents of ``run.json``."""
        return json.loads((self.path / RUN_JSON).read_text())

    def update_config(self, **changes: Any) -> None:
        """Merge ``changes`` into ``run.json``."""
        cfg = self.config
        cfg.update(changes)
        write_atomic(self.path / RUN_JSON, json.dumps(cfg, indent=2, default=_json_default) + "\n")

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """The run's objectives, from ``run.json``."""
        from archsearch.strategy import objectives_from

        return objectives_from(self.config.get("objectives"))

    def append(self, record: Record) -> bytes:
        """Append one finished trial to the journal, flushed and fsynced; returns the line."""
        line = json.dumps(record.to_json(), default=_json_default, allow_nan=False).encode()
        with open(self.path / JOURNAL, "ab") as f:
            f.write(line + b"\n")
            f.flush()
            os.fsync(f.fileno())
        return line

    def records(self) -> list[Record]:
        """Every complete journal line; a truncated last line is dropped with a warning."""
        return [r for _, r in self.lines()]

    def lines(self) -> list[tuple[Line, Record]]:
        """Each journal line with its record; an unreadable line is a :class:`JournalError`."""
        path = self.path / JOURNAL
        lines, tail = read_lines(path)
        out = []
        for line in lines:
            try:
                if line.data is None:
                    raise ValueError(line.problem)
                out.append((line, Record.from_json(line.data)))
            except (KeyError, TypeError, ValueError) as e:
                raise JournalError(
                    f"{path}: line {line.number} is corrupt: {e}; 'archsearch repair "
                    f"{self.path}' shows it and sets it aside"
                ) from None
        if tail.strip():
            # Every finished line ends with a newline: a tail without one was cut by a kill.
            warnings.warn(
                f"{path}: dropped a truncated last line ({len(tail)} bytes); "
                "the run was killed while writing it",
                stacklevel=3,
            )
        return out

    def repair(self) -> int:
        """Cut a truncated last line off the journal before appending; returns bytes removed."""
        path = self.path / JOURNAL
        if not path.exists():
            return 0
        data = path.read_bytes()
        if not data or data.endswith(b"\n"):
            return 0
        keep = data.rfind(b"\n") + 1
        with open(path, "r+b") as f:
            f.truncate(keep)
        return len(data) - keep

    def best(self, objectives: Sequence[Objective] | None = None) -> Record | None:
        """The record with the best first objective (ties: the earliest)."""
        obj = (objectives or self.objectives)[0]
        return best_of(self.records(), obj)

    def pareto(self, objectives: Sequence[Objective] | None = None) -> list[Record]:
        """The non-dominated records over all objectives."""
        return pareto_front(self.records(), objectives or self.objectives)

    def write_summary(self) -> dict[str, Any]:
        """Write ``best.json`` (and ``pareto.json`` for several objectives); returns best.json's data."""
        objs = self.objectives
        records = self.records()
        best = best_of(records, objs[0])
        summary: dict[str, Any] = {
            "objective": {"name": objs[0].name, "direction": objs[0].direction},
            "trials": len(records),
            **count_statuses(r.result for r in records),
        }
        if best is not None:
            result = best.result.to_json()
            summary.update(
                number=best.trial.number,
                value=best.result.value(objs[0].name),
                arch=best.trial.arch.to_json(),
                metrics=result["metrics"],
                cost=result["cost"],
            )
        write_atomic(
            self.path / "best.json", json.dumps(summary, indent=2, default=_json_default) + "\n"
        )
        if len(objs) > 1:
            front = pareto_front(records, objs)
            data = {
                "objectives": [{"name": o.name, "direction": o.direction} for o in objs],
                "front": [
                    {
                        "number": r.trial.number,
                        "values": [r.result.value(o.name) for o in objs],
                        "arch": r.trial.arch.to_json(),
                    }
                    for r in front
                ],
            }
            write_atomic(
                self.path / "pareto.json", json.dumps(data, indent=2, default=_json_default) + "\n"
            )
        return summary


def best_of(records: Sequence[Record], objective: Objective) -> Record | None:
    """The best record by one objective (ties: the earliest), or None if none scored."""
    best, best_s = None, -math.inf
    for r in records:
        s = score(r.result, objective)
        if s is not None and s > best_s:
            best, best_s = r, s
    return best


def pareto_front(records: Sequence[Record], objectives: Sequence[Objective]) -> list[Record]:
    """Non-dominated records (duplicates of the same values keep the earliest)."""
    scored = [(r, scores(r.result, objectives)) for r in records]
    scored = [(r, s) for r, s in scored if s is not None]
    return [scored[i][0] for i in pareto.front([s for _, s in scored], unique=True)]
