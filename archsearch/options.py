"""The one option validator: options named by a factory's signature, typed by its defaults.

Every place that takes user options for something it builds (a space, a strategy, an executor,
the trainer) checks them here before anything is built, so a wrong name gets the same one-line
error everywhere: ``strategy 'random' has no option 'temperature'; options: ...``.
"""

from __future__ import annotations

import difflib
import inspect
import json
from collections.abc import Callable, Collection
from typing import Any


def check_options(
    what: str, factory: Callable[..., Any], options: dict[str, Any], fixed: Collection[str] = ()
) -> None:
    """Raise ValueError for an option ``factory`` does not take, or of the wrong type."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    allowed = [
        n
        for n, p in params.items()
        if n not in fixed and n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    for key, value in options.items():
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ValueError(
                f"{what} has no option '{key}'{maybe}; options: {', '.join(allowed) or 'none'}"
            )
        _check_type(what, key, params[key].default, value)


def _check_type(what: str, key: str, default: Any, value: Any) -> None:
    if isinstance(default, bool):
        ok, noun = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, noun = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, noun = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    else:
        return
    if not ok:
        raise ValueError(
            f"{what}: option {key} must be {noun} (default {json.dumps(default)}), "
            f"got {json.dumps(value, default=str)}"
        )


def construct(
    factory: Callable[..., Any],
    what: str,
    options: dict[str, Any],
    *args: Any,
    fixed: Collection[str] = (),
) -> Any:
    """``factory(*args, **options)`` after :func:`check_options`."""
    check_options(what, factory, options, fixed)
    return factory(*args, **options)
