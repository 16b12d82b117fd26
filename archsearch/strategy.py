"""The strategy protocol: ``ask() -> Trial``, ``tell(trial, result)``.

A strategy proposes architectures and learns from their results; it never calls the evaluator.
It is built as ``Strategy(space, objectives, seed=..., **knobs)`` and draws all its randomness
from ``self.rng`` (one ``numpy.random.Generator`` seeded from ``seed``), so one seed gives one
trial sequence. Failed, pruned and NaN results are told like any other; :meth:`Strategy.score`
turns a result into an orientation-free number (larger is better) or None.

State is restorable two ways. A resumed run replays its journal of (trial, result) pairs
through :meth:`Strategy.replay`, or, for a strategy that keeps a small JSON state
(:meth:`Strategy.state` / :meth:`Strategy.load_state`), loads the run's ``strategy.json`` and
replays only the journal after it (:mod:`archsearch.snapshot`). :meth:`Strategy.snapshot` /
:func:`restore` copy a strategy in memory (a pickle of it without its space); they are never
written to, or read from, a run folder.
"""

from __future__ import annotations

import math
import pickle
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archsearch.arch import Architecture
from archsearch.objective import (  # noqa: F401  (re-exported: objectives live in objective.py)
    DEFAULT_DIRECTIONS,
    Objective,
    objectives_from,
)
from archsearch.space import Space

STATUSES = ("ok", "failed", "pruned")


@dataclass
class Trial:
    """One proposal: a number, an architecture and optional settings (e.g. an epoch budget)."""

    number: int
    arch: Architecture
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"number": self.number, "arch": self.arch.to_json(), "meta": self.meta}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Trial:
        """Inverse of :meth:`to_json`."""
        return cls(int(d["number"]), Architecture.from_json(d["arch"]), dict(d.get("meta") or {}))


@dataclass
class Result:
    """What an evaluation returned: metrics, cost, status and error text."""

    status: str = "ok"
    metrics: dict[str, float] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    history: list[dict[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not allowed; expected one of {STATUSES}")

    @classmethod
    def failed(cls, error: str, **kw: Any) -> Result:
        """A failed result with its error text."""
        return cls(status="failed", error=error, **kw)

    def value(self, name: str) -> float | None:
        """A metric or cost by name; None when absent or NaN."""
        v = self.metrics.get(name, self.cost.get(name))
        if v is None:
            return None
        v = float(v)
        return None if math.isnan(v) else v

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes null)."""

        def clean(d: Mapping[str, Any]) -> dict[str, Any]:
            return {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in d.items()
            }

        out: dict[str, Any] = {
            "status": self.status,
            "metrics": clean(self.metrics),
            "cost": clean(self.cost),
        }
        if self.error is not None:
            out["error"] = self.error
        if self.history:
            out["history"] = [clean(h) for h in self.history]
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Result:
        """Inverse of :meth:`to_json` (null becomes NaN)."""

        def unclean(x: Mapping[str, Any] | None) -> dict[str, float]:
            return {k: (math.nan if v is None else v) for k, v in (x or {}).items()}

        return cls(
            status=d.get("status", "ok"),
            metrics=unclean(d.get("metrics")),
            cost=unclean(d.get("cost")),
            error=d.get("error"),
            history=[unclean(h) for h in d.get("history") or []],
        )


def count_statuses(results: Iterable[Result]) -> dict[str, int]:
    """How many results have each status, in the order of :data:`STATUSES` (zeros included)."""
    counts = dict.fromkeys(STATUSES, 0)
    for r in results:
        counts[r.status] += 1
    return counts


def score(result: Result, objective: Objective) -> float | None:
    """Orientation-free value (larger is better); None for failed results or missing/NaN values.

    A pruned result keeps the metrics it reached and is scored on them.
    """
    if result.status == "failed":
        return None
    v = result.value(objective.name)
    return None if v is None or math.isinf(v) else objective.sign() * v


def scores(result: Result, objectives: Sequence[Objective]) -> tuple[float, ...] | None:
    """All objectives oriented for maximization, or None if any is missing."""
    out = []
    for o in objectives:
        s = score(result, o)
        if s is None:
            return None
        out.append(s)
    return tuple(out)


class Strategy(ABC):
    """Base of every strategy; subclasses implement :meth:`ask` and usually :meth:`tell`."""

    #: Whether the strategy handles several objectives (otherwise it optimizes the first).
    multi_objective = False
    #: Whether the strategy works on any space with default options (the conformance suite runs
    #: it on every registered space); solvers' strategies that need a specific space set False.
    generic = True

    def __init__(self, space: Space, objectives: Any = None, seed: int = 0) -> None:
        self.space = space
        self.objectives = objectives_from(objectives)
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.n_asked = 0
        self.n_told = 0

    @abstractmethod
    def ask(self) -> Trial:
        """Propose the next trial; raise :class:`Exhausted` when nothing is left to propose."""

    def tell(self, trial: Trial, result: Result) -> None:
        """Learn from a finished trial (any status); may be a trial another process asked."""
        self.n_told += 1

    def _trial(self, arch: Architecture, **meta: Any) -> Trial:
        t = Trial(self.n_asked, arch, meta)
        self.n_asked += 1
        return t

    def score(self, result: Result) -> float | None:
        """The first objective's oriented value (larger is better), or None."""
        return score(result, self.objectives[0])

    def scores(self, result: Result) -> tuple[float, ...] | None:
        """All objectives' oriented values, or None."""
        return scores(result, self.objectives)

    def replay(self, journal: Iterable[tuple[Trial, Result]]) -> None:
        """Bring the strategy to the state it had after the journaled trials.

        Before each journaled trial is told, the strategy asks until it has asked that trial's
        number (keeping the random stream in step with the original run, also when trials
        finished out of order on a concurrent executor or a line was set aside); a
        deterministic strategy run sequentially ends in exactly its old state.
        """
        for trial, result in journal:
            self.catch_up(trial.number)
            self.tell(trial, result)

    def catch_up(self, number: int) -> None:
        """Ask (and drop) until trial ``number`` has been asked, so numbers stay unique."""
        while self.n_asked <= number:
            try:
                self.ask()
            except Exhausted:
                self.n_asked = number + 1
                return

    def state(self) -> dict[str, Any] | None:
        """A JSON-ready state that :meth:`load_state` restores; None (the default): replay."""
        return None

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state`; only strategies whose ``state`` returns a dict get called."""
        raise NotImplementedError(f"{type(self).__name__} keeps no state; replay its journal")

    def _counters(self) -> dict[str, Any]:
        """The base's own state: ask/tell counts and the generator, JSON-ready."""
        return {
            "n_asked": self.n_asked,
            "n_told": self.n_told,
            "rng": self.rng.bit_generator.state,
        }

    def _load_counters(self, state: dict[str, Any]) -> None:
        self.n_asked, self.n_told = int(state["n_asked"]), int(state["n_told"])
        self.rng.bit_generator.state = state["rng"]

    def snapshot(self) -> bytes:
        """An in-memory copy of the strategy as bytes (its space is left out); not for files."""
        return pickle.dumps(self)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["space"] = None
        return state

    def attach(self, space: Space) -> None:
        """Re-attach the space after unpickling; override to rebuild space-derived caches."""
        self.space = space


def restore(blob: bytes, space: Space) -> Strategy:
    """Inverse of :meth:`Strategy.snapshot`, re-attaching ``space``."""
    strategy = pickle.loads(blob)
    strategy.attach(space)
    return strategy


class Exhausted(Exception):
    """Raised by ``ask`` when a strategy has nothing left to propose (e.g. a finished grid)."""
