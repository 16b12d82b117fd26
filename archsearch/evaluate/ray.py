"""The Ray executor: candidates trained in parallel by Ray Tune, on one machine or a cluster.

Ray Tune (Liaw et al., 2018) is the execution engine. The archsearch strategy is a Tune
``Searcher`` (:mod:`archsearch.evaluate.ray_searcher`); the evaluator runs in Tune's function
trainable (:mod:`archsearch.evaluate.ray_trial`), one trial per actor, actors reused
(``reuse_actors=True``, which brings Tune's per-trial overhead from ~2 s to ~0.1 s). Optional
early stopping is ASHA (Li et al., 2020, "A System for Massively Parallel Hyperparameter
Tuning") over the per-epoch reports.

Notation: ``c`` = CPUs per trial, ``g`` = GPUs per trial (a fraction ``0 < g < 1`` packs
``floor(1/g)`` trials on one GPU), ``n`` = the trials one ``run`` call finishes (the search loop
passes the run's budget less the trials already journaled).

The run folder stays archsearch's record: the journal, the strategy snapshot and ``inflight.json``
are written by the driver as trials end. A resumed run starts a fresh Tune experiment from them
(Tune's own experiment restore is not used: the journal is the truth, and a fresh experiment
cannot disagree with it). Ray is imported only when :meth:`RayExecutor.run` is called.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from archsearch.evaluate.ray_local import local_cluster
from archsearch.loop import Loop
from archsearch.results import Run
from archsearch.strategy import Strategy

SCHEDULERS = ("none", "asha")
ASHA_DEFAULTS = {"grace_period": 1, "reduction_factor": 3}

#: Set in the driver's environment unless already set (see docs/ray.md).
ENV_DEFAULTS = {
    # The journal is the record: Tune's per-trial CSV/JSON/TensorBoard files are off.
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    # The final report carries the result, not the per-epoch metric ASHA reads.
    "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
    # Tune's console table prints even at verbose=0; the legacy reporter stays silent.
    "RAY_AIR_NEW_OUTPUT": "0",
}


class RayExecutor:
    """Runs a search's trials through Ray Tune (see the module docstring)."""

    name = "ray"

    def __init__(
        self,
        cpus_per_trial: float = 1.0,
        gpus_per_trial: float | None = None,
        concurrency: int | None = None,
        scheduler: str | Any | None = None,
        max_failures: int = 1,
        address: str | None = None,
        storage: str | Path | None = None,
        asha_options: dict[str, Any] | None = None,
        log_to_driver: bool = False,
    ) -> None:
        if not cpus_per_trial > 0:
            raise ValueError(f"cpus_per_trial must be > 0, got {cpus_per_trial!r}")
        if gpus_per_trial is not None:
            if gpus_per_trial < 0:
                raise ValueError(f"gpus_per_trial must be >= 0, got {gpus_per_trial!r}")
            if gpus_per_trial > 1 and gpus_per_trial != int(gpus_per_trial):
                raise ValueError(
                    f"gpus_per_trial={gpus_per_trial!r}: above 1 it must be a whole number "
                    "(fractions are for sharing one GPU, e.g. 0.25)"
                )
        if concurrency is not None and (int(concurrency) != concurrency or concurrency < 1):
            raise ValueError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
        if isinstance(scheduler, str) and scheduler.lower() not in SCHEDULERS:
            raise ValueError(
                f"unknown scheduler {scheduler!r}; known: {', '.join(SCHEDULERS)} "
                "(or pass a ray.tune TrialScheduler)"
            )
        if address is not None and str(address).startswith("ray://"):
            # Ray Client runs Tune's driver loop on the cluster, away from the run folder.
            raise ValueError(
                f"address {address!r}: Ray Client (ray://) is not supported, because Tune "
                "would then journal the trials on the cluster; run archsearch on a node of "
                "the cluster with --address auto or HEAD_IP:6379"
            )
        if int(max_failures) != max_failures or max_failures < 0:
            raise ValueError(f"max_failures must be a whole number >= 0, got {max_failures!r}")
        unknown = set(asha_options or {}) - {"grace_period", "reduction_factor", "max_t"}
        if unknown:
            raise ValueError(
                f"unknown asha option(s) {sorted(unknown)}; known: grace_period, "
                "reduction_factor, max_t"
            )
        self.cpus_per_trial = float(cpus_per_trial)
        self.gpus_per_trial = None if gpus_per_trial is None else float(gpus_per_trial)
        self.concurrency = None if concurrency is None else int(concurrency)
        self.scheduler = None if scheduler in (None, "none") else scheduler
        self.max_failures = int(max_failures)
        self.address = address
        self.storage = storage
        self.asha_options = {**ASHA_DEFAULTS, **(asha_options or {})}
        self.log_to_driver = log_to_driver

    #: Snapshots at most once a second, like the local executor's default.
    snapshot_seconds = 1.0
    #: Trials run at once; the loop may snapshot with trials in flight (inflight.json has them).
    concurrent = True

    def check(self) -> None:
        """Refuse resources this machine lacks before anything is written (local clusters only).

        On an existing cluster (``address``) the cluster itself is asked when the run starts.
        """
        if self.address is not None:
            return
        cpus = os.cpu_count() or 1
        if self.cpus_per_trial > cpus:
            raise ValueError(
                f"cpus_per_trial={self.cpus_per_trial:g} but this machine has {cpus} CPU(s); "
                f"ask for at most {cpus}"
            )
        if self.gpus_per_trial:
            import torch

            gpus = torch.cuda.device_count()
            if self.gpus_per_trial > gpus:
                raise ValueError(
                    f"gpus_per_trial={self.gpus_per_trial:g} but this machine has {gpus} GPU(s); "
                    f"ask for at most {gpus:g} (fractions such as 0.5 share a GPU), 0 to train "
                    "on CPUs, or --address to use a Ray cluster that has them"
                )

    def run(self, loop: Loop, evaluator: Callable[..., Any], budget: int) -> int:
        """Finish ``budget`` more trials (fewer if the strategy is exhausted); returns how many.

        On a resumed run (the journal already has trials) the trials that were in flight when
        the driver died run again first, as they were. Raises ``KeyboardInterrupt`` if Tune was
        interrupted (Ctrl-C) before the budget was reached; the journal is intact.
        """
        for key, value in ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
        import ray
        from ray import tune

        from archsearch.evaluate.ray_searcher import Ledger, Silent, StrategySearcher, TrialEnd
        from archsearch.evaluate.ray_trial import Shipment, run_trial

        strategy, run = loop.strategy, loop.run
        ledger = Ledger(loop, self.max_failures)
        ledger.reconcile()
        remaining = int(budget)
        if remaining <= 0:
            return 0
        with self._cluster(run) as cluster:
            cpus, gpus, fit = self._resources(cluster)
            concurrency = self.concurrency or fit
            shipment = Shipment(ray.put(evaluator), cpus, gpus, os.getcwd())
            trainable = tune.with_resources(
                functools.partial(run_trial, shipment=shipment), {"cpu": cpus, "gpu": gpus}
            )
            tuner = tune.Tuner(
                trainable,
                tune_config=tune.TuneConfig(
                    search_alg=StrategySearcher(ledger),
                    scheduler=self._make_scheduler(strategy, evaluator),
                    num_samples=remaining,
                    max_concurrent_trials=concurrency,
                    reuse_actors=True,
                    trial_name_creator=_trial_name,
                    trial_dirname_creator=_trial_name,
                ),
                run_config=tune.RunConfig(
                    name=time.strftime("tune-%Y%m%d-%H%M%S-") + str(os.getpid()),
                    storage_path=str(Path(self.storage or run.path / "tune").resolve()),
                    verbose=0,
                    failure_config=tune.FailureConfig(max_failures=self.max_failures),
                    callbacks=[TrialEnd(ledger), Silent()],
                ),
            )
            # Tune's "resume with Tuner.restore(...)" advice does not apply (see the docstring).
            with (
                _quiet("ray.tune.analysis.experiment_analysis", logging.ERROR),
                _quiet("ray.tune.tune", logging.ERROR),
            ):
                tuner.fit()
            del shipment, trainable, tuner
        loop.close()
        if not ledger.exhausted and ledger.finished < remaining:
            raise KeyboardInterrupt(
                f"search interrupted after {ledger.finished} of {remaining} trials; "
                f"resume with --resume {run.path}"
            )
        return ledger.finished

    @contextlib.contextmanager
    def _cluster(self, run: Run) -> Iterator[dict[str, Any]]:
        """Join the running Ray instance, or ``address``, or start a local one for this run."""
        import ray

        with contextlib.ExitStack() as stack:
            if not ray.is_initialized():
                common = {"log_to_driver": self.log_to_driver, "logging_level": logging.WARNING}
                if self.address:
                    # An existing cluster keeps its own settings, authentication included.
                    ray.init(address=self.address, **common)
                    stack.callback(ray.shutdown)
                else:
                    # Token authentication on, with a token of this run's own (ray_local).
                    stack.enter_context(local_cluster(include_dashboard=False, **common))
            yield {
                "total": ray.cluster_resources(),
                "nodes": [n["Resources"] for n in ray.nodes() if n.get("Alive")],
            }

    def _resources(self, cluster: dict[str, Any]) -> tuple[float, float, int]:
        """(CPUs, GPUs) per trial and how many trials fit at once; errors before any trial."""
        total, nodes = cluster["total"], cluster["nodes"]
        node_cpus = max((n.get("CPU", 0.0) for n in nodes), default=0.0)
        node_gpus = max((n.get("GPU", 0.0) for n in nodes), default=0.0)
        total_cpus, total_gpus = total.get("CPU", 0.0), total.get("GPU", 0.0)
        gpus = self.gpus_per_trial
        if gpus is None:
            gpus = 1.0 if node_gpus >= 1 else 0.0
        if gpus > node_gpus:
            raise ValueError(
                f"gpus_per_trial={gpus:g} but the largest Ray node has {node_gpus:g} GPU(s) "
                f"(cluster total {total_gpus:g}); ask for at most {node_gpus:g} "
                "(fractions such as 0.5 share a GPU) or 0 to train on CPUs"
            )
        if self.cpus_per_trial > node_cpus:
            raise ValueError(
                f"cpus_per_trial={self.cpus_per_trial:g} but the largest Ray node has "
                f"{node_cpus:g} CPU(s); ask for at most {node_cpus:g}"
            )
        fit = math.floor(total_cpus / self.cpus_per_trial + 1e-9)
        if gpus > 0:
            fit = min(fit, math.floor(total_gpus / gpus + 1e-9))
        return self.cpus_per_trial, gpus, max(1, fit)

    def _make_scheduler(self, strategy: Strategy, evaluator: Any) -> Any:
        if self.scheduler is None:
            return None
        if not isinstance(self.scheduler, str):
            return self.scheduler
        from ray.tune.schedulers import ASHAScheduler

        from archsearch.evaluate.ray_trial import TIME_ATTR

        options = dict(self.asha_options)
        epochs = options.pop("max_t", None) or getattr(evaluator, "epochs", None)
        if epochs is None:
            raise ValueError(
                "scheduler='asha' needs the epochs per trial: the evaluator has no 'epochs' "
                "attribute; pass asha_options={'max_t': EPOCHS}"
            )
        if epochs < 2:
            raise ValueError(f"scheduler='asha' needs at least 2 epochs per trial, got {epochs}")
        objective = strategy.objectives[0]
        # Rungs sit at grace * rf**k <= max_t; max_t = epochs - 1 keeps the last epoch off
        # every rung, so a trial that trained all its epochs always ends with its full result.
        return ASHAScheduler(
            time_attr=TIME_ATTR,
            metric=objective.name,
            mode=objective.direction,
            max_t=int(epochs) - 1,
            stop_last_trials=False,
            **options,
        )


Executor = RayExecutor


def _trial_name(trial: Any) -> str:
    return f"trial_{trial.trial_id}"


@contextlib.contextmanager
def _quiet(logger_name: str, level: int) -> Iterator[None]:
    """Raise one logger's level for a while (Tune's "Failed to fetch metrics" with loggers off)."""
    logger = logging.getLogger(logger_name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)
