"""``archsearch repair RUN``: show the journal lines a resume refuses, then set them aside.

A journal line that cannot be read (a disk error, a hand edit) or that repeats a trial number
makes a run refuse to resume. ``repair`` prints each such line with its line number and what is
wrong, then moves them to ``RUN/trials.rejected.jsonl`` (appended, never deleted) and rewrites
the journal without them; ``--dry-run`` only shows them. It holds the run's writer lock, so it
never races a search that is still writing the run.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``repair`` subcommand."""
    p = subparsers.add_parser(
        "repair", help="show unreadable or repeated journal lines and set them aside"
    )
    p.add_argument("run", metavar="RUN", help="run folder")
    p.add_argument("--dry-run", action="store_true", help="only show what would be set aside")
    p.set_defaults(func=_repair)


def _repair(args: argparse.Namespace) -> int:
    from archsearch import journal
    from archsearch.results import Run

    run = Run.open(args.run).lock()
    try:
        run.repair()  # a truncated last line: the one defect a kill leaves
        lines, _ = journal.read_lines(run.path / journal.JOURNAL)
        bad = journal.rejects(lines)
        if not bad:
            print(f"{run.path}: the journal is readable ({len(lines)} lines); nothing to repair")
            return 0
        for line, why in bad:
            text = line.raw.decode("utf-8", "replace")
            shown = text if len(text) <= 120 else text[:117] + "..."
            print(f"line {line.number}: {why}: {shown}")
        if args.dry_run:
            print(f"{len(bad)} line(s) would be set aside (dry run: nothing changed)")
            return 0
        journal.set_aside(run.path, [line for line, _ in bad])
        print(f"{len(bad)} line(s) moved to {run.path / journal.REJECTED}; the run resumes")
        return 0
    finally:
        run.close()
