"""Get the chosen model out of a run: architecture JSON, exported program and state dict.

``export_run(RUN, out_dir)`` takes the run's best trial (or ``trial=N``), rebuilds it from its
record through the run's space, trains it with the run's settings (``retrain_epochs`` longer if
asked; ``0`` keeps the seeded initial weights) and writes into ``out_dir``:

* ``arch.json`` — the Architecture record (rebuilds the same model through the space),
* ``model.pt2`` — a ``torch.export`` program, loadable without archsearch (``torch.export.load``),
* ``state_dict.pt`` — the weights, for ``space.build(arch, task).load_state_dict(...)``,
* ``export.json`` — where it came from: run, trial, task, epochs, validation metrics.

Before writing, the trained model is switched to its deploy form
(:func:`archsearch.ops.reparameterize`: Dilated Reparam / RepLK branches merged into one conv,
Efficient ConvBN folded); ``export.json`` records how many modules were switched, and
``load_export`` switches the rebuilt model the same way before loading the weights.

``load_export(out_dir)`` reads it back; its outputs equal the exported model's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from archsearch.arch import Architecture
from archsearch.ops.reparam import reparameterize
from archsearch.results import Record, Run
from archsearch.space import Task


def _pick(run: Run, trial: int | None) -> Record:
    records = run.records()
    if trial is None:
        best = run.best()
        if best is None:
            raise ValueError(f"run {run.path} has no successful trial to export yet")
        return best
    for r in records:
        if r.trial.number == trial:
            return r
    known = ", ".join(str(r.trial.number) for r in records[:20]) or "none"
    raise ValueError(f"trial {trial} is not in run {run.path}; finished trials: {known}")


def export_run(
    run: Run | str | Path,
    out_dir: str | Path,
    trial: int | None = None,
    retrain_epochs: int | None = None,
    device: str = "cpu",
) -> Path:
    """Export one trial of a run (the best by default) into ``out_dir``; returns ``out_dir``."""
    from archsearch.data import load_data
    from archsearch.evaluate.trainer import Trainer
    from archsearch.registry import get_space

    run = run if isinstance(run, Run) else Run.open(run)
    cfg = run.config
    if retrain_epochs is not None and retrain_epochs < 0:
        raise ValueError(f"--retrain-epochs must be >= 0, got {retrain_epochs}")
    record = _pick(run, trial)
    space = get_space(cfg["space"], **(cfg.get("space_options") or {}))
    arch = space.validate(record.trial.arch)
    data = load_data(cfg.get("dataset") or "digits", root=cfg.get("data_root"))
    epochs = int(cfg.get("epochs") or 1) if retrain_epochs is None else retrain_epochs
    metrics: dict[str, Any] = {}
    if epochs == 0:
        torch.manual_seed(int(cfg.get("seed") or 0))
        model = space.build(arch, data.task)
    else:
        opts = dict(cfg.get("trainer_options") or {})
        opts.update(device=device, seed=int(cfg.get("seed") or 0))
        model, result = Trainer(space, data, epochs=epochs, **opts).fit(arch)
        if result.status != "ok" or model is None:
            raise ValueError(f"retraining trial {record.trial.number} failed: {result.error}")
        metrics = result.to_json()["metrics"]
    model = model.to("cpu").eval()
    switched = reparameterize(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arch.save(out / "arch.json")
    torch.save(model.state_dict(), out / "state_dict.pt")
    example = data.valid[0][:2].to(torch.float32).contiguous()
    program = torch.export.export(
        model, (example,), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},)
    )
    torch.export.save(program, out / "model.pt2")
    info = {
        "run": str(run.path),
        "trial": record.trial.number,
        "space": cfg["space"],
        "space_options": cfg.get("space_options") or {},
        "task": {"input_shape": list(data.task.input_shape), "num_classes": data.task.num_classes},
        "epochs": epochs,
        "metrics": metrics,
        "search_metrics": record.result.to_json()["metrics"],
        "reparameterized": switched,
        "files": ["arch.json", "model.pt2", "state_dict.pt"],
    }
    (out / "export.json").write_text(json.dumps(info, indent=2) + "\n")
    return out


def load_export(out_dir: str | Path, program: bool = False) -> torch.nn.Module:
    """The exported model in eval mode: rebuilt through its space (default) or the ``.pt2`` program."""
    from archsearch.registry import get_space

    out = Path(out_dir)
    if not (out / "export.json").is_file():
        raise FileNotFoundError(f"not an export folder (no export.json): {out}")
    if program:
        return torch.export.load(out / "model.pt2").module()
    info = json.loads((out / "export.json").read_text())
    space = get_space(info["space"], **info["space_options"])
    task = Task(tuple(info["task"]["input_shape"]), info["task"]["num_classes"])
    model = space.build(Architecture.load(out / "arch.json"), task)
    if info.get("reparameterized"):
        reparameterize(model)
    model.load_state_dict(torch.load(out / "state_dict.pt", weights_only=True))
    return model.eval()
