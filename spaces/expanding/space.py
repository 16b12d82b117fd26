"""The ``expanding`` space: a seed CNN plus the settings by which it grows while it trains.

Self-expanding networks (Mitchell, Mundt and Kersting, "Self-Expanding Neural Networks",
arXiv 2307.04526; Appolinary et al., "Self Expanding Convolutional Neural Networks", arXiv
2401.05686) start small and add width or depth during training wherever the natural expansion
score ``eta = g^T F^-1 g`` says the new capacity pays. One training run leaves a family of
checkpoints at growing sizes.

Decisions (so any strategy can search them):

* ``seed/blocks``, ``seed/width``: the seed network, ``blocks`` one-layer blocks of ``width``
  channels (:class:`~archsearch.spaces.expanding.net.NetSpec`).
* ``grow/tau``, ``grow/alpha``, ``grow/cooldown``, ``grow/allowed``: the growth gate
  (:mod:`archsearch.spaces.expanding.grow`).

``build`` returns the seed network; plain training of it is the normal ``Trainer``'s job. The
growing training is :class:`GrowingTrainer`, an evaluator: pass it as
``archsearch.api.search(..., evaluator=GrowingTrainer(space, data))``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsearch.spaces.expanding.settings import ALLOWED, GrowthSettings
from archsearch.spaces.expanding.spec import NetSpec, spec_cx, spec_flops, spec_params

from archsearch.arch import Architecture
from archsearch.params import Choice, Float, Int, Param, Value
from archsearch.space import Space, Task
from archsearch.strategy import Result

if TYPE_CHECKING:
    from archsearch.spaces.expanding.grow import GrowthRun
    from archsearch.spaces.expanding.net import ExpandableCNN

__all__ = [
    "ExpandingSpace",
    "GrowingTrainer",
    "GrowthSettings",
    "load_checkpoint",
    "read_checkpoint",
]


def load_checkpoint(path: str | Path) -> ExpandableCNN:
    """The self-contained network stored at ``path`` by a growing run (eval mode, CPU)."""
    from archsearch.spaces.expanding.checkpoint import load_checkpoint as load

    return load(path)


def read_checkpoint(path: str | Path) -> tuple[ExpandableCNN, dict[str, Any]]:
    """The network and its metadata (epoch, params, val_accuracy, spec, next growth)."""
    from archsearch.spaces.expanding.checkpoint import read_checkpoint as read

    return read(path)


class ExpandingSpace(Space):
    """Seed network and growth settings of a self-expanding CNN (see the module docstring)."""

    name = "expanding"

    def __init__(
        self,
        blocks: Sequence[int] = (2, 3),
        widths: Sequence[int] = (4, 8, 16),
        tau: tuple[float, float] = (0.01, 0.5),
        alpha: tuple[float, float] = (1e-3, 1.0),
        cooldown: tuple[int, int] = (1, 4),
        allowed: Sequence[str] = ALLOWED,
        **fixed: Any,
    ) -> None:
        known = {f.name for f in dataclasses.fields(GrowthSettings)} - {
            "tau",
            "alpha",
            "cooldown",
            "allowed",
        }
        unknown = sorted(set(fixed) - known)
        if unknown:
            raise ValueError(
                f"unknown option {unknown[0]!r} of space 'expanding'; known: "
                f"blocks, widths, tau, alpha, cooldown, allowed, {', '.join(sorted(known))}"
            )
        self.fixed = dict(fixed)
        GrowthSettings(**self.fixed)
        self._params: list[Param] = [
            Choice("seed/blocks", tuple(int(b) for b in blocks)),
            Choice("seed/width", tuple(int(w) for w in widths)),
            Float("grow/tau", float(tau[0]), float(tau[1]), log=tau[0] > 0),
            Float("grow/alpha", float(alpha[0]), float(alpha[1]), log=alpha[0] > 0),
            Int("grow/cooldown", int(cooldown[0]), int(cooldown[1])),
            Choice("grow/allowed", tuple(allowed)),
        ]
        for a in allowed:
            GrowthSettings(allowed=a)

    def next_param(self, partial: Mapping[str, Value]) -> Param | None:
        """The decisions in a fixed order: the space is flat."""
        return self._params[len(partial)] if len(partial) < len(self._params) else None

    def spec(self, arch: Architecture, task: Task) -> NetSpec:
        """The seed network's spec for ``task``."""
        d = self.validate(arch).decisions
        return NetSpec.seed(task.input_shape, task.num_classes, d["seed/blocks"], d["seed/width"])

    def settings(self, arch: Architecture) -> GrowthSettings:
        """The growth settings ``arch`` decides, with the space's fixed options."""
        d = self.validate(arch).decisions
        return GrowthSettings(
            tau=d["grow/tau"],
            alpha=d["grow/alpha"],
            cooldown=d["grow/cooldown"],
            allowed=d["grow/allowed"],
            **self.fixed,
        )

    def build(self, arch: Architecture, task: Task) -> ExpandableCNN:
        """The seed network (weights from a generator seeded with 0)."""
        import torch
        from archsearch.spaces.expanding.net import ExpandableCNN

        return ExpandableCNN(self.spec(arch, task), torch.Generator().manual_seed(0))

    def evaluator(self, data: Any, **options: Any) -> GrowingTrainer:
        """The growing trainer for a search (``api.search`` uses it unless given another).

        ``options``: ``epochs``, ``seed``, ``device``, ``run_path`` (checkpoints go to
        ``<run_path>/checkpoints/<arch key>/``) and ``trainer_options`` (``batch_size``,
        ``lr``, ``weight_decay``; ``device`` is taken from ``device``).
        """
        extra = dict(options.get("trainer_options") or {})
        extra.pop("device", None)
        unknown = sorted(set(extra) - {"batch_size", "lr", "weight_decay"})
        if unknown:
            raise ValueError(
                f"unknown trainer option {unknown[0]!r} for space 'expanding'; "
                "known: batch_size, lr, weight_decay"
            )
        run_path = options.get("run_path")
        return GrowingTrainer(
            self,
            data,
            epochs=int(options.get("epochs") or 10),
            seed=int(options.get("seed") or 0),
            device=options.get("device") or "auto",
            out=None if run_path is None else Path(run_path) / "checkpoints",
            **extra,
        )

    def complexity(self, arch: Architecture, task: Task) -> dict[str, float]:
        """Params, FLOPs and activations of the seed network, analytically."""
        return spec_cx(self.spec(arch, task), task.input_shape).as_dict()


