"""Run folders: ``run.json``, the append-only journal ``trials.jsonl``, ``best.json``, ``pareto.json``.

The journal is the truth. One JSON line per finished trial is appended, flushed and fsynced as
the trial finishes, so a run killed at any moment keeps every finished trial; a truncated last
line (the kill hit mid-write) is dropped with a warning when the journal is read. The strategy's
snapshot (``strategy.pkl``) is an optimization for resume, never the record.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsearch import pareto
from archsearch.pareto import dominates  # noqa: F401  (importable from here for now)
from archsearch.strategy import Objective, Result, Trial, count_statuses, score, scores

JOURNAL = "trials.jsonl"
RUN_JSON = "run.json"
SNAPSHOT = "strategy.pkl"


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


def _write_atomic(path: Path, text: str | bytes) -> None:
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

    @classmethod
    def create(cls, root: str | Path, run_id: str, config: dict[str, Any]) -> Run:
        """Make a new run folder and write ``run.json``; refuses to overwrite an existing run."""
        path = Path(root) / run_id
        if (path / RUN_JSON).exists():
            raise ValueError(
                f"run folder {path} already exists; pass --resume {path} to continue it"
            )
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path)
        _write_atomic(path / RUN_JSON, json.dumps(config, indent=2, default=_json_default) + "\n")
        return run

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
        return cls(p)

    @property
    def config(self) -> dict[str, Any]:
        """The contents of ``run.json``."""
        return json.loads((self.path / RUN_JSON).read_text())

    def update_config(self, **changes: Any) -> None:
        """Merge ``changes`` into ``run.json``."""
        cfg = self.config
        cfg.update(changes)
        _write_atomic(
            self.path / RUN_JSON, json.dumps(cfg, indent=2, default=_json_default) + "\n"
        )

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """The run's objectives, from ``run.json``."""
        from archsearch.strategy import objectives_from

        return objectives_from(self.config.get("objectives"))

    def append(self, record: Record) -> None:
        """Append one finished trial to the journal, flushed and fsynced."""
        line = json.dumps(record.to_json(), default=_json_default, allow_nan=False)
        with open(self.path / JOURNAL, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def records(self) -> list[Record]:
        """Every complete journal line; a truncated last line is dropped with a warning."""
        return list(self._iter_records())

    def _iter_records(self) -> Iterator[Record]:
        path = self.path / JOURNAL
        if not path.exists():
            return
        *complete, tail = path.read_bytes().split(b"\n")
        for i, raw in enumerate(complete):
            if not raw.strip():
                continue
            try:
                yield Record.from_json(json.loads(raw))
            except (json.JSONDecodeError, KeyError, UnicodeDecodeError, ValueError) as e:
                raise ValueError(f"{path}: line {i + 1} is corrupt: {e}") from None
        if tail.strip():
            # Every finished line ends with a newline: a tail without one was cut by a kill.
            warnings.warn(
                f"{path}: dropped a truncated last line ({len(tail)} bytes); "
                "the run was killed while writing it",
                stacklevel=3,
            )

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

    def save_snapshot(self, blob: bytes) -> None:
        """Write the strategy snapshot atomically."""
        _write_atomic(self.path / SNAPSHOT, blob)

    def load_snapshot(self) -> bytes | None:
        """The last strategy snapshot, if any."""
        p = self.path / SNAPSHOT
        return p.read_bytes() if p.exists() else None

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
        _write_atomic(
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
            _write_atomic(
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
