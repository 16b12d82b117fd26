"""Name -> space / strategy / solver / dataset, filled by decorators.

Built-in entries are the modules of ``archsearch.spaces``, ``archsearch.strategies``,
``archsearch.solvers`` and ``archsearch.datasets``-style registrations in ``archsearch.data``;
they are imported on the first lookup. Plugins add entries through the entry-point group
``archsearch.plugins``: each entry point names a module (or callable) that is loaded then, and
whose import runs its ``@register_*`` decorators.

A space entry is a factory ``(**options) -> Space``; a strategy entry is a
:class:`~archsearch.strategy.Strategy` subclass (or factory with the same signature).
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

KINDS = ("space", "strategy", "solver", "dataset")
_BUILTIN_PACKAGES = ("archsearch.spaces", "archsearch.strategies", "archsearch.solvers")
_BUILTIN_MODULES = ("archsearch.data",)
PLUGIN_GROUP = "archsearch.plugins"


@dataclass(frozen=True)
class Entry:
    """One registered object with its one-line description."""

    name: str
    obj: Any
    description: str


_entries: dict[str, dict[str, Entry]] = {k: {} for k in KINDS}
_loaded = False


def _register(kind: str, name: str, description: str) -> Callable[[Any], Any]:
    def deco(obj: Any) -> Any:
        prev = _entries[kind].get(name)
        if prev is not None and prev.obj is not obj and _qualname(prev.obj) != _qualname(obj):
            raise ValueError(
                f"{kind} '{name}' is registered twice ({_qualname(prev.obj)}, {_qualname(obj)})"
            )
        doc = description or next(iter((obj.__doc__ or "").strip().splitlines()), "")
        _entries[kind][name] = Entry(name, obj, doc)
        return obj

    return deco


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def register_space(name: str, description: str = "") -> Callable[[Any], Any]:
    """Decorator: register a space factory ``(**options) -> Space`` under ``name``."""
    return _register("space", name, description)


def register_strategy(name: str, description: str = "") -> Callable[[Any], Any]:
    """Decorator: register a Strategy class under ``name``."""
    return _register("strategy", name, description)


def register_solver(name: str, description: str = "") -> Callable[[Any], Any]:
    """Decorator: register a solver function under ``name``."""
    return _register("solver", name, description)


def register_dataset(name: str, description: str = "") -> Callable[[Any], Any]:
    """Decorator: register a dataset loader ``(**options) -> Data`` under ``name``."""
    return _register("dataset", name, description)


def load_builtins() -> None:
    """Import the built-in modules and the plugins (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    for package in _BUILTIN_PACKAGES:
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{package}.{info.name}")
    for ep in metadata.entry_points(group=PLUGIN_GROUP):
        ep.load()


def entries(kind: str) -> dict[str, Entry]:
    """All entries of one kind, sorted by name."""
    if kind not in KINDS:
        raise ValueError(f"unknown registry kind {kind!r}; known: {', '.join(KINDS)}")
    load_builtins()
    return dict(sorted(_entries[kind].items()))


def lookup(kind: str, name: str) -> Any:
    """The object registered as ``name``; a ValueError lists the known names otherwise."""
    known = entries(kind)
    if not isinstance(name, str) or name not in known:
        hint = difflib.get_close_matches(name, list(known), n=1) if isinstance(name, str) else []
        maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise ValueError(f"unknown {kind} '{name}'{maybe}; known: {', '.join(known) or 'none'}")
    return known[name].obj


def get_space(name: str, **options: Any) -> Any:
    """Instantiate the space registered as ``name``."""
    return lookup("space", name)(**options)


def get_strategy(name: str) -> Any:
    """The strategy class registered as ``name``."""
    return lookup("strategy", name)
