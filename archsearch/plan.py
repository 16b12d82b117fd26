"""A search made ready: its validated configuration and every object built, nothing written yet.

:func:`prepare` turns the fields of :func:`archsearch.api.search` into a
:class:`~archsearch.config.SearchConfig` (applying the resume rule to a resumed run's
``run.json``), builds the space, the strategy, the executor, the data and the evaluator, checks
the objectives against what the evaluator reports and the executor's resources against the
machine. Only :meth:`Plan.open` writes: it creates and locks the run folder (or locks, checks
and restores a resumed one).
"""

from __future__ import annotations

import dataclasses
import importlib
import platform
import shlex
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsearch import journal as journal_
from archsearch import snapshot
from archsearch.config import EXECUTORS, SearchConfig
from archsearch.options import check_options, construct
from archsearch.registry import entries, lookup, name_of
from archsearch.results import Run
from archsearch.space import Space
from archsearch.strategy import Objective, Strategy, objectives_from

FIELDS = {f.name for f in dataclasses.fields(SearchConfig)} - {"custom"}


def get_executor(name: str, **options: Any) -> Any:
    """The executor registered as ``name`` (``local`` or ``ray``), built with ``options``."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor '{name}'; known: {', '.join(EXECUTORS)}")
    module = importlib.import_module(EXECUTORS[name])
    return construct(module.Executor, f"executor '{name}'", options)


@dataclass
class Plan:
    """The validated config and the built objects of one search; :meth:`open` starts writing."""

    config: SearchConfig
    space: Space
    strategy: Strategy
    executor: Any
    path: Path
    resume: Run | None
    make_evaluator: Callable[[Path], Callable[..., Any]]
    evaluator_name: str

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """The search's objectives."""
        return objectives_from(list(self.config.objectives))

    def evaluator(self, run_path: Path) -> Callable[..., Any]:
        """The evaluator of the trials (a space's own is made here, in the open run folder)."""
        return self.make_evaluator(run_path)

    def open(self) -> tuple[Run, list[tuple[Any, Any]]]:
        """Create and lock the run folder, or lock, check and restore the resumed one."""
        if self.resume is None:
            meta = {
                "command": shlex.join(sys.argv),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            cfg = {**meta, **self.config.to_json(), "evaluator": self.evaluator_name}
            cfg = {**cfg, "versions": _versions()}
            run = Run.create(self.path.parent, self.path.name, cfg, lock=True)
            return run, []
        run = self.resume.lock()
        try:
            return run, self._restore(run)
        except BaseException:
            run.close()
            raise

    def _restore(self, run: Run) -> list[tuple[Any, Any]]:
        cut = run.repair()
        if cut:
            warnings.warn(
                f"{run.path}: dropped a truncated last journal line ({cut} bytes); "
                "the run was killed while writing it",
                stacklevel=4,
            )
        journal = run.lines()
        lines = [line for line, _ in journal]
        in_flight = {t.number for t in journal_.read_in_flight(run.path)}
        journal_.check(
            lines,
            self.space,
            in_flight,
            journal_.count_set_aside(run.path),
            run.path / journal_.JOURNAL,
        )
        stored = run.config
        snapshot.restore(run, self.strategy, lines, [r for _, r in journal])
        self.strategy.catch_up(max(in_flight, default=-1))  # in-flight trials rerun as they were
        changes = {k: getattr(self.config, k) for k in ("budget", "executor", "executor_options")}
        if any(stored.get(k) != v for k, v in changes.items()):
            run.update_config(**changes)
        return journal


def _versions() -> dict[str, str]:
    import archsearch

    out = {"python": platform.python_version(), "archsearch": archsearch.__version__}
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = torch.__version__
    else:  # a run whose evaluator needs no torch still says which one it would have used
        from importlib import metadata

        try:
            out["torch"] = metadata.version("torch")
        except metadata.PackageNotFoundError:
            pass
    return out


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


def prepare(
    space: Any = None,
    strategy: Any = None,
    *,
    resume: str | Path | None = None,
    evaluator: Callable[..., Any] | None = None,
    **fields: Any,
) -> Plan:
    """Validate every setting and build every object of a search; nothing is written."""
    from archsearch.plan_build import build_plan

    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise TypeError(
            f"search() got an unexpected keyword '{unknown[0]}'; it takes {', '.join(sorted(FIELDS))}"
        )
    given = {k: v for k, v in fields.items() if v is not None}
    custom, names = _custom(space, strategy, fields.get("dataset"), evaluator)
    given.update(names)
    if resume is not None:
        run = Run.open(resume)
        config = _resumed(run, given, custom, evaluator)
    else:
        run = None
        config = SearchConfig(**given, custom=frozenset(custom))
    return build_plan(config, run, space, strategy, fields.get("dataset"), evaluator)


def _custom(space: Any, strategy: Any, dataset: Any, evaluator: Any) -> tuple[set[str], dict]:
    """Which settings are Python objects, and the names they stand for."""
    custom: set[str] = set()
    names: dict[str, Any] = {}
    if isinstance(space, Space):
        custom.add("space")
        names["space"] = space.name
    elif space is not None:
        names["space"] = space
    if isinstance(strategy, str):
        names["strategy"] = strategy
    elif strategy is not None:
        if not (isinstance(strategy, Strategy) or callable(strategy)):
            raise ValueError(
                f"strategy must be a registered name, a Strategy class or a Strategy, "
                f"got {strategy!r}"
            )
        name = name_of("strategy", strategy)
        if name is None or isinstance(strategy, Strategy):
            custom.add("strategy")
        names["strategy"] = name or getattr(strategy, "__name__", type(strategy).__name__)
    if dataset is not None and not isinstance(dataset, str):
        from archsearch.data import Data

        if not isinstance(dataset, Data):
            raise ValueError(f"dataset must be a registered name or a Data, got {dataset!r}")
        custom.add("dataset")
        names["dataset"] = getattr(dataset, "name", "custom")
    if evaluator is not None:
        names["dataset"] = None if dataset is None or not isinstance(dataset, str) else dataset
    return custom, names


def _resumed(run: Run, given: dict, custom: set[str], evaluator: Any) -> SearchConfig:
    cfg = run.config
    if cfg.get("evaluator", "default") != "default" and evaluator is None:
        raise ValueError(
            f"the run used a custom evaluator ({cfg['evaluator']}); pass evaluator= to resume it"
        )
    if "space" in cfg and "space" not in custom and cfg["space"] not in entries("space"):
        raise ValueError(
            f"the run's space '{cfg['space']}' is not registered; pass the space object to resume"
        )
    name = cfg.get("dataset")
    if evaluator is None and "dataset" not in custom and name and name not in entries("dataset"):
        raise ValueError(
            f"the run's dataset '{name}' is not registered; pass dataset= (a Data) to resume"
        )
    stored_custom = {k for k in ("space", "strategy") if k in custom}
    if "strategy" in cfg and cfg["strategy"] not in entries("strategy"):
        stored_custom.add("strategy")
    if evaluator is not None or "dataset" in custom:
        stored_custom.add("dataset")
    stored = SearchConfig.from_json(cfg, custom=frozenset(stored_custom), out=str(run.path.parent))
    given = {k: v for k, v in given.items() if k not in ("out", "run_id")}
    if evaluator is not None:
        given.pop("dataset", None)
    config = stored.resume(given, str(run.path))
    with warnings.catch_warnings():  # a truncated last line is reported once, by the repair
        warnings.simplefilter("ignore")
        done = len(run.lines())  # read only: nothing is locked or touched before the checks
    if config.budget < done and config.budget != cfg.get("budget"):
        raise ValueError(
            f"budget {config.budget} is below the {done} trials {run.path} has finished; "
            f"give a budget >= {done}"
        )
    return config


__all__ = ["Plan", "check_options", "get_executor", "lookup", "prepare"]
