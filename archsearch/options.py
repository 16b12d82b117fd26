"""Options of a factory (space, strategy, dataset, executor, solver), checked by its signature.

The one place that reads a factory's signature: :func:`keywords` lists the keywords it takes,
:func:`check_options` rejects an option it does not take (with a did-you-mean hint) or a value
whose type differs from a bool, int or float default, and :func:`construct` checks, then calls.
A factory that takes ``**kwargs``, or has no readable signature, accepts any option.
"""

from __future__ import annotations

import difflib
import inspect
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _parameters(factory: Callable[..., Any], skip: int = 0) -> list[inspect.Parameter] | None:
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    lead = 0
    while lead < min(skip, len(params)) and params[lead].kind in _POSITIONAL:
        lead += 1
    return params[lead:]


def keywords(factory: Callable[..., Any], skip: int = 0) -> tuple[list[str], bool] | None:
    """(keyword names, takes ``**kwargs``) after the first ``skip`` positional parameters."""
    params = _parameters(factory, skip)
    if params is None:
        return None
    names = [p.name for p in params if p.kind in _KEYWORD]
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


def _dump(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def check_type(what: str, key: str, default: Any, value: Any) -> None:
    """Raise ValueError when ``value`` is not a bool / int / float like the option's default."""
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
            f"{what}: option {key} must be {noun} (default {_dump(default)}), got {_dump(value)}"
        )


def check_options(
    what: str,
    factory: Callable[..., Any],
    options: Mapping[str, Any],
    fixed: Collection[str] = (),
    extra: Sequence[str] = (),
    skip: int = 0,
) -> None:
    """Raise ValueError for an option ``factory`` does not take or of the wrong type.

    ``fixed`` names parameters that are not options (``space``, ``seed``); ``extra`` names
    options taken elsewhere, listed first; ``skip`` leading positional parameters are arguments.
    """
    params = _parameters(factory, skip)
    if params is None or any(p.kind is p.VAR_KEYWORD for p in params):
        return
    defaults = {p.name: p.default for p in params if p.kind in _KEYWORD and p.name not in fixed}
    allowed = [*extra, *(n for n in defaults if n not in extra)]
    for key, value in options.items():
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ValueError(
                f"{what} has no option '{key}'{maybe}; options: {', '.join(allowed) or 'none'}"
            )
        if key in defaults:
            check_type(what, key, defaults[key], value)


def construct(
    factory: Callable[..., Any], what: str, options: Mapping[str, Any], *args: Any
) -> Any:
    """``factory(*args, **options)`` once :func:`check_options` accepts the options."""
    check_options(what, factory, options, skip=len(args))
    return factory(*args, **options)
