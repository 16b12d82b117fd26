"""The journal ``trials.jsonl``: reading it strictly, checking it before a resume, repairing it.

The journal is the truth of a run: one JSON line per finished trial, appended, flushed and
fsynced as the trial finishes (:meth:`archsearch.results.Run.append`). This module reads it
back and decides whether it can be trusted:

* a truncated last line (a kill hit mid-write) is the one defect that is expected; it is
  dropped with a warning;
* any other unreadable line is an error naming its line number; ``archsearch repair RUN``
  shows such lines and moves them to ``trials.rejected.jsonl``, never silently;
* before a resume, :func:`check` refuses a journal whose trial numbers repeat, whose gaps are
  not explained (a trial in flight, or a line that ``repair`` set aside), or whose records are
  not architectures of the run's space.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from archsearch.arch import InvalidArchitecture
from archsearch.space import Space

JOURNAL = "trials.jsonl"
REJECTED = "trials.rejected.jsonl"
#: The trials a concurrent (Ray) driver asked and has not journaled yet; they rerun on resume.
INFLIGHT = "inflight.json"


class JournalError(ValueError):
    """A journal that cannot be trusted as it is; the message names the line."""


@dataclass(frozen=True)
class Line:
    """One complete journal line: its 1-based number, raw bytes and parsed JSON (or why not)."""

    number: int
    raw: bytes
    data: dict | None
    problem: str | None = None


def read_lines(path: str | Path) -> tuple[list[Line], bytes]:
    """Every complete line of the journal at ``path`` and the unterminated tail (if any)."""
    p = Path(path)
    if not p.exists():
        return [], b""
    *complete, tail = p.read_bytes().split(b"\n")
    lines = []
    for i, raw in enumerate(complete, start=1):
        if raw.strip():
            lines.append(_parse(i, raw))
    return lines, tail


def _parse(number: int, raw: bytes) -> Line:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return Line(number, raw, None, f"not JSON ({e})")
    if not isinstance(data, dict) or "number" not in data or "arch" not in data:
        return Line(number, raw, None, "not a trial record (needs number, arch and result)")
    if "result" not in data or not isinstance(data["number"], int):
        return Line(number, raw, None, "not a trial record (needs number, arch and result)")
    return Line(number, raw, data)


def read_in_flight(folder: str | Path) -> list:
    """The trials in ``folder``'s ``inflight.json`` (none when it is missing or unreadable)."""
    from archsearch.strategy import Trial

    p = Path(folder) / INFLIGHT
    try:
        data = json.loads(p.read_text()) if p.exists() else {}
        return [Trial.from_json(t) for t in data.get("trials", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []  # a hand-edited file is not trusted: its trials are asked again instead


def digest(lines: Sequence[Line]) -> str:
    """SHA-256 over the raw lines, newline-terminated: the identity of a journal prefix."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line.raw + b"\n")
    return h.hexdigest()


def check(
    lines: Sequence[Line],
    space: Space,
    in_flight: Collection[int] = (),
    set_aside: int = 0,
    path: str | Path = JOURNAL,
) -> None:
    """Raise :class:`JournalError` unless the journal can be resumed as the run of ``space``.

    Trial numbers must be unique; a number missing below the largest must be a trial in flight
    (Ray) or one of the ``set_aside`` lines ``repair`` moved out. Every record must be of the
    run's space, and a record that did not fail must be a valid architecture of it.
    """
    from archsearch.strategy import Trial

    seen: dict[int, int] = {}
    for line in lines:
        if line.data is None:
            raise JournalError(
                f"{path}: line {line.number} is unreadable: {line.problem}; "
                f"'archsearch repair {Path(path).parent}' shows it and sets it aside"
            )
        n = line.data["number"]
        if n in seen:
            raise JournalError(
                f"{path}: line {line.number} repeats trial {n} of line {seen[n]}; "
                f"'archsearch repair {Path(path).parent}' sets the repeat aside"
            )
        seen[n] = line.number
        _check_arch(line, Trial.from_json(line.data), space, path)
    missing = set(range(max(seen, default=-1) + 1)) - set(seen) - set(in_flight)
    if len(missing) > set_aside:
        raise JournalError(
            f"{path}: trial(s) {', '.join(map(str, sorted(missing)[:5]))} are missing from the "
            "journal (neither in flight nor set aside by repair); the journal was edited"
        )


def _check_arch(line: Line, trial: object, space: Space, path: str | Path) -> None:
    arch = trial.arch  # type: ignore[attr-defined]
    if arch.space != space.name:
        raise JournalError(
            f"{path}: line {line.number} is an architecture of space '{arch.space}', "
            f"not of the run's space '{space.name}'"
        )
    if line.data.get("result", {}).get("status") == "failed":  # type: ignore[union-attr]
        return
    try:
        space.validate(arch)
    except InvalidArchitecture as e:
        raise JournalError(
            f"{path}: line {line.number} does not fit the run's space '{space.name}': {e}"
        ) from None


def rejects(lines: Sequence[Line]) -> list[tuple[Line, str]]:
    """The lines ``repair`` would set aside, with why: unreadable ones and repeated numbers."""
    out, seen = [], set()
    for line in lines:
        if line.data is None:
            out.append((line, line.problem or "unreadable"))
        elif line.data["number"] in seen:
            out.append((line, f"repeats trial {line.data['number']}"))
        else:
            seen.add(line.data["number"])
    return out


def set_aside(folder: str | Path, bad: Sequence[Line]) -> None:
    """Append ``bad`` to ``trials.rejected.jsonl`` and rewrite the journal without them."""
    folder = Path(folder)
    lines, tail = read_lines(folder / JOURNAL)
    drop = {line.number for line in bad}
    with open(folder / REJECTED, "ab") as f:
        for line in bad:
            f.write(line.raw + b"\n")
        f.flush()
        os.fsync(f.fileno())
    keep = b"".join(line.raw + b"\n" for line in lines if line.number not in drop)
    tmp = folder / (JOURNAL + ".tmp")
    with open(tmp, "wb") as f:
        f.write(keep + tail)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / JOURNAL)


def count_set_aside(folder: str | Path) -> int:
    """How many lines ``repair`` has moved out of the journal."""
    p = Path(folder) / REJECTED
    return sum(1 for raw in p.read_bytes().split(b"\n") if raw.strip()) if p.exists() else 0
