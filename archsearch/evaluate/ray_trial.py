"""The worker side of the Ray executor: one archsearch trial run as a Tune function trainable.

Ray Tune (Liaw et al., 2018, "Tune: A Research Platform for Distributed Model Selection and
Training") runs each trial in an actor process; with ``reuse_actors=True`` one process runs many
trials in turn. This module is what runs there:

* the evaluator (trainer, dataset and space together) arrives as one object-store reference,
  put once by the driver, and is deserialized once per worker process, not once per trial;
* the trial's architecture arrives in the Tune config (``config[TRIAL_KEY]``, the trial's JSON);
* the working directory is the driver's (when this node has it), not Tune's trial folder;
* CUDA visibility is fixed before the evaluator touches a GPU: a trial without GPUs sees none,
  a trial with a fraction of a GPU gets a matching cap on PyTorch's allocator
  (:func:`archsearch.evaluate.placement.cap_memory`);
* every epoch the evaluator's ``report(epoch, metrics)`` becomes a ``tune.report`` (what ASHA
  reads), and the finished :class:`~archsearch.strategy.Result` is reported last under
  ``FINAL_KEY``. A trial whose last report lacks ``FINAL_KEY`` was stopped by the scheduler.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from archsearch.evaluate.base import call_evaluator
from archsearch.strategy import Trial

TRIAL_KEY = "archsearch_trial"
EPOCH_KEY = "archsearch_epoch"
FINAL_KEY = "archsearch_result"
TIME_ATTR = "epoch"

#: The last evaluator this worker process deserialized, keyed by its object id (one entry).
_evaluators: dict[str, Any] = {}


@dataclass(frozen=True)
class Shipment:
    """What every trial of one search gets: the evaluator's object reference and its resources."""

    evaluator_ref: Any
    cpus_per_trial: float
    gpus_per_trial: float
    cwd: str = ""


def _evaluator(ref: Any) -> Any:
    import ray

    key = ref.hex()
    if key not in _evaluators:
        _evaluators.clear()
        _evaluators[key] = ray.get(ref)
    return _evaluators[key]


def place_devices(gpus_per_trial: float) -> list[str]:
    """Make the process see exactly the GPUs Ray assigned it; returns their ids.

    Ray sets ``CUDA_VISIBLE_DEVICES`` for an actor that holds GPUs but leaves it alone for one
    that holds none, which would let a CPU trial's ``device="auto"`` grab GPU 0; so it is emptied
    here, before anything initializes CUDA. A fractional share (e.g. 0.25) caps PyTorch's caching
    allocator at that share of the device's memory less the process's CUDA context, so a trial
    that outgrows its share fails itself (a failed result), not its neighbours.
    """
    import ray

    ids = [str(i) for i in ray.get_gpu_ids()]
    if not ids:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    elif 0 < gpus_per_trial < 1:
        from archsearch.evaluate.placement import cap_memory

        cap_memory(gpus_per_trial)
    return ids


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def run_trial(config: dict[str, Any], shipment: Shipment) -> None:
    """The Tune function trainable: evaluate one trial, reporting every epoch, then the result."""
    from ray import tune

    if shipment.cwd and os.path.isdir(shipment.cwd):
        # Tune starts each trial in its own folder; relative paths (a data root, a run folder)
        # should mean what they meant to the driver, as with the local executor.
        os.chdir(shipment.cwd)
    place_devices(shipment.gpus_per_trial)
    evaluator = _evaluator(shipment.evaluator_ref)
    if "torch" in sys.modules:
        # Ray sets OMP_NUM_THREADS from the trial's CPUs at worker start; say it to torch too,
        # since a reused worker may have imported torch under another setting.
        sys.modules["torch"].set_num_threads(max(1, math.floor(shipment.cpus_per_trial)))
    trial = Trial.from_json(config[TRIAL_KEY])

    def report(epoch: int, metrics: dict[str, Any]) -> None:
        values = _numbers(metrics)
        tune.report({TIME_ATTR: int(epoch), **values, EPOCH_KEY: json.dumps(values)})

    start = time.perf_counter()
    result = call_evaluator(evaluator, trial, report=report)
    seconds = time.perf_counter() - start
    tune.report({FINAL_KEY: json.dumps({"result": result.to_json(), "seconds": seconds})})
