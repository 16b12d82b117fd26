"""Argument types shared by the ``archsearch`` subcommands (argparse ``type=`` callables)."""

from __future__ import annotations

import argparse


def positive(text: str) -> float:
    """A float > 0 (NaN refused); argparse's usage error for anything else."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value
