"""Name -> space / strategy / solver / dataset / command, filled lazily or by decorators.

An entry is registered either lazily, as an import path ``"package.module:attr"`` with its
one-line description (:func:`register_lazy`; listing never imports it), or eagerly, by a
``@register_*`` decorator on the object itself (plugins and custom code). The built-in core
strategies and commands are catalogs in ``archsearch.strategies`` and ``archsearch.commands``;
datasets are decorated in ``archsearch.data``. The families (``archsearch.spaces``,
``archsearch.solvers``) register as any plugin does, through the entry-point group
``archsearch.plugins``: each entry point names a module (or callable) that is loaded on the first
lookup, and whose import runs its ``register_lazy`` calls or ``@register_*`` decorators.

A space entry is a factory ``(**options) -> Space``; a strategy entry is a
:class:`~archsearch.strategy.Strategy` subclass (or factory with the same signature); a command
entry is a ``register(subparsers)`` function that adds one subcommand.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from importlib import metadata
from typing import Any

KINDS = ("space", "strategy", "solver", "dataset", "command")
_BUILTIN_MODULES = ("archsearch.strategies", "archsearch.commands", "archsearch.data")
PLUGIN_GROUP = "archsearch.plugins"
_UNSET: Any = object()


class Entry:
    """One registered object, or the import path of one, with its one-line description."""

    __slots__ = ("name", "description", "target", "_obj")

    def __init__(
        self, name: str, obj: Any = _UNSET, description: str = "", target: str | None = None
    ) -> None:
        if obj is _UNSET and target is None:
            raise ValueError(f"entry '{name}' needs an object or a target 'module:attr'")
        self.name, self.description, self._obj = name, description, obj
        self.target = target if target is not None else _target_of(obj)

    @property
    def loaded(self) -> bool:
        """Whether the object has been imported (always true for decorated entries)."""
        return self._obj is not _UNSET

    @property
    def obj(self) -> Any:
        """The registered object; a lazy entry imports its target on first access."""
        if self._obj is _UNSET:
            module, _, attr = self.target.partition(":")
            found: Any = importlib.import_module(module)
            for part in attr.split("."):
                found = getattr(found, part)
            self._obj = found
        return self._obj

    def __repr__(self) -> str:
        return f"Entry({self.name!r}, target={self.target!r}, loaded={self.loaded})"


_entries: dict[str, dict[str, Entry]] = {k: {} for k in KINDS}
_loaded = False


def _target_of(obj: Any) -> str:
    """``module:qualname`` of a function or class (of an instance: of its class)."""
    if not hasattr(obj, "__qualname__"):
        obj = type(obj)
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown registry kind {kind!r}; known: {', '.join(KINDS)}")


def register_lazy(kind: str, name: str, target: str, description: str) -> None:
    """Register ``target`` (``"package.module:attr"``) as ``name``, imported on first use."""
    _check_kind(kind)
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"lazy target {target!r} must look like 'package.module:attr'")
    prev = _entries[kind].get(name)
    if prev is not None and prev.target != target:
        raise ValueError(f"{kind} '{name}' is registered twice ({prev.target}, {target})")
    if prev is None:
        _entries[kind][name] = Entry(name, description=description, target=target)


def _register(kind: str, name: str, description: str) -> Callable[[Any], Any]:
    def deco(obj: Any) -> Any:
        prev = _entries[kind].get(name)
        target = _target_of(obj)
        if prev is not None and prev.target != target and not (prev.loaded and prev.obj is obj):
            raise ValueError(f"{kind} '{name}' is registered twice ({prev.target}, {target})")
        doc = description or next(iter((obj.__doc__ or "").strip().splitlines()), "")
        if prev is not None and not prev.loaded:
            prev._obj = obj  # the lazy entry's target, imported by other means
        else:
            _entries[kind][name] = Entry(name, obj, doc)
        return obj

    return deco


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
    """Import the built-in catalogs and load the plugins (once); imports no lazy target."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in metadata.entry_points(group=PLUGIN_GROUP):
        ep.load()


def entries(kind: str) -> dict[str, Entry]:
    """All entries of one kind, sorted by name (lazy ones stay unimported)."""
    _check_kind(kind)
    load_builtins()
    return dict(sorted(_entries[kind].items()))


def name_of(kind: str, obj: Any) -> str | None:
    """The name ``obj`` (or its class) is registered under, found without importing anything."""
    _check_kind(kind)
    load_builtins()
    target = _target_of(obj)
    cls = obj if isinstance(obj, type) else type(obj)
    for name, entry in sorted(_entries[kind].items()):
        if entry.loaded and (entry._obj is obj or entry._obj is cls):
            return name
    for name, entry in sorted(_entries[kind].items()):
        if entry.target == target or entry.target == _target_of(cls):
            return name
    return None


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
