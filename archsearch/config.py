"""One search configuration: every setting of a search, its default, and its validation.

:class:`SearchConfig` is frozen and checks every field when it is built (types and ranges,
registered names with did-you-mean errors, option names and types through
:mod:`archsearch.options`, objectives, the output path), so nothing is written and nothing trains
before it is valid. The CLI only turns argv into one; :func:`archsearch.api.search` takes the
same fields; ``run.json`` is its serialization (:meth:`SearchConfig.to_json`).

Resume has one rule (:meth:`SearchConfig.resume`), the same for the CLI and the API: a resumed
run keeps its settings; giving a different space, strategy, dataset, seed, epochs, objectives or
options is a one-line error naming the setting; ``budget`` extends (or shortens, not below the
trials already finished); the executor, its options and ``data_root`` may change.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsearch.options import check_options
from archsearch.registry import lookup
from archsearch.strategy import objectives_from

EXECUTORS = {"local": "archsearch.evaluate.local", "ray": "archsearch.evaluate.ray"}
#: Settings a resumed run keeps: giving another value is an error.
KEPT = (
    "space",
    "strategy",
    "dataset",
    "seed",
    "epochs",
    "objectives",
    "space_options",
    "strategy_options",
    "trainer_options",
)
#: Settings that name a registered object unless given as a Python object (``custom``).
NAMED = ("space", "strategy", "dataset")


def _options(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{name} must be a mapping of option names to values, got {value!r}")
    return dict(value)


#: Upper bounds, checked before anything is built: a value past them is a typo, not a plan
#: (a search of 10^20 trials or 10^11 epochs would run with no end and no output).
MAX_BUDGET = 10_000_000
MAX_EPOCHS = 100_000
MAX_SEED = 2**32 - 1  # numpy's and torch's seeds


def _count(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number from {low} to {high:,}, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high:,}, got {value}")
    return value


def check_run_id(run_id: Any, what: str = "run_id") -> str:
    """``run_id`` when it is a plain folder name (no separator, not ``.``/``..``, not empty)."""
    if (
        not isinstance(run_id, str)
        or not run_id.strip()
        or run_id in (".", "..")
        or "/" in run_id
        or "\\" in run_id
        or "\0" in run_id
    ):
        raise ValueError(
            f"{what} must be a plain folder name (no '/', not '..'), got {run_id!r}".strip()
        )
    return run_id


def check_out_folder(out: Any, what: str = "out") -> str:
    """``out`` when it names a folder that is or can be made (not empty, not a file's path)."""
    if isinstance(out, os.PathLike):
        out = os.fspath(out)
    if not isinstance(out, str) or not out.strip() or "\0" in out:
        raise ValueError(f"{what} must name a folder, got {out!r}".strip())
    blocker = file_on_the_way(Path(out))
    if blocker is not None:
        raise ValueError(f"{what} {out!r}: {str(blocker)!r} is a file, not a folder".strip())
    return out


def file_on_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` (or ``path`` itself) when it is not a folder."""
    for parent in (path, *path.parents):
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


@dataclass(frozen=True)
class SearchConfig:
    """Every setting of one search, validated when built; ``run.json`` is its serialization."""

    space: str = "deeparchitect"
    strategy: str = "random"
    dataset: str | None = "digits"
    budget: int = 20
    epochs: int = 3
    seed: int = 0
    objectives: tuple[str, ...] = ("accuracy:max",)
    executor: str = "local"
    executor_options: dict[str, Any] = field(default_factory=dict)
    space_options: dict[str, Any] = field(default_factory=dict)
    strategy_options: dict[str, Any] = field(default_factory=dict)
    trainer_options: dict[str, Any] = field(default_factory=dict)
    data_root: str | None = None
    out: str = "results"
    run_id: str | None = None
    #: Settings given as Python objects instead of registered names (not looked up by name).
    custom: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _count("budget", self.budget, 1, MAX_BUDGET)
        _count("epochs", self.epochs, 1, MAX_EPOCHS)
        _count("seed", self.seed, 0, MAX_SEED)
        spec = self.objectives
        objs = objectives_from(spec if isinstance(spec, str) else list(spec))
        set_ = object.__setattr__
        set_(self, "objectives", tuple(f"{o.name}:{o.direction}" for o in objs))
        for name in ("executor_options", "space_options", "strategy_options", "trainer_options"):
            set_(self, name, _options(getattr(self, name), name))
        set_(self, "custom", frozenset(self.custom))
        for name in ("out", "data_root"):
            if isinstance(getattr(self, name), os.PathLike):
                set_(self, name, os.fspath(getattr(self, name)))
        self._check_paths()
        self._check_names()

    def _check_names(self) -> None:
        for name in NAMED:
            value = getattr(self, name)
            if name in self.custom or (name == "dataset" and value is None):
                continue
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a registered name, got {value!r}")
            factory = lookup(name, value)
            if name == "space":
                check_options(f"space '{value}'", factory, self.space_options)
            elif name == "strategy":
                fixed = ("space", "objectives", "seed")
                check_options(f"strategy '{value}'", factory, self.strategy_options, fixed)
        if self.executor not in EXECUTORS:
            raise ValueError(f"unknown executor '{self.executor}'; known: {', '.join(EXECUTORS)}")

    def _check_paths(self) -> None:
        check_out_folder(self.out)
        if self.run_id is not None:
            check_run_id(self.run_id)
        root = self.data_root
        if root is not None:
            if not isinstance(root, str) or not root.strip():
                raise ValueError(f"data_root must name a folder, got {root!r}")

    def to_json(self) -> dict[str, Any]:
        """The settings as ``run.json`` stores them (``out``, ``run_id``, ``custom`` left out)."""
        data = dataclasses.asdict(self)
        for key in ("out", "run_id", "custom"):
            data.pop(key)
        data["objectives"] = list(self.objectives)
        return json.loads(json.dumps(data, default=str))

    @classmethod
    def from_json(cls, data: Mapping[str, Any], **overrides: Any) -> SearchConfig:
        """A config from ``run.json`` (extra keys such as ``command`` are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        missing = [k for k in ("space", "strategy", "budget", "epochs", "seed") if k not in data]
        if missing:
            raise ValueError(f"run.json lacks {', '.join(missing)}; only a search run resumes")
        kw = {k: v for k, v in data.items() if k in names}
        if kw.get("objectives") is None:
            kw.pop("objectives", None)
        for key in ("space_options", "strategy_options", "trainer_options", "executor_options"):
            kw[key] = kw.get(key) or {}
        kw.update(overrides)
        return cls(**kw)

    def resume(self, given: Mapping[str, Any], where: str) -> SearchConfig:
        """This (stored) config with the settings ``given`` for a resume: the one resume rule."""
        for key, value in given.items():
            if value is None or key not in KEPT:
                continue
            mine = getattr(self, key)
            if key == "objectives":
                same = objectives_from(value) == objectives_from(list(mine))
            elif key.endswith("_options"):
                same = dict(value) == mine or (not value and not mine)
            else:
                same = value == mine
            if not same:
                raise ValueError(
                    f"{key} {value!r} differs from the resumed run's {mine!r} ({where}); a "
                    "resumed run keeps its settings (start a new run to change them)"
                )
        changes = {k: v for k, v in given.items() if v is not None and k not in KEPT}
        return dataclasses.replace(self, **changes)
