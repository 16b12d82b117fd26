"""``archsearch report RUN`` and ``archsearch compare RUN RUN ...``."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` and ``compare`` subcommands."""
    p = subparsers.add_parser("report", help="write RUN/report.html (works on a run still going)")
    p.add_argument("run", help="run folder")
    p.set_defaults(func=_report)
    c = subparsers.add_parser("compare", help="best-so-far curves of several runs in one figure")
    c.add_argument("runs", nargs="+", help="run folders")
    c.add_argument(
        "--out",
        default="compare.png",
        help="PNG to write, or an existing folder to write compare.png into (default compare.png)",
    )
    c.set_defaults(func=_compare)


def _report(args: argparse.Namespace) -> int:
    from archsearch.results import Run

    run = Run.open(args.run)  # a bad folder is refused before matplotlib is imported

    from archsearch.report import write_report

    path = write_report(run)
    print(f"report: {path}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from archsearch.commands._argtypes import check_output_file
    from archsearch.results import Run

    given = check_output_file(args.out, "--out", folder_ok=True)
    out = given / "compare.png" if given.is_dir() else given
    check_output_file(out, "--out", (".png",))
    runs = [Run.open(r) for r in args.runs]  # every run checked before anything is drawn

    from archsearch.report import write_comparison

    path = write_comparison(runs, out)
    print(f"comparison: {path}")
    return 0
