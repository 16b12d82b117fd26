"""The run folder's writer lock: one process writes a run at a time.

Whoever appends to a run's journal (a search, its resume, ``expand``, ``repair``, ``report``)
holds an exclusive ``flock`` on ``RUN/lock`` for as long as it writes. The kernel drops the lock
when its holder dies, however it dies (SIGKILL included), so a lock left by a killed process is
stale by construction: the next writer takes it over and says whose it was. The file also holds
the holder's pid, host, start time and command, so a second writer can name who holds the run.
``flock`` is advisory and local to one machine (it does not guard a run folder shared over NFS
by processes on several hosts).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
import warnings
from pathlib import Path
from typing import Any

LOCK = "lock"


class RunLocked(ValueError):
    """Another live process holds the run folder's lock."""


class RunLock:
    """An exclusive, non-blocking lock on a run folder (a context manager)."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`RunLocked` naming its holder."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(_read(fd))
            os.close(fd)
            raise RunLocked(
                f"{self.path.parent} is being written by {holder}; wait for it to end "
                "(or stop it) before writing this run"
            ) from None
        stale = _read(fd)
        if stale.get("pid") is not None:
            warnings.warn(
                f"{self.path.parent}: took over a stale lock of {_describe(stale)}, which "
                "ended without releasing it",
                stacklevel=2,
            )
        _write(fd, _me())
        self._fd = fd
        return self

    def release(self) -> None:
        """Clear the holder and release the lock (idempotent)."""
        if self._fd is None:
            return
        _write(self._fd, {})
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire() if self._fd is None else self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _me() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(sys.argv),
    }


def _read(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 65536)
    try:
        data = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(fd: int, data: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(data) + "\n").encode() if data else b"")


def _describe(holder: dict[str, Any]) -> str:
    if not holder.get("pid"):
        return "another process"
    return (
        f"pid {holder['pid']} on {holder.get('host', '?')} since {holder.get('since', '?')} "
        f"({holder.get('command', '?')})"
    )
