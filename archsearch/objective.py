"""Objectives: a metric to optimize and its direction, parsed from ``accuracy,latency_ms:min``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Objective:
    """A metric to optimize and its direction (``max`` or ``min``)."""

    name: str
    direction: str = "max"

    def __post_init__(self) -> None:
        if self.direction not in ("max", "min"):
            raise ValueError(
                f"objective {self.name!r}: direction {self.direction!r} is not allowed; expected max or min"
            )

    @classmethod
    def parse(cls, text: str | Objective) -> Objective:
        """``accuracy``, ``latency_ms:min`` or ``flops:min``; known metrics get their usual direction."""
        if isinstance(text, Objective):
            return text
        if not isinstance(text, str):
            raise ValueError(
                f"an objective is a metric name such as 'accuracy' or 'latency_ms:min', "
                f"got {text!r}"
            )
        name, _, direction = text.partition(":")
        if not name:
            raise ValueError(f"empty objective name in {text!r}")
        return cls(name, direction or DEFAULT_DIRECTIONS.get(name, "max"))

    def sign(self) -> float:
        """+1 for max, -1 for min."""
        return 1.0 if self.direction == "max" else -1.0


DEFAULT_DIRECTIONS = {
    "accuracy": "max",
    "loss": "min",
    "latency_ms": "min",
    "latency": "min",
    "size_mb": "min",
    "size": "min",
    "params": "min",
    "flops": "min",
    "activations": "min",
    "train_seconds": "min",
}


def objectives_from(
    spec: str | Objective | Sequence[str | Objective] | None,
) -> tuple[Objective, ...]:
    """Objectives from ``"accuracy,latency"`` or a list; default: maximize accuracy."""
    if spec is None:
        return (Objective("accuracy"),)
    if isinstance(spec, (str, Objective)):
        spec = [s for s in spec.split(",")] if isinstance(spec, str) else [spec]
    objs = tuple(Objective.parse(s.strip() if isinstance(s, str) else s) for s in spec)
    if not objs:
        raise ValueError("at least one objective is needed")
    names = [o.name for o in objs]
    if len(set(names)) != len(names):
        raise ValueError(f"objectives repeat a name: {names}")
    return objs