def expanding_space(**options: Any) -> ExpandingSpace:
    """The ``expanding`` space; options fix ranges or growth settings (see ExpandingSpace)."""
    return ExpandingSpace(**options)


class GrowingTrainer:
    """Evaluator: grows the seed network of an ``expanding`` architecture while training it.

    ``data`` is a dataset name or an object with ``task``, ``train`` and ``valid`` (a
    ``archsearch.data.Data``). With ``out``, each evaluation writes its checkpoints to
    ``out/<arch key>/``.
    """

    def __init__(
        self,
        space: ExpandingSpace | None = None,
        data: Any = "digits",
        *,
        epochs: int = 10,
        batch_size: int = 64,
        lr: float = 0.05,
        weight_decay: float = 5e-4,
        device: str = "auto",
        seed: int = 0,
        out: str | Path | None = None,
        data_root: str | Path | None = None,
    ) -> None:
        self.space = space or ExpandingSpace()
        if isinstance(data, str):
            from archsearch.data import load_data

            data = load_data(data, root=data_root)
        self.data = data
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.weight_decay = weight_decay
        self.device, self.seed, self.out = device, seed, out

    def run(
        self,
        arch: Architecture,
        report: Callable[[int, dict[str, float]], None] | None = None,
        log: Callable[[dict[str, Any]], None] | None = None,
    ) -> GrowthRun:
        """The full growing training of ``arch`` (model, history, gates, checkpoints)."""
        import torch
        from archsearch.spaces.expanding.grow import grow
        from archsearch.spaces.expanding.net import ExpandableCNN

        task = self.data.task
        spec = self.space.spec(arch, task)
        model = ExpandableCNN(spec, torch.Generator().manual_seed(self.seed))
        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        out = None if self.out is None else Path(self.out) / arch.key
        return grow(
            model,
            self.data.train,
            self.data.valid,
            self.space.settings(arch),
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            seed=self.seed,
            device=device,
            out=out,
            report=report,
            log=log,
        )

    def __call__(
        self,
        arch: Architecture,
        *,
        report: Callable[[int, dict[str, float]], None] | None = None,
        **meta: Any,
    ) -> Result:
        """Grow-train ``arch``; accuracy and loss of the final network on the validation split."""
        return self.result(self.run(arch, report=report))

    def result(self, run: GrowthRun) -> Result:
        """The :class:`Result` of a growing run: final metrics, final size, training compute."""
        last = run.history[-1]
        spec = run.model.spec
        history = [
            {k: float(v) for k, v in row.items() if isinstance(v, (int, float))}
            for row in run.history
        ]
        return Result(
            metrics={
                "accuracy": last["val_accuracy"],
                "loss": last["val_loss"],
                "train_seconds": run.seconds,
                "growths": float(len(run.growths)),
            },
            cost={
                "params": float(spec_params(spec)),
                "flops": float(spec_flops(spec, self.data.task.input_shape)),
                "train_flops": run.train_flops,
                "score_flops": run.score_flops,
            },
            history=history,
        )
