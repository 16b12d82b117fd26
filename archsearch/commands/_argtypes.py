"""Argument types and path checks shared by the ``archsearch`` subcommands.

Each ``type=`` callable refuses a bad value while argv is parsed (argparse's one-line usage
error, exit 2), before any heavy import or any work: numbers are finite and within their
range (NaN and infinity never pass), and sizes have an upper bound so a typo such as
``--epochs 100000000000`` is refused at once instead of running with no end. The path checks
make sure an output stays where the user named it: an existing file is never taken for a
folder, an empty name never means the current folder, and a run id is a plain folder name.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archsearch.config import (
    MAX_EPOCHS,
    MAX_SEED,
    check_out_folder,
    check_run_id,
    file_on_the_way,
)

#: The largest count a size option takes (channels, widths, cells, examples, batch size).
MAX_SIZE = 1_000_000


def number(
    kind: Callable[[str], Any], low: float, strict: bool = False, high: float | None = None
) -> Callable[[str], Any]:
    """A ``type=`` callable: a finite ``kind`` (int or float) >= ``low`` (> when ``strict``)."""
    noun = "integer" if kind is int else "number"
    word = "positive" if strict and low == 0 else ("non-negative" if low == 0 else f">= {low}")
    span = f"a {word} {noun}" + (f" (at most {high:,})" if high is not None else "")

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {span}, got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected {span}, got {text!r}")
        if value < low or (strict and value == low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {span}, got {text!r}")
        return value

    parse.__name__ = f"{word}_{noun}"  # argparse names the type in its messages
    return parse


positive_int = number(int, 0, strict=True)
nonnegative_int = number(int, 0)
positive_float = number(float, 0, strict=True)
nonnegative_float = number(float, 0)
size = number(int, 0, strict=True, high=MAX_SIZE)
epochs = number(int, 0, strict=True, high=MAX_EPOCHS)
seed = number(int, 0, high=MAX_SEED)


def finite(text: str) -> float:
    """Any finite float (NaN and infinity refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive(text: str) -> float:
    """A finite float > 0; argparse's usage error for anything else."""
    return positive_float(text)


def run_id(text: str) -> str:
    """A run folder's name: plain (no '/', not '..', not empty)."""
    try:
        return check_run_id(text, "")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def out_folder(text: str) -> str:
    """A folder to write into: not empty, not under an existing file."""
    try:
        return check_out_folder(text, "")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def check_output_file(
    path: str | Path, flag: str, suffixes: tuple[str, ...] = (), folder_ok: bool = False
) -> Path:
    """``path`` as a file to write: not empty, not a folder, no file on its way; ValueError else.

    An existing file of that name is replaced (the user named it); ``suffixes`` (e.g.
    ``(".png",)``) are the endings allowed; ``folder_ok`` lets an existing folder through (the
    caller then writes a file of its own name inside it).
    """
    text = str(path)
    if not text.strip() or "\0" in text:
        raise ValueError(f"{flag} must name a file, got {text!r}")
    p = Path(text)
    if folder_ok and p.is_dir():
        return p
    if p.is_dir():
        raise ValueError(f"{flag} {text!r} is a folder; name a file inside it")
    if suffixes and p.suffix.lower() not in suffixes:
        raise ValueError(f"{flag} {text!r} must end in {' or '.join(suffixes)}")
    blocker = file_on_the_way(p.parent)
    if blocker is not None:
        raise ValueError(f"{flag} {text!r}: {str(blocker)!r} is a file, not a folder")
    return p


def check_new_folder(path: str | Path, flag: str) -> Path:
    """``path`` as a folder to write into: not empty, not an existing file, none on its way."""
    check_out_folder(str(path), flag)
    return Path(path)
