"""Decisions and their domains: ``Choice``, ``Int`` and ``Float``.

A :class:`Param` is one decision of a search space: a stable name (a path such as
``normal/b2/op_left``) and a domain. Params are frozen, validated on creation and round-trip
through JSON. Values are plain JSON scalars (str, int, float, bool), so an architecture record
is always a flat JSON object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Value = str | int | float | bool | None

_SCALARS = (str, int, float, bool, type(None))


class Param:
    """Base class of one decision: a name and a domain."""

    name: str

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the domain."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Value:
        """Draw a value uniformly (log-uniformly for log floats)."""
        raise NotImplementedError

    def grid(self, n: int = 8) -> list[Value]:
        """A finite list of values covering the domain (all of them when discrete)."""
        raise NotImplementedError

    @property
    def size(self) -> int | None:
        """Number of values, or None for a continuous domain."""
        raise NotImplementedError

    def describe(self) -> str:
        """The domain in words, for error messages."""
        raise NotImplementedError

    def renamed(self, name: str) -> Param:
        """The same domain under another name."""
        from dataclasses import replace

        return replace(self, name=name)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; :func:`param_from_json` inverts it."""
        raise NotImplementedError

    def check(self, value: Any) -> Value:
        """Return ``value`` if it lies in the domain, else raise ``ValueError`` naming it."""
        if not self.contains(value):
            raise ValueError(f"{self.name}: {value!r} is not allowed; expected {self.describe()}")
        return value


def _same(a: Any, b: Any) -> bool:
    # bool is an int subclass: True must not match option 1.
    return (
        type(a) is type(b)
        and a == b
        or (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and not isinstance(a, bool)
            and not isinstance(b, bool)
            and a == b
        )
    )


@dataclass(frozen=True)
class Choice(Param):
    """One of a finite list of options (strings, numbers or booleans)."""

    name: str
    options: tuple

    def __init__(self, name: str, options: Any) -> None:
        options = tuple(options)
        if not options:
            raise ValueError(f"{name}: a Choice needs at least one option")
        for o in options:
            if not isinstance(o, _SCALARS):
                raise ValueError(
                    f"{name}: option {o!r} is a {type(o).__name__}; options must be "
                    "str, int, float, bool or None"
                )
        if len({(type(o), o) for o in options}) != len(options):
            raise ValueError(f"{name}: duplicate options in {list(options)!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "options", options)

    def index(self, value: Any) -> int:
        """Position of ``value`` among the options."""
        for i, o in enumerate(self.options):
            if _same(o, value):
                return i
        raise ValueError(f"{self.name}: {value!r} is not allowed; expected {self.describe()}")

    def contains(self, value: Any) -> bool:
        if type(value) is str:  # fast path: a str only ever equals a str option
            return value in self.options
        return any(_same(o, value) for o in self.options)

    def sample(self, rng: np.random.Generator) -> Value:
        return self.options[int(rng.integers(len(self.options)))]

    def grid(self, n: int = 8) -> list[Value]:
        return list(self.options)

    @property
    def size(self) -> int:
        return len(self.options)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def to_json(self) -> dict[str, Any]:
        return {"type": "choice", "name": self.name, "options": list(self.options)}


@dataclass(frozen=True)
class Int(Param):
    """An integer in ``[low, high]`` on the grid ``low + k * step``."""

    name: str
    low: int
    high: int
    step: int = 1

    def __post_init__(self) -> None:
        for field_name in ("low", "high", "step"):
            v = getattr(self, field_name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"{self.name}: {field_name}={v!r} must be an integer")
        if self.step < 1:
            raise ValueError(f"{self.name}: step={self.step} must be >= 1")
        if self.low > self.high:
            raise ValueError(
                f"{self.name}: low <= high must hold, got low={self.low}, high={self.high}"
            )

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            return False
        return self.low <= value <= self.high and (value - self.low) % self.step == 0

    def sample(self, rng: np.random.Generator) -> int:
        return self.low + self.step * int(rng.integers(self.size))

    def grid(self, n: int = 8) -> list[Value]:
        return list(range(self.low, self.high + 1, self.step))

    @property
    def size(self) -> int:
        return (self.high - self.low) // self.step + 1

    def describe(self) -> str:
        step = f" in steps of {self.step}" if self.step != 1 else ""
        return f"an integer in [{self.low}, {self.high}]{step}"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "int",
            "name": self.name,
            "low": self.low,
            "high": self.high,
            "step": self.step,
        }


@dataclass(frozen=True)
class Float(Param):
    """A real number in ``[low, high]``, sampled uniformly or log-uniformly."""

    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(
                f"{self.name}: need finite low <= high, got low={self.low}, high={self.high}"
            )
        if self.log and self.low <= 0:
            raise ValueError(f"{self.name}: a log-scaled Float needs low > 0, got {self.low}")

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            return False
        return self.low <= value <= self.high

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def grid(self, n: int = 8) -> list[Value]:
        if n < 2 or self.low == self.high:
            return [float(self.low)]
        if self.log:
            return [float(v) for v in np.geomspace(self.low, self.high, n)]
        return [float(v) for v in np.linspace(self.low, self.high, n)]

    @property
    def size(self) -> None:
        return None

    def describe(self) -> str:
        scale = ", log scale" if self.log else ""
        return f"a float in [{self.low}, {self.high}]{scale}"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "float",
            "name": self.name,
            "low": self.low,
            "high": self.high,
            "log": self.log,
        }


def param_from_json(d: dict[str, Any]) -> Param:
    """Inverse of :meth:`Param.to_json`."""
    kind = d.get("type")
    if kind == "choice":
        return Choice(d["name"], d["options"])
    if kind == "int":
        return Int(d["name"], d["low"], d["high"], d.get("step", 1))
    if kind == "float":
        return Float(d["name"], d["low"], d["high"], d.get("log", False))
    raise ValueError(f"unknown param type {kind!r}; known: choice, int, float")
