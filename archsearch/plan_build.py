"""Building the objects of a search from its validated configuration (no file is written).

Split from :mod:`archsearch.plan` so each stays one concept: there, what a plan is and how it
opens its run folder; here, how the space, strategy, executor, data and evaluator are made
and checked against each other before anything exists on disk.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archsearch.config import SearchConfig
from archsearch.options import check_options, construct
from archsearch.registry import lookup
from archsearch.results import RUN_JSON, Run, new_run_id
from archsearch.space import Space
from archsearch.strategy import Strategy, objectives_from


def build_plan(
    config: SearchConfig,
    run: Run | None,
    space: Any,
    strategy: Any,
    dataset: Any,
    evaluator: Callable[..., Any] | None,
) -> Any:
    """The :class:`~archsearch.plan.Plan` of ``config``; every check runs before it returns."""
    from archsearch.plan import Plan, get_executor

    if evaluator is not None and not callable(evaluator):
        raise ValueError(f"evaluator must be callable (arch -> Result), got {evaluator!r}")
    space_obj = space if isinstance(space, Space) else _space(config)
    _check_space(space_obj, config.seed)
    strat = _strategy(config, space_obj, strategy)
    executor = get_executor(config.executor, **config.executor_options)
    executor.check()
    if run is not None:
        path = run.path
    else:
        rid = config.run_id or new_run_id(config.space, config.strategy, config.seed)
        path = Path(config.out) / rid
        if (path / RUN_JSON).exists():
            raise ValueError(
                f"run folder {path} already exists; pass --resume {path} to continue it"
            )
    if evaluator is None:
        make, name = _default_evaluator(config, space_obj, dataset), "default"
    else:
        make, name = (lambda _path: evaluator), _qualname(evaluator)
    if _writes_run_folder(space_obj, evaluator):
        lazy = make
        make = lambda run_path: _check_reports(config, lazy(run_path))  # noqa: E731
    else:
        built = _check_reports(config, make(path))
        make = lambda _path: built  # noqa: E731
    return Plan(config, space_obj, strat, executor, path, run, make, name)


def _check_space(space: Space, seed: int) -> None:
    """Walk one path of the space now, so a bad declaration (``choose("x", [])``,
    ``choose.int("d", 3, 1)``) is an error before the run folder exists, not in trial 0."""
    import numpy as np

    try:
        space.sample(np.random.default_rng(seed))
    except (ValueError, TypeError) as e:
        raise ValueError(f"space '{space.name}': {e}") from None


def _writes_run_folder(space: Space, evaluator: Any) -> bool:
    """Whether the evaluator is the space's own, which may keep files in the run folder.

    A space's own evaluator (``Space.evaluator``, e.g. SimQ's super-network trainer) is made
    once the run folder exists and is locked; everything else is made and checked before.
    """
    return evaluator is None and type(space).evaluator is not Space.evaluator


def _space(config: SearchConfig) -> Space:
    factory = lookup("space", config.space)
    return construct(factory, f"space '{config.space}'", config.space_options)


def _strategy(config: SearchConfig, space: Space, strategy: Any) -> Strategy:
    objs = objectives_from(list(config.objectives))
    if isinstance(strategy, Strategy):
        strat, name = strategy, config.strategy
    else:
        cls = strategy if callable(strategy) else lookup("strategy", config.strategy)
        name = config.strategy
        what = f"strategy '{name}'"
        check_options(what, cls, config.strategy_options, ("space", "objectives", "seed"))
        strat = cls(space, objectives=objs, seed=config.seed, **config.strategy_options)
    if len(objs) > 1 and not strat.multi_objective:
        warnings.warn(
            f"strategy '{name}' optimizes one objective; it uses '{objs[0].name}' "
            "(the run still records the Pareto front of all objectives)",
            stacklevel=4,
        )
    return strat


def _default_evaluator(config: SearchConfig, space: Space, dataset: Any) -> Callable[[Path], Any]:
    """A maker of the space's own evaluator (``Space.evaluator``), else of a Trainer.

    The data is loaded now, before any folder exists; the trainer's options are checked now.
    """
    from archsearch.data import Data, load_data
    from archsearch.evaluate.trainer import Trainer

    data = (
        dataset if isinstance(dataset, Data) else load_data(config.dataset, root=config.data_root)
    )
    _check_splits(data)
    root = config.data_root
    if root is not None and not Path(root).is_dir():  # a loader of files has said so already
        raise ValueError(
            f"data_root {root!r} is not a folder; dataset '{data.name}' reads no files there "
            "(leave --data-root out)"
        )
    options = config.trainer_options
    opts = {"epochs": config.epochs, "seed": config.seed, **options}
    check_options("trainer", Trainer, opts, fixed=("space", "data"))

    def make(path: Path) -> Any:
        own = space.evaluator(
            data,
            epochs=config.epochs,
            seed=config.seed,
            run_path=Path(path).resolve(),
            device=options.get("device", "auto"),
            trainer_options=options,
        )
        return own if own is not None else Trainer(space, data, **opts)

    return make


def _check_splits(data: Any) -> None:
    """Refuse a dataset with an empty split now, not as an error deep inside the first trial."""
    for split in ("train", "valid"):
        n = len(getattr(data, split)[1])
        if n == 0:
            raise ValueError(
                f"dataset '{data.name}' has an empty {split} split (0 examples); a search "
                f"trains on the train split and scores on the valid split, both non-empty"
            )


def _check_reports(config: SearchConfig, evaluator: Any) -> Any:
    """``evaluator``, once no objective names a metric it declares it never reports."""
    reports = getattr(evaluator, "reports", None)
    if reports is None:
        return evaluator
    known = set(reports)
    for obj in objectives_from(list(config.objectives)):
        if obj.name not in known:
            raise ValueError(
                f"objective '{obj.name}' is not a metric of this search's trials; they report: "
                f"{', '.join(sorted(known))}"
            )
    return evaluator


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"
