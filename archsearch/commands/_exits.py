"""How the command line ends when it is stopped: SIGTERM, Ctrl-C, a reader gone from its pipe.

SIGTERM (``kill``, systemd, Slurm, a container runtime) is raised as :class:`Terminated`, a
KeyboardInterrupt, so a search unwinds exactly as on Ctrl-C: the journal holds every finished
trial, ``best.json`` and the report are written, the lock released, and one line names the run
to resume. A closed stdout (``archsearch show RUN | head -1``) ends the command quietly.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a search stops exactly as Ctrl-C stops it.

    The journal is already on disk trial by trial; unwinding as an interrupt also writes
    ``best.json`` and the report and releases the lock, which a plain kill would skip.
    """


def on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated()


def interrupted(error: KeyboardInterrupt) -> int:
    run = getattr(error, "run", None)
    what = "terminated (SIGTERM)" if isinstance(error, Terminated) else "interrupted"
    if run is None:
        print(f"archsearch: {what}; the run folder keeps every finished trial", file=sys.stderr)
    else:
        print(
            f"archsearch: {what}; {run} keeps every finished trial "
            f"(continue with: archsearch search --resume {run})",
            file=sys.stderr,
        )
    return 128 + signal.SIGTERM if isinstance(error, Terminated) else 130


def quiet_stdout() -> None:
    """After the reader of stdout went away (``show RUN | head -1``): drop what is left.

    Without this, Python's final flush of stdout reports a BrokenPipeError on stderr.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
