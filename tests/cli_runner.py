"""Run many ``archsearch`` command lines, each in its own process, fast (used by the tests).

A fork server: one Python process imports ``archsearch.cli`` and torch once, then forks one
child per command line. The child changes into the case's folder, points its stdout and stderr
at files and runs :func:`archsearch.cli.main` exactly as the console script does (an uncaught
exception prints its traceback and exits 1, as the interpreter would); the parent collects the
exit status. Each case is thus a separate process with a fresh working folder, without paying
the ~0.5 s (3 s with torch) interpreter start-up a hundred times on a loaded machine.

Input: JSON lines ``{"argv": [...], "cwd": DIR}`` on stdin; output: one JSON line per case,
in order, ``{"code": N, "out": ..., "err": ...}`` on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time

PARALLEL = 4
TIMEOUT_S = 90.0


def _child(argv: list[str], cwd: str, out: str, err: str) -> None:
    code = 1
    try:
        os.chdir(cwd)
        for fd, path in ((1, out), (2, err)):
            f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(f, fd)
            os.close(f)
        sys.argv = ["archsearch", *argv]
        from archsearch.cli import main

        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def serve(cases: list[dict]) -> list[dict]:
    """Run ``cases`` (``argv``, ``cwd``) in forked children, at most PARALLEL at once."""
    import archsearch.cli  # noqa: F401  (warm imports shared by every child)
    import archsearch.config  # noqa: F401

    for name in ("torch", "sklearn.datasets", "archsearch.data", "archsearch.evaluate.trainer"):
        try:
            __import__(name)
        except ImportError:
            pass
    from archsearch.cli import build_parser
    from archsearch.registry import lookup

    build_parser()  # the command modules of every family
    lookup("space", "deeparchitect")  # the default space, which most search cases reach
    results: list[dict | None] = [None] * len(cases)
    running: dict[int, tuple[int, float, str, str]] = {}
    todo = list(range(len(cases)))
    while todo or running:
        while todo and len(running) < PARALLEL:
            i = todo.pop(0)
            base = os.path.join(cases[i]["cwd"], os.pardir, f".case{i}")
            out, err = base + ".out", base + ".err"
            pid = os.fork()
            if pid == 0:
                _child(cases[i]["argv"], cases[i]["cwd"], out, err)
            running[pid] = (i, time.monotonic(), out, err)
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            for p, (_i, start, _, _) in list(running.items()):
                if time.monotonic() - start > TIMEOUT_S:
                    os.kill(p, 9)
            time.sleep(0.01)
            continue
        i, start, out, err = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        with open(out) as f, open(err) as g:
            seconds = round(time.monotonic() - start, 2)
            results[i] = {"code": code, "out": f.read(), "err": g.read(), "seconds": seconds}
        os.remove(out)
        os.remove(err)
    return [r for r in results if r is not None]


if __name__ == "__main__":
    given = [json.loads(line) for line in sys.stdin if line.strip()]
    for r in serve(given):
        print(json.dumps(r))
