"""The strategy snapshot ``strategy.json``: a shortcut for resume that proves whose it is.

A snapshot is JSON, never a pickle: opening a run folder someone sent you runs none of their
code. It holds the strategy's own small state (:meth:`~archsearch.strategy.Strategy.state`)
and the run's identity: the run ``id`` from ``run.json``, the strategy's class, how many trials
it had been told and the SHA-256 of exactly those journal lines. On resume a snapshot that does
not match (copied from another run, older or newer than the journal, another strategy) is
ignored with a warning and the journal is replayed instead, so the resumed trials are the ones
the uninterrupted run would have made. A strategy without a state (``state()`` returns None)
writes no snapshot and is always replayed.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

from archsearch.journal import Line, digest
from archsearch.results import Record, Run, write_atomic
from archsearch.strategy import Strategy

SNAPSHOT = "strategy.json"
FORMAT = 1


def save(run: Run, strategy: Strategy, told: int, journal_sha256: str) -> bool:
    """Write ``strategy.json`` for a strategy told the first ``told`` journal lines."""
    state = strategy.state()
    if state is None:
        return False
    doc = {
        "format": FORMAT,
        "run": run.id,
        "strategy": _kind(strategy),
        "told": told,
        "journal_sha256": journal_sha256,
        "state": state,
    }
    write_atomic(run.path / SNAPSHOT, json.dumps(doc) + "\n")
    return True


def _kind(strategy: Strategy) -> str:
    cls = type(strategy)
    return f"{cls.__module__}.{cls.__qualname__}"


def load(run: Run, fresh: Strategy, lines: Sequence[Line]) -> int:
    """Load a matching snapshot into ``fresh``; returns how many journal lines it covers.

    0 means no usable snapshot (none, or one that does not match: a warning says why), and the
    caller replays the whole journal.
    """
    path = run.path / SNAPSHOT
    if not path.exists():
        return 0
    doc = _read(path)
    why = _mismatch(doc, run, fresh, lines)
    if why is None:
        try:
            fresh.load_state(doc["state"])
            return int(doc["told"])
        except (KeyError, TypeError, ValueError, NotImplementedError) as e:
            why = f"its state does not load ({e})"
    warnings.warn(
        f"{path}: ignoring the strategy snapshot: {why}; replaying the journal", stacklevel=3
    )
    return 0


def _read(path: Any) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _mismatch(doc: dict[str, Any], run: Run, fresh: Strategy, lines: Sequence[Line]) -> str | None:
    if doc.get("format") != FORMAT:
        return "it is not a snapshot this version writes"
    if doc.get("run") != run.id:
        return f"it belongs to run {doc.get('run')!r}, not this run ({run.id})"
    if doc.get("strategy") != _kind(fresh):
        return f"it is of strategy {doc.get('strategy')}, not {_kind(fresh)}"
    told = doc.get("told")
    if not isinstance(told, int) or not 0 <= told <= len(lines):
        return f"it was told {told!r} trials but the journal has {len(lines)}"
    if doc.get("journal_sha256") != digest(lines[:told]):
        return f"the journal's first {told} lines are not the ones it was told"
    return None


def restore(
    run: Run, fresh: Strategy, lines: Sequence[Line], records: Sequence[Record]
) -> Strategy:
    """``fresh`` brought to the state after ``records``: its snapshot plus the journal after it.

    Without a usable snapshot the whole journal is replayed (:meth:`Strategy.replay`).
    """
    start = load(run, fresh, lines)
    fresh.replay((r.trial, r.result) for r in records[start:])
    return fresh
