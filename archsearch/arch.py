"""Architecture records: the ordered decisions of one point of a space.

An :class:`Architecture` is the space's name plus the decisions ``{name: value}`` in the order
the space asked them. It is JSON, has a canonical key (for deduplication and caching) and
replays exactly: the same record always rebuilds the same model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archsearch.params import Value


class InvalidArchitecture(ValueError):
    """A decision that does not fit the space (wrong value, missing, or unknown)."""


class Architecture:
    """Ordered decisions plus the space name; immutable."""

    __slots__ = ("space", "_decisions", "_key")

    def __init__(self, space: str, decisions: Mapping[str, Value]) -> None:
        if not isinstance(space, str) or not space:
            raise ValueError(f"space must be a non-empty string, got {space!r}")
        object.__setattr__(self, "space", space)
        object.__setattr__(self, "_decisions", dict(decisions))
        object.__setattr__(self, "_key", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Architecture is immutable")

    @property
    def decisions(self) -> dict[str, Value]:
        """A copy of the decisions, in the order they were made."""
        return dict(self._decisions)

    def __getitem__(self, name: str) -> Value:
        return self._decisions[name]

    def __contains__(self, name: str) -> bool:
        return name in self._decisions

    def __len__(self) -> int:
        return len(self._decisions)

    def get(self, name: str, default: Value = None) -> Value:
        """The value of decision ``name``, or ``default``."""
        return self._decisions.get(name, default)

    @property
    def key(self) -> str:
        """Canonical key: equal for equal decisions whatever their order."""
        if self._key is None:
            canon = json.dumps(
                [self.space, sorted(self._decisions.items())], separators=(",", ":")
            )
            object.__setattr__(self, "_key", hashlib.sha1(canon.encode()).hexdigest()[:16])
        return self._key

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Architecture)
            and self.space == other.space
            and self._decisions == other._decisions
        )

    def __hash__(self) -> int:
        return hash(self.key)

    def __reduce__(self) -> tuple:
        # Slots plus a blocking __setattr__ defeat pickle's default; rebuild through __init__.
        return (Architecture, (self.space, self._decisions))

    def __repr__(self) -> str:
        return f"Architecture(space={self.space!r}, decisions={self._decisions!r})"

    def to_json(self) -> dict[str, Any]:
        """``{"space": name, "decisions": {...}}``."""
        return {"space": self.space, "decisions": dict(self._decisions)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Architecture:
        """Inverse of :meth:`to_json`; accepts a run's ``best.json`` too (its ``arch`` entry)."""
        if "arch" in data and "decisions" not in data:
            data = data["arch"]
        if not isinstance(data, Mapping) or "space" not in data or "decisions" not in data:
            raise ValueError(
                "not an architecture record: expected an object with 'space' and 'decisions'"
            )
        if not isinstance(data["decisions"], Mapping):
            raise ValueError("'decisions' of an architecture record must be an object")
        return cls(data["space"], data["decisions"])

    def save(self, path: str | Path) -> None:
        """Write the record as JSON."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Architecture:
        """Read a record written by :meth:`save` (or a run's ``best.json``)."""
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"architecture file not found: {p}")
        try:
            data = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{p} is not valid JSON: {e.msg} at line {e.lineno}") from None
        except UnicodeDecodeError:
            raise ValueError(
                f"{p} is not a text file (not UTF-8); expected architecture JSON"
            ) from None
        if not isinstance(data, dict):
            raise ValueError(f"{p} holds a JSON {type(data).__name__}, not an architecture")
        try:
            return cls.from_json(data)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"{p}: {e}") from None

    def replace(self, **changes: Value) -> Architecture:
        """A copy with some decisions changed (order kept; new names appended)."""
        d = dict(self._decisions)
        d.update(changes)
        return Architecture(self.space, d)
