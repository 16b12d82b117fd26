"""Search spaces: the protocol every space implements, and the define-by-run form.

A space is a tree of decisions. It answers one question: *given the decisions made so far,
what is the next open one?* (``next_param``). Strategies walk it; a flat space is the special
case where the sequence never branches. Deciding is pure Python and torch-free; ``build``
turns a complete :class:`~archsearch.arch.Architecture` into a ``torch.nn.Module``.

Three ways to write a space:

* subclass :class:`Space` (``spaces/nasnet/space.py`` does),
* a define-by-run function that calls ``choose(name, options)`` (:class:`~archsearch.function_space.FunctionSpace`),
* DeepArchitect's module language (:mod:`archsearch.modules`), compiled by
  :class:`~archsearch.modules.ModuleSpace`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from archsearch.arch import Architecture, InvalidArchitecture
from archsearch.params import Choice, Float, Int, Param, Value

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Task:
    """What a built model must fit: input shape ``(C, H, W)`` and the number of classes."""

    input_shape: tuple[int, ...]
    num_classes: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(int(s) for s in self.input_shape))
        if self.num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {self.num_classes}")


@runtime_checkable
class Scheduled(Protocol):
    """A built model whose regularizers follow training progress (NASNet's drop path)."""

    def set_progress(self, fraction: float) -> None:
        """Tell the model that ``fraction`` (0..1) of the training steps are done."""


class Space(ABC):
    """A tree-structured space of architectures (see the module docstring).

    Required: ``next_param`` and ``build``. Every other hook has a default here; a space
    overrides only those it can answer (``docs/contracts.md`` lists them).
    """

    name: str = "space"
    resolution: int | None = None
    """The input resolution the space is designed for (None: not tied to one)."""
    conformance_task: Task | None = None
    """The small task the conformance suite builds with (None: the suite's default)."""

    @abstractmethod
    def next_param(self, partial: Mapping[str, Value]) -> Param | None:
        """The next open decision after ``partial``, or None when the architecture is complete."""

    @abstractmethod
    def build(self, arch: Architecture, task: Task) -> torch.nn.Module:
        """Compile a complete architecture into a model for ``task``."""

    def complexity(self, arch: Architecture, task: Task) -> dict[str, float] | None:
        """Analytic ``params``/``flops``/``activations`` without building, or None."""
        return None

    def evaluator(self, data: Any, **options: Any) -> Any:
        """A space-specific evaluator (e.g. a trained super-network), or None for the default trainer.

        ``options`` carries the search's settings (``epochs``, ``seed``, ``run_path``, ``device``,
        ``trainer_options``); spaces that need no special evaluation leave this alone.
        """
        return None

    def draw(self, arch: Architecture, out_dir: Any) -> list[Any]:
        """Write drawings of ``arch`` (PNG/SVG) into ``out_dir``; returns their paths (none by default)."""
        return []

    def genotype(self, name: str) -> Architecture:
        """The built-in (published) architecture ``name``; by default the space has none."""
        raise KeyError(f"space '{self.name}' has no built-in genotypes")

    def encode(self, archs: Sequence[Architecture]) -> np.ndarray | None:
        """Numeric features of ``archs`` for predictors, one row each, or None (the default).

        None lets a strategy fall back to its own features of the decisions.
        """
        return None

    def estimate(self, arch: Architecture) -> dict[str, float]:
        """Objectives known exactly without training ``arch`` (never predictions); none by default."""
        return {}

    def complete(
        self, partial: Mapping[str, Value], pick: Callable[[Param, dict[str, Value]], Value]
    ) -> Architecture:
        """Finish ``partial`` by calling ``pick(param, decisions_so_far)`` for each open decision."""
        decisions = dict(partial)
        while (p := self.next_param(decisions)) is not None:
            decisions[p.name] = p.check(pick(p, decisions))
        return Architecture(self.name, decisions)

    def sample(
        self, rng: np.random.Generator, partial: Mapping[str, Value] | None = None
    ) -> Architecture:
        """A uniformly random completion of ``partial`` (of nothing by default)."""
        return self.complete(partial or {}, lambda p, _: p.sample(rng))

    def validate(self, arch: Architecture | Mapping[str, Value]) -> Architecture:
        """Check every decision against the space; return the record in the space's order.

        Raises :class:`InvalidArchitecture` naming the first decision that does not fit.
        """
        if isinstance(arch, Architecture):
            if arch.space != self.name:
                raise InvalidArchitecture(
                    f"architecture is of space '{arch.space}', not '{self.name}'"
                )
            given = arch.decisions
        else:
            given = dict(arch)
        ordered: dict[str, Value] = {}
        while (p := self.next_param(ordered)) is not None:
            if p.name not in given:
                raise InvalidArchitecture(
                    f"decision '{p.name}' is missing for space '{self.name}'; expected {p.describe()}"
                )
            value = given[p.name]
            if not p.contains(value):
                raise InvalidArchitecture(
                    f"decision '{p.name}' = {value!r} does not fit space '{self.name}'; "
                    f"expected {p.describe()}"
                )
            ordered[p.name] = value
        extra = [k for k in given if k not in ordered]
        if extra:
            raise InvalidArchitecture(
                f"decision '{extra[0]}' is not part of space '{self.name}' for these choices"
            )
        return Architecture(self.name, ordered)

    def params(self, arch: Architecture | Mapping[str, Value]) -> list[Param]:
        """The decisions along ``arch``'s path, in order."""
        given = arch.decisions if isinstance(arch, Architecture) else dict(arch)
        out: list[Param] = []
        ordered: dict[str, Value] = {}
        while (p := self.next_param(ordered)) is not None:
            if p.name not in given:
                raise InvalidArchitecture(
                    f"decision '{p.name}' is missing for space '{self.name}'"
                )
            out.append(p)
            ordered[p.name] = given[p.name]
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class _Open(Exception):
    """Raised inside a traversal when the next decision is not made yet."""

    def __init__(self, param: Param) -> None:
        super().__init__(param.name)
        self.param = param


class Chooser:
    """The ``choose`` object handed to a define-by-run space function.

    ``choose(name, options)`` (or ``choose.choice``), ``choose.int(name, low, high, step)`` and
    ``choose.float(name, low, high, log)`` return the decided value. Using one name twice with
    the same domain shares the decision; with another domain it is an error.
    """

    def __init__(self, decisions: Mapping[str, Value]) -> None:
        self._decisions = decisions
        self._seen: dict[str, Param] = {}

    def _decide(self, param: Param) -> Value:
        prev = self._seen.get(param.name)
        if prev is not None and prev != param:
            raise ValueError(
                f"decision '{param.name}' is declared twice with different domains: "
                f"{prev.describe()} and {param.describe()}"
            )
        self._seen[param.name] = param
        if param.name not in self._decisions:
            raise _Open(param)
        value = self._decisions[param.name]
        if not param.contains(value):
            raise InvalidArchitecture(
                f"decision '{param.name}' = {value!r} does not fit; expected {param.describe()}"
            )
        return value

    def choice(self, name: str, options: Any) -> Value:
        """One of ``options``."""
        return self._decide(Choice(name, options))

    __call__ = choice

    def int(self, name: str, low: int, high: int, step: int = 1) -> int:
        """An integer in ``[low, high]``."""
        return self._decide(Int(name, low, high, step))

    def float(self, name: str, low: float, high: float, log: bool = False) -> float:
        """A float in ``[low, high]``."""
        return self._decide(Float(name, low, high, log))
