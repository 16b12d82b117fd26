"""``archsearch export RUN [--trial N] [--retrain-epochs E] --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from archsearch.commands._argtypes import nonnegative_int, number
from archsearch.config import MAX_EPOCHS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="export a run's best (or chosen) model: arch JSON, torch.export program, weights",
    )
    p.add_argument("run", help="run folder")
    p.add_argument(
        "--trial", type=nonnegative_int, default=None, help="trial number (default: the best)"
    )
    p.add_argument(
        "--retrain-epochs",
        type=number(int, 0, high=MAX_EPOCHS),
        default=None,
        help="epochs to train before export (default: the run's epochs; 0: untrained weights)",
    )
    p.add_argument("--device", default="cpu", help="device to retrain on (cpu, cuda, ...)")
    p.add_argument("--out", required=True, help="folder to write (made if missing)")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from archsearch.cli import check_device
    from archsearch.commands._argtypes import check_new_folder
    from archsearch.results import Run

    check_new_folder(args.out, "--out")
    run = Run.open(args.run)
    if Path(args.out).resolve() == run.path.resolve():
        raise ValueError(f"--out {args.out!r} is the run folder itself; name another folder")
    check_device(args.device)
    from archsearch.export import export_run

    out = export_run(run, args.out, args.trial, args.retrain_epochs, args.device)
    print(f"exported to {out}: arch.json, model.pt2, state_dict.pt, export.json")
    return 0
