"""The define-by-run space: a function's calls of a :class:`~archsearch.space.Chooser` are its decisions.

Kept apart from :mod:`archsearch.space` because it compiles module-language nodes
(:mod:`archsearch.modules`), which build on the Space base class: space <- modules <- this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from archsearch.arch import Architecture
from archsearch.modules import Node, compile_node
from archsearch.params import Param, Value
from archsearch.space import Chooser, Space, Task, _Open

if TYPE_CHECKING:
    import torch


class FunctionSpace(Space):
    """A define-by-run space: ``fn(choose)`` makes its decisions and returns a model description.

    The description is a module-language node (:mod:`archsearch.modules`), a callable
    ``task -> nn.Module``, or an ``nn.Module``. Keep ``fn`` cheap: it runs once per decision
    while strategies walk the space, so build heavy objects only inside the returned callable.
    """

    def __init__(self, fn: Callable[[Chooser], Any], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "function")

    def next_param(self, partial: Mapping[str, Value]) -> Param | None:
        try:
            self.fn(Chooser(partial))
        except _Open as o:
            return o.param
        return None

    def describe(self, arch: Architecture) -> Any:
        """The description ``fn`` returns for a complete architecture."""
        return self.fn(Chooser(self.validate(arch).decisions))

    def build(self, arch: Architecture, task: Task) -> torch.nn.Module:
        desc = self.describe(arch)
        if isinstance(desc, Node):
            return compile_node(desc, task)
        import torch

        if isinstance(desc, torch.nn.Module):
            return desc
        if callable(desc):
            return desc(task)
        raise TypeError(
            f"space function {self.name!r} returned {type(desc).__name__}; expected a module-language "
            "node, a callable task -> nn.Module, or an nn.Module"
        )
