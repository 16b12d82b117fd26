"""``archsearch report RUN`` and ``archsearch compare RUN RUN ...``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` and ``compare`` subcommands."""
    p = subparsers.add_parser("report", help="write RUN/report.html (works on a run still going)")
    p.add_argument("run", help="run folder")
    p.set_defaults(func=_report)
    c = subparsers.add_parser("compare", help="best-so-far curves of several runs in one figure")
    c.add_argument("runs", nargs="+", help="run folders")
    c.add_argument("--out", default="compare.png", help="PNG to write (default: compare.png)")
    c.set_defaults(func=_compare)


def _report(args: argparse.Namespace) -> int:
    from archsearch.report import write_report

    path = write_report(args.run)
    print(f"report: {path}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from archsearch.report import write_comparison

    path = write_comparison([Path(r) for r in args.runs], args.out)
    print(f"comparison: {path}")
    return 0
