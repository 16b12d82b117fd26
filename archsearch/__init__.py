"""archsearch: neural architecture search and design for PyTorch.

The core (spaces, architectures, strategies, results) imports without torch; building and
evaluating models import it when used.
"""

from __future__ import annotations

from typing import Any

#: Public name -> the module that defines it; imported on first use (PEP 562), so that
#: ``import archsearch`` (and ``archsearch strategies``) stays cheap.
_EXPORTS = {
    "search": "archsearch.api",
    "Architecture": "archsearch.arch",
    "InvalidArchitecture": "archsearch.arch",
    "Data": "archsearch.data",
    "load_data": "archsearch.data",
    "FunctionSpace": "archsearch.function_space",
    "Choice": "archsearch.params",
    "Float": "archsearch.params",
    "Int": "archsearch.params",
    "Param": "archsearch.params",
    "get_space": "archsearch.registry",
    "get_strategy": "archsearch.registry",
    "register_dataset": "archsearch.registry",
    "register_solver": "archsearch.registry",
    "register_space": "archsearch.registry",
    "register_strategy": "archsearch.registry",
    "Chooser": "archsearch.space",
    "Space": "archsearch.space",
    "Task": "archsearch.space",
    "Exhausted": "archsearch.strategy",
    "Objective": "archsearch.strategy",
    "Result": "archsearch.strategy",
    "Strategy": "archsearch.strategy",
    "Trial": "archsearch.strategy",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archsearch' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__version__ = "0.1.0"

__all__ = [
    "Architecture",
    "Choice",
    "Data",
    "Chooser",
    "Exhausted",
    "Float",
    "FunctionSpace",
    "Int",
    "InvalidArchitecture",
    "Objective",
    "Param",
    "Result",
    "Space",
    "Strategy",
    "Task",
    "Trial",
    "get_space",
    "get_strategy",
    "load_data",
    "register_dataset",
    "register_solver",
    "register_space",
    "register_strategy",
    "search",
]
