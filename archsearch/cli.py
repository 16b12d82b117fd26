"""The ``archsearch`` command line: ``spaces``, ``strategies``, ``search``, ``show`` and plugins.

Every ``command`` entry of the registry is a ``register(subparsers)`` function that adds a
subcommand: the core's (``export``, ``report``) from :mod:`archsearch.commands`, the families'
(``build``, ``design``, ``expand``, ``scale``) from their packages, and any plugin's. Bad input never shows a traceback: a
``ValueError``, ``KeyError``, ``FileNotFoundError`` or ``InvalidArchitecture`` raised by any
command becomes one line ``archsearch: error: <message>`` on stderr and exit status 2, like
argparse's own usage errors.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from archsearch.arch import InvalidArchitecture
from archsearch.commands._argtypes import (
    epochs,
    nonnegative_float,
    nonnegative_int,
    out_folder,
    positive_float,
    positive_int,
    seed,
)
from archsearch.commands._exits import interrupted, on_sigterm, quiet_stdout
from archsearch.registry import entries
from archsearch.runview import print_run, print_summary

EXIT_USAGE = 2
DEFAULT_SPACE = "deeparchitect"
DEFAULT_STRATEGY = "random"
DEFAULT_DATASET = "digits"
#: Exceptions whose message is the whole story: one line and exit status 2.
USER_ERRORS = (
    ValueError,
    KeyError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    InvalidArchitecture,
)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``archsearch: error: <message>`` and exit 2."""
        hint = f" (see '{self.prog} --help')"
        self.exit(EXIT_USAGE, f"archsearch: error: {message}{hint}\n")


def key_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with the value parsed as JSON when possible (else kept as a string)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except json.JSONDecodeError:
        value = raw
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: NaN and Infinity are not option values; give a finite number"
        ) from None
    return key.strip(), value


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def check_device(name: str) -> None:
    """Raise ValueError unless ``name`` is ``auto`` or a torch device this machine has."""
    import torch

    if name == "auto":
        return
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(
            f"--device {name!r} is not a device; use auto, cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name!r}: this machine has no CUDA GPU; use auto or cpu")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {name!r} is not supported; use auto, cpu, cuda or cuda:N")


def _listing(kind: str) -> int:
    known = entries(kind)
    width = max((len(n) for n in known), default=0)
    for name, entry in known.items():
        print(f"{name:<{width}}  {entry.description}")
    return 0


def cmd_spaces(args: argparse.Namespace) -> int:
    """List the registered spaces with their one-line descriptions."""
    return _listing("space")


def cmd_strategies(args: argparse.Namespace) -> int:
    """List the registered strategies with their one-line descriptions."""
    return _listing("strategy")


def _executor_options(args: argparse.Namespace, executor: str | None) -> dict[str, Any] | None:
    names = ("cpus_per_trial", "gpus_per_trial", "concurrency", "scheduler", "max_failures")
    opts = {n: getattr(args, n) for n in (*names, "address") if getattr(args, n) is not None}
    if opts and executor != "ray":
        given = [f"--{n.replace('_', '-')}" for n in opts]
        raise ValueError(
            f"{', '.join(given)}: valid only with --executor ray; the local executor runs "
            "one trial at a time in this process"
        )
    return opts or None


def cmd_search(args: argparse.Namespace) -> int:
    """Run a search (or resume one) and print a summary naming the run folder and the best.

    The command line only turns argv into the fields of the one search configuration
    (:class:`archsearch.config.SearchConfig`); :func:`archsearch.api.search` validates and runs.
    """
    from archsearch.api import search

    executor = args.executor
    if executor is None and args.resume is not None:
        from archsearch.results import Run

        executor = Run.open(args.resume).config.get("executor")
    fields = {
        "budget": args.budget,
        "epochs": args.epochs,
        "dataset": args.dataset,
        "seed": args.seed,
        "data_root": args.data_root,
        "objectives": args.objectives,
        "executor": args.executor,
        "executor_options": _executor_options(args, executor or "local"),
        "space_options": dict(args.space_opt) if args.space_opt else None,
        "strategy_options": dict(args.strategy_opt) if args.strategy_opt else None,
    }
    if args.resume is None:
        fields["out"] = args.out
    run = search(
        args.space,
        args.strategy,
        resume=args.resume,
        progress=not args.quiet,
        report=not args.no_report,
        **{k: v for k, v in fields.items() if v is not None},
    )
    print_summary(run)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print a run's trials, its best trial and its failures."""
    from archsearch.results import Run

    print_run(Run.open(args.run), limit=args.limit)
    return 0


