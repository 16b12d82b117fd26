"""The Python API: one call runs a search and returns its run folder.

``search(space, strategy, dataset=..., budget=...)`` resolves names through the registry, makes
``results/<run-id>/`` with ``run.json``, then lets an executor run the loop ``ask -> evaluate
-> journal -> tell`` until ``budget`` trials are journaled, and writes ``best.json`` (and
``pareto.json`` for several objectives). ``search(resume=RUN_DIR)`` continues a run from its
journal: the strategy is restored from its snapshot and the journal entries after it are
replayed, so the resumed run continues the same search and never re-runs a finished trial.
"""

from __future__ import annotations

import importlib
import inspect
import platform
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from archsearch.progress import ProgressBar
from archsearch.registry import entries, lookup, name_of
from archsearch.results import Record, Run, best_of, new_run_id
from archsearch.space import Space
from archsearch.strategy import Objective, Strategy, objectives_from, restore

EXECUTORS = {"local": "archsearch.evaluate.local", "ray": "archsearch.evaluate.ray"}
DEFAULT_BUDGET = 20
DEFAULT_EPOCHS = 3


def get_executor(name: str, **options: Any) -> Any:
    """The executor registered as ``name`` (``local`` or ``ray``), built with ``options``."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor '{name}'; known: {', '.join(EXECUTORS)}")
    module = importlib.import_module(EXECUTORS[name])
    return _construct(module.Executor, f"executor '{name}'", options)


def _construct(factory: Callable[..., Any], what: str, options: dict[str, Any], *args: Any) -> Any:
    """``factory(*args, **options)``; an option it does not take is a one-line ValueError."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return factory(*args, **options)
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        known = [
            n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        known = known[len(args) :]
        for key in options:
            if key not in known:
                raise ValueError(
                    f"{what} has no option '{key}'; known: {', '.join(known) or 'none'}"
                )
    return factory(*args, **options)


def _registered_name(kind: str, obj: Any) -> str | None:
    return name_of(kind, obj)


def _versions() -> dict[str, str]:
    import archsearch

    out = {"python": platform.python_version(), "archsearch": archsearch.__version__}
    try:
        import torch

        out["torch"] = torch.__version__
    except ImportError:
        pass
    return out


def _resolve_space(space: Space | str, options: dict[str, Any]) -> tuple[Space, str]:
    if isinstance(space, Space):
        return space, space.name
    factory = lookup("space", space)
    return _construct(factory, f"space '{space}'", options), space


def _make_strategy(
    strategy: Strategy | str | type,
    space: Space,
    objectives: Sequence[Objective],
    seed: int,
    options: dict[str, Any],
) -> tuple[Strategy, str]:
    if isinstance(strategy, Strategy):
        return strategy, _registered_name("strategy", strategy) or type(strategy).__name__
    if isinstance(strategy, str):
        cls, name = lookup("strategy", strategy), strategy
    else:
        cls, name = strategy, _registered_name("strategy", strategy) or strategy.__name__
    kw = {"objectives": objectives, "seed": seed, **options}
    return _construct(cls, f"strategy '{name}'", kw, space), name


def _evaluator(
    evaluator: Callable[..., Any] | None,
    space: Space,
    data: Any,
    epochs: int,
    seed: int,
    trainer_options: dict[str, Any],
    run_path: Path,
) -> Callable[..., Any]:
    """The caller's evaluator, else the space's own (``Space.evaluator``), else a Trainer.

    ``data`` is the loaded :class:`~archsearch.data.Data` (``search`` loads it before it makes
    the run folder) whenever no evaluator is given.
    """
    if evaluator is not None:
        return evaluator
    from archsearch.evaluate.trainer import Trainer

    own = space.evaluator(
        data,
        epochs=epochs,
        seed=seed,
        run_path=Path(run_path).resolve(),
        device=trainer_options.get("device", "auto"),
        trainer_options=trainer_options,
    )
    if own is not None:
        return own
    opts = {"epochs": epochs, "seed": seed, **trainer_options}
    return _construct(Trainer, "trainer", opts, space, data)


def _restore_strategy(run: Run, fresh: Strategy, records: list[Record]) -> Strategy:
    """The strategy after ``records``: its snapshot plus the journal after it, else a replay."""
    blob = run.load_snapshot()
    if blob is not None:
        try:
            snap = restore(blob, fresh.space)
        except Exception as e:
            warnings.warn(
                f"{run.path}: strategy snapshot unreadable ({e}); replaying the journal",
                stacklevel=3,
            )
        else:
            if type(snap) is type(fresh) and snap.n_told <= len(records):
                snap.replay((r.trial, r.result) for r in records[snap.n_told :])
                return snap
    fresh.replay((r.trial, r.result) for r in records)
    return fresh


def search(
    space: Space | str | None = None,
    strategy: Strategy | str | type | None = None,
    *,
    dataset: Any = None,
    budget: int | None = None,
    epochs: int | None = None,
    seed: int | None = None,
    objectives: Any = None,
    executor: str | None = None,
    executor_options: dict[str, Any] | None = None,
    out: str | Path = "results",
    run_id: str | None = None,
    resume: str | Path | None = None,
    space_options: dict[str, Any] | None = None,
    strategy_options: dict[str, Any] | None = None,
    trainer_options: dict[str, Any] | None = None,
    evaluator: Callable[..., Any] | None = None,
    data_root: str | Path | None = None,
    progress: bool = True,
    on_record: Callable[[Record], None] | None = None,
    report: bool = True,
) -> Run:
    """Run (or, with ``resume``, continue) a search and return its run folder.

    At the end it writes ``best.json`` (``pareto.json`` for several objectives) and, with
    ``report=True``, ``report.html``.
    """
    run = Run.open(resume) if resume is not None else None
    cfg = run.config if run is not None else dict(DEFAULTS)
    if run is not None:
        missing = [k for k in ("space", "strategy", "budget", "epochs", "seed") if k not in cfg]
        if missing:
            raise ValueError(
                f"{run.path}: run.json lacks {', '.join(missing)}; only a search run resumes"
            )
        _check_resumable(cfg, space, dataset, evaluator)
        # The run's own settings win over new values (a CLI passes its defaults too).
        for key, given in (("seed", seed), ("epochs", epochs), ("objectives", objectives)):
            if _differs(key, given, cfg):
                warnings.warn(
                    f"resuming {run.path}: keeping its {key} {cfg.get(key)!r}, not {given!r}",
                    stacklevel=2,
                )
        seed, epochs, objectives = None, None, None
        if isinstance(space, str):
            space = None
        if isinstance(strategy, str):
            strategy = None
        if isinstance(dataset, str):
            dataset = None
    space = cfg["space"] if space is None else space
    strategy = cfg["strategy"] if strategy is None else strategy
    dataset = (cfg.get("dataset") or "digits") if dataset is None else dataset
    objs = objectives_from(cfg.get("objectives") if objectives is None else objectives)
    seed = int(cfg["seed"] if seed is None else seed)
    budget = int(cfg["budget"] if budget is None else budget)
    epochs = int(cfg["epochs"] if epochs is None else epochs)
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if run is not None:
        space_options, strategy_options = cfg.get("space_options"), cfg.get("strategy_options")
        trainer_options = cfg.get("trainer_options")
        # A resumed run keeps its executor unless the caller names another one.
        executor = executor or cfg.get("executor")
        if executor_options is None and executor == cfg.get("executor"):
            executor_options = cfg.get("executor_options")
        data_root = data_root if data_root is not None else cfg.get("data_root")
    executor = executor or "local"
    space_options, strategy_options = dict(space_options or {}), dict(strategy_options or {})
    trainer_options, executor_options = dict(trainer_options or {}), dict(executor_options or {})

    space_obj, space_name = _resolve_space(space, space_options)
    strat, strategy_name = _make_strategy(strategy, space_obj, objs, seed, strategy_options)
    if len(objs) > 1 and not strat.multi_objective:
        warnings.warn(
            f"strategy '{strategy_name}' optimizes one objective; it uses '{objs[0].name}' "
            "(the run still records the Pareto front of all objectives)",
            stacklevel=2,
        )
    exe = get_executor(executor, **executor_options)
    if evaluator is None:
        # Load the data before any folder is made: a missing dataset leaves no empty run behind.
        from archsearch.data import Data, load_data

        if not isinstance(dataset, Data):
            dataset = load_data(dataset, root=data_root)
    if run is None:
        config = {
            "command": shlex.join(sys.argv),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "space": space_name,
            "space_options": space_options,
            "strategy": strategy_name,
            "strategy_options": strategy_options,
            "objectives": [f"{o.name}:{o.direction}" for o in objs],
            "dataset": getattr(dataset, "name", dataset) if evaluator is None else None,
            "data_root": str(data_root) if data_root is not None else None,
            "budget": budget,
            "epochs": epochs,
            "seed": seed,
            "executor": executor,
            "executor_options": executor_options,
            "trainer_options": trainer_options,
            "evaluator": "default" if evaluator is None else _qualname(evaluator),
            "versions": _versions(),
        }
        run = Run.create(out, run_id or new_run_id(space_name, strategy_name, seed), config)
        records: list[Record] = []
    else:
        cut = run.repair()
        if cut:
            warnings.warn(
                f"{run.path}: dropped a truncated last journal line ({cut} bytes); "
                "the run was killed while writing it",
                stacklevel=2,
            )
        records = run.records()
        if budget < len(records) and budget != cfg.get("budget"):
            raise ValueError(
                f"budget {budget} is below the {len(records)} trials {run.path} has finished; "
                f"give a budget >= {len(records)}"
            )
        strat = _restore_strategy(run, strat, records)
        if budget != cfg.get("budget"):
            run.update_config(budget=budget)
    remaining = budget - len(records)
    bar = None
    try:
        if remaining > 0:
            fn = _evaluator(evaluator, space_obj, dataset, epochs, seed, trainer_options, run.path)
            if progress:
                best = best_of(records, objs[0])
                bar = ProgressBar(
                    budget, len(records), objs[0], best and best.result.value(objs[0].name)
                )

            def each(record: Record) -> None:
                if bar is not None:
                    bar(record)
                _check_objectives(record, objs)
                if on_record is not None:
                    on_record(record)

            exe.run(strat, fn, run, remaining, each)
    finally:
        if bar is not None:
            bar.close()
        run.write_summary()
        if report:
            from archsearch.report import write_report

            write_report(run)
    return run


DEFAULTS: dict[str, Any] = {
    "space": "deeparchitect",
    "strategy": "random",
    "dataset": "digits",
    "budget": DEFAULT_BUDGET,
    "epochs": DEFAULT_EPOCHS,
    "seed": 0,
    "objectives": None,
}


def _check_objectives(record: Record, objectives: Sequence[Objective]) -> None:
    """Stop a search whose objective names a metric its successful trials do not report."""
    result = record.result
    if result.status != "ok":
        return
    for o in objectives:
        if o.name not in result.metrics and o.name not in result.cost:
            known = ", ".join(sorted({*result.metrics, *result.cost}))
            raise ValueError(
                f"objective '{o.name}' is not a metric of this search's trials; they report: "
                f"{known}"
            )


def _differs(key: str, given: Any, cfg: dict[str, Any]) -> bool:
    if given is None:
        return False
    if key == "objectives":
        return objectives_from(given) != objectives_from(cfg.get(key))
    return int(given) != cfg.get(key)


def _check_resumable(cfg: dict[str, Any], space: Any, dataset: Any, evaluator: Any) -> None:
    if cfg.get("evaluator", "default") != "default" and evaluator is None:
        raise ValueError(
            f"the run used a custom evaluator ({cfg['evaluator']}); pass evaluator= to resume it"
        )
    if not isinstance(space, Space) and cfg["space"] not in entries("space"):
        raise ValueError(
            f"the run's space '{cfg['space']}' is not registered; pass the space object to resume"
        )
    name = cfg.get("dataset")
    if evaluator is None and dataset is None and name and name not in entries("dataset"):
        raise ValueError(
            f"the run's dataset '{name}' is not registered; pass dataset= (a Data) to resume"
        )


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"
