"""Variation operators on architectures: mutation and crossover that respect conditional spaces.

After Real, Aggarwal, Huang and Le, "Regularized Evolution for Image Classifier Architecture
Search" (AAAI 2019; one-decision mutation) and Deb et al.'s NSGA-II (uniform crossover).

Both operators re-walk the space with :meth:`Space.next_param`, so a change that opens new
decisions (e.g. a larger ``Repeat`` count) samples the opened ones at random, a change that
closes decisions drops them, and every other decision that still applies keeps its value. The
result is always a valid, complete architecture of the space.
"""

from __future__ import annotations

import numpy as np

from archsearch.arch import Architecture
from archsearch.params import Float, Param, Value
from archsearch.space import Space


def perturb(param: Param, value: Value, rng: np.random.Generator) -> Value:
    """A value of ``param`` different from ``value`` where one exists (uniform otherwise)."""
    if isinstance(param, Float):
        if param.low == param.high:
            return float(param.low)
        return param.sample(rng)
    size = param.size
    if size is None or size < 2:
        return param.sample(rng)
    options = param.grid()
    i = index_of(options, value)
    if i is None:
        return options[int(rng.integers(size))]
    j = int(rng.integers(size - 1))
    return options[j + (j >= i)]


def index_of(options: list[Value], value: Value) -> int | None:
    """Position of ``value`` in ``options`` (``True`` never matches ``1``), or None."""
    for k, o in enumerate(options):
        if o == value and isinstance(o, bool) == isinstance(value, bool):
            return k
    return None


def mutable(param: Param) -> bool:
    """Whether a decision can take more than one value."""
    if isinstance(param, Float):
        return param.low != param.high
    return (param.size or 0) > 1


def mutate(space: Space, arch: Architecture, rng: np.random.Generator) -> Architecture:
    """Change one decision of ``arch`` to another value and re-complete the space around it."""
    params = [p for p in space.params(arch) if mutable(p)]
    if not params:
        return space.sample(rng)
    target = params[int(rng.integers(len(params)))]
    old = arch.decisions
    new_value = perturb(target, old[target.name], rng)
    return _recomplete(space, old, {target.name: new_value}, rng)


def change(
    space: Space, arch: Architecture, name: str, value: Value, rng: np.random.Generator
) -> Architecture:
    """``arch`` with decision ``name`` set to ``value``, the space re-completed around it."""
    return _recomplete(space, arch.decisions, {name: value}, rng)


def _recomplete(
    space: Space, old: dict[str, Value], forced: dict[str, Value], rng: np.random.Generator
) -> Architecture:
    def pick(p: Param, _: dict[str, Value]) -> Value:
        if p.name in forced and p.contains(forced[p.name]):
            return forced[p.name]
        if p.name in old and p.contains(old[p.name]):
            return old[p.name]
        return p.sample(rng)

    return space.complete({}, pick)


def crossover(
    space: Space, a: Architecture, b: Architecture, rng: np.random.Generator
) -> Architecture:
    """Uniform crossover: each open decision takes the value of a random parent that has it."""
    da, db = a.decisions, b.decisions

    def pick(p: Param, _: dict[str, Value]) -> Value:
        have = [d[p.name] for d in (da, db) if p.name in d and p.contains(d[p.name])]
        if not have:
            return p.sample(rng)
        return have[int(rng.integers(len(have)))]

    return space.complete({}, pick)