def _add_search(sub: argparse._SubParsersAction) -> None:
    from archsearch.commands._argtypes import number
    from archsearch.config import MAX_BUDGET, SearchConfig

    budget = number(int, 0, strict=True, high=MAX_BUDGET)

    DEFAULT_BUDGET, DEFAULT_EPOCHS = SearchConfig.budget, SearchConfig.epochs

    p = sub.add_parser(
        "search",
        help="search a space with a strategy",
        description="Search a space with a strategy; every finished trial lands in a run folder.",
    )
    p.add_argument("--space", help=f"registered space (default {DEFAULT_SPACE})")
    p.add_argument("--strategy", help=f"registered strategy (default {DEFAULT_STRATEGY})")
    p.add_argument("--budget", type=budget, help=f"trials (default {DEFAULT_BUDGET})")
    p.add_argument("--epochs", type=epochs, help=f"epochs per trial (default {DEFAULT_EPOCHS})")
    p.add_argument("--dataset", help=f"registered dataset (default {DEFAULT_DATASET})")
    p.add_argument("--data-root", help="folder holding the dataset's files (CIFAR)")
    p.add_argument("--seed", type=seed, help="run seed (default 0)")
    p.add_argument(
        "--out", type=out_folder, default="results", help="parent of the run folder (results)"
    )
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder")
    p.add_argument(
        "--objectives", help="comma-separated metrics, ':min'/':max' to orient (default accuracy)"
    )
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        help="local: one trial at a time in this process (default); ray: Ray Tune",
    )
    p.add_argument("--cpus-per-trial", type=positive_float, help="ray: CPUs per trial")
    p.add_argument("--gpus-per-trial", type=nonnegative_float, help="ray: GPUs (or a fraction)")
    p.add_argument("--concurrency", type=positive_int, help="ray: trials at once")
    p.add_argument("--scheduler", choices=("none", "asha"), help="ray: early stopping")
    p.add_argument("--max-failures", type=nonnegative_int, help="ray: retries per trial")
    p.add_argument("--address", help="ray: address of an existing cluster (e.g. auto)")
    p.add_argument(
        "--space-opt",
        type=key_value,
        action="append",
        metavar="K=V",
        help="space option, value as JSON (repeatable)",
    )
    p.add_argument(
        "--strategy-opt",
        type=key_value,
        action="append",
        metavar="K=V",
        help="strategy option, value as JSON (repeatable)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-report", action="store_true", help="skip RUN/report.html at the end")
    p.set_defaults(func=cmd_search)


def build_parser() -> Parser:
    """The full parser: the commands of this module plus every registered ``command``."""
    parser = Parser(
        prog="archsearch",
        description="Neural architecture search and design for PyTorch.",
    )
    from archsearch import __version__

    parser.add_argument("--version", action="version", version=f"archsearch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.add_parser("spaces", help="list the registered spaces").set_defaults(func=cmd_spaces)
    sub.add_parser("strategies", help="list the registered strategies").set_defaults(
        func=cmd_strategies
    )
    _add_search(sub)
    show = sub.add_parser("show", help="table of a run's trials, its best and failures")
    show.add_argument("run", metavar="RUN", help="run folder")
    show.add_argument("--limit", type=positive_int, help="show only the last N trials")
    show.set_defaults(func=cmd_show)
    for entry in entries("command").values():
        entry.obj(sub)
    return parser


def _message(error: BaseException) -> str:
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split("\n"))


def _warning_line(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    """Show a warning as one line ``archsearch: warning: <message>``, without the source line."""
    print(f"archsearch: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``archsearch`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        commands = ", ".join(sorted(parser._subparsers._group_actions[0].choices))
        parser.error(f"a command is required; choose from {commands}")
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_sigterm) if in_main else None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line
            code = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
            return code
    except BrokenPipeError:
        quiet_stdout()
        return 128 + signal.SIGPIPE
    except USER_ERRORS as e:
        print(f"archsearch: error: {_message(e)}", file=sys.stderr)
        return EXIT_USAGE
    except TypeError as e:
        # An option passed on through **kwargs reaches a function that does not take it.
        if "unexpected keyword argument" not in str(e):
            raise
        print(f"archsearch: error: {_message(e)} (check the K=V options)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:
        return interrupted(e)
    finally:
        if in_main and previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
