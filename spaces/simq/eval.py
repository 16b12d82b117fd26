"""The SimQ evaluator: train the super-network once, then score quantized sub-networks.

After Sridhar et al., "SimQ-NAS" (arXiv 2312.13301). Training is the sandwich rule of
:mod:`archsearch.spaces.simq.train`; the weights are saved as ``supernet.pt`` in the run folder
and reused on resume.

Evaluating a record: cut the sub-network out (:meth:`SuperNet.extract`), recalibrate its
BatchNorm statistics on ``bn_batches`` **training** batches, fake-quantize it by its policy with
``calib_batches`` **training** calibration batches (:mod:`archsearch.spaces.simq.quant`), then
measure ``accuracy`` / ``loss`` on the **validation** split and the analytic ``size_mb``
(10^6 bytes). ``latency_ms`` (batch ``latency_batch``) and ``latency_ms_batch1`` are measured
end to end on the deployed model (:mod:`archsearch.spaces.simq.deploy`: BN folded, FX INT8
where the policy says 8 bits, transitions included); ``latency='model'`` uses the per-layer
table instead (:mod:`archsearch.spaces.simq.latency`). Each Result's ``latency_source`` says
``measured`` or ``model``. Cost: ``params`` and ``flops`` of the float model. A dataset's test
split is read only by :meth:`SimQEvaluator.test_metrics`, which reporting calls; search never
does.

The run folder also gets ``simq.json``: the all-INT8 full super-network as the baseline point,
two hypervolume references (accuracy 0, or the baseline's accuracy minus ``MARGIN``; both with
the FP32 full network's latency and size) and the hypervolume of (accuracy, latency_ms) and
(accuracy, size_mb) over all evaluations so far under each.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from archsearch.spaces.simq.deploy import deploy, measure
from archsearch.spaces.simq.latency import LatencyTable, layer_macs
from archsearch.spaces.simq.quant import model_size_bytes, quantize
from archsearch.spaces.simq.supernet import SuperNet
from archsearch.spaces.simq.train import _batches, _device, train_supernet

from archsearch.arch import Architecture
from archsearch.pareto import hypervolume
from archsearch.strategy import Result

#: Accuracy margin below the all-INT8 baseline of the second hypervolume reference.
MARGIN = 0.02


def _all_bits(space: Any, task: Any, bits: int) -> Architecture:
    """The full super-network with every layer at ``bits``."""
    d: dict[str, Any] = {}
    while (p := space.next_param(d)) is not None:
        d[p.name] = bits if p.name.startswith("bits/") else max(p.options)
    return Architecture(space.name, d)


class SimQEvaluator:
    """Scores records of a SimQ space on a trained super-network (see the module docstring)."""

    def __init__(
        self,
        space: Any,
        data: Any,
        epochs: int = 3,
        seed: int = 0,
        run_path: str | Path | None = None,
        device: str | None = "auto",
        trainer_options: dict[str, Any] | None = None,
        supernet: SuperNet | None = None,
        latency: LatencyTable | None = None,
    ) -> None:
        self.space, self.data, self.seed = space, data, int(seed)
        self.device = _device(device)
        self.run_path = Path(run_path) if run_path is not None else None
        self.task = data.task
        self.supernet = supernet or self._load_or_train(int(epochs))
        s = space.settings
        table = self.run_path / "latency_table.json" if self.run_path else None
        self.latency: LatencyTable | None = None
        if s.latency == "model" or latency is not None:
            self.latency = latency or LatencyTable(table, batch=s.latency_batch)
        self.latency_source = "model" if self.latency is not None else "measured"
        space.bind(self.task, self.latency)
        self.points: list[tuple[float, float, float]] = self._journal_points()
        self.baseline, self.fp32 = self._reference_points()
        self._write_summary()

    def _reference_points(self) -> tuple[Result, Result]:
        """The all-INT8 and FP32 full networks: from ``simq.json`` on resume, else evaluated."""
        path = self.run_path / "simq.json" if self.run_path else None
        if path is not None and path.exists():
            blob = json.loads(path.read_text())
            if blob.get("space") == self.space.name and list(blob.get("bits", [])) == list(
                self.space.bits
            ):
                return Result.from_json(blob["baseline_int8"]), Result.from_json(blob["fp32_full"])
        int8 = self.evaluate(_all_bits(self.space, self.task, 8))
        return int8, self.evaluate(_all_bits(self.space, self.task, 32))

    def _load_or_train(self, epochs: int) -> SuperNet:
        torch.manual_seed(self.seed)
        net = SuperNet(self.space.max_dims(self.task)).to(self.device)
        path = self.run_path / "supernet.pt" if self.run_path else None
        if path is not None and path.exists():
            blob = torch.load(path, map_location=self.device, weights_only=True)
            if blob.get("space") != self.space.name:
                raise ValueError(f"{path} holds a super-network of '{blob.get('space')}'")
            net.net.load_state_dict(blob["state"])
            net.eval()
            return net
        history = train_supernet(self.space, net, self.data, epochs, self.seed, self.device)
        if path is not None:
            blob = {"space": self.space.name, "state": net.net.state_dict(), "history": history}
            torch.save(blob, path)
        return net

    def _journal_points(self) -> list[tuple[float, float, float]]:
        path = self.run_path / "trials.jsonl" if self.run_path else None
        out: list[tuple[float, float, float]] = []
        if path is None or not path.exists():
            return out
        for line in path.read_text().splitlines():
            try:
                m = json.loads(line)["result"]["metrics"]
                out.append((float(m["accuracy"]), float(m["latency_ms"]), float(m["size_mb"])))
            except (ValueError, KeyError, TypeError):
                continue
        return out

    @torch.no_grad()
    def _calibrate_bn(self, model: torch.nn.Module, gen: torch.Generator) -> None:
        norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        if not norms:
            return
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        model.train()
        for xb in _batches(
            self.data.train[0], self.space.settings.batch_size, self.space.settings.bn_batches, gen
        ):
            model(xb.to(self.device))
        model.eval()

    def _subnet(self, arch: Architecture) -> tuple[torch.nn.Module, dict, torch.Generator]:
        """The sub-network with recalibrated BN, its policy and the seeded calibration stream."""
        arch = self.space.validate(arch)
        model = self.supernet.extract(self.space.dims(arch, self.task))
        gen = torch.Generator().manual_seed(self.seed)
        self._calibrate_bn(model, gen)
        return model, self.space.policy(arch), gen

    def _quantized(
        self, model: torch.nn.Module, policy: dict, gen: torch.Generator
    ) -> list[torch.Tensor]:
        """Fake-quantize ``model`` in place on training batches; returns those batches."""
        s = self.space.settings
        calib = [
            xb.to(self.device)
            for xb in _batches(self.data.train[0], s.batch_size, s.calib_batches, gen)
        ]
        quantize(model, policy, calib)
        return calib

    @torch.no_grad()
    def _scores(self, model: torch.nn.Module, split: tuple) -> dict[str, float]:
        X, y = split
        logits = torch.cat(
            [model(X[i : i + 256].to(self.device)) for i in range(0, len(X), 256)]
        ).cpu()
        return {
            "accuracy": float((logits.argmax(1) == y).float().mean()),
            "loss": float(F.cross_entropy(logits, y)),
        }

    @torch.no_grad()
    def _latency(self, model: torch.nn.Module, policy: dict, calib: torch.Tensor) -> dict:
        """``latency_ms`` (batch ``latency_batch``) and ``latency_ms_batch1``, measured end to
        end on the deployed model, or from the layer table when ``latency='model'``."""
        cpu = model if self.device.type == "cpu" else copy.deepcopy(model).cpu()
        s = self.space.settings
        if self.latency is not None:
            return {"latency_ms": self.latency.latency_ms(cpu, self.task.input_shape, policy)}
        deployed = deploy(cpu, policy, calib.cpu())
        t = measure(deployed, self.task.input_shape, (1, s.latency_batch), 5, s.latency_repeats)
        return {"latency_ms": t[s.latency_batch], "latency_ms_batch1": t[1]}

    @torch.no_grad()
    def evaluate(self, arch: Architecture, latency: bool = True) -> Result:
        """Quantized validation accuracy, loss, size and latency of one record (no training).

        ``latency=False`` skips the latency (for searches that do not use it).
        """
        model, policy, gen = self._subnet(arch)
        cost = {
            "params": float(sum(p.numel() for p in model.parameters())),
            "flops": layer_macs(model, self.task.input_shape),
        }
        float_model = copy.deepcopy(model) if latency else None
        calib = self._quantized(model, policy, gen)
        metrics: dict[str, Any] = self._scores(model, self.data.valid)
        metrics |= {
            "size_mb": model_size_bytes(model, policy) / 1e6,
            "bits_mean": float(np.mean(list(policy.values()))),
        }
        if float_model is not None:
            metrics |= self._latency(float_model, policy, calib[0])
            metrics["latency_source"] = self.latency_source
        return Result(metrics=metrics, cost=cost)

    @torch.no_grad()
    def test_metrics(self, arch: Architecture) -> dict[str, float]:
        """Accuracy and loss on the held-out test split of the very model :meth:`evaluate`
        scores (same calibration). Only reporting calls this; search never does."""
        if getattr(self.data, "test", None) is None:
            raise ValueError(
                f"dataset '{self.data.name}' has no test split (digits: test_fraction > 0)"
            )
        model, policy, gen = self._subnet(arch)
        self._quantized(model, policy, gen)
        return self._scores(model, self.data.test)

    def __call__(self, arch: Architecture) -> Result:
        """Evaluate ``arch`` and update ``simq.json``."""
        result = self.evaluate(arch)
        m = result.metrics
        self.points.append((m["accuracy"], m["latency_ms"], m["size_mb"]))
        self._write_summary()
        return result

    def reference(self, margin: float | None = None) -> dict[str, float]:
        """Hypervolume reference: the FP32 full network's latency and size, and accuracy 0
        (default) or the all-INT8 baseline's accuracy minus ``margin``."""
        m = self.fp32.metrics
        acc = 0.0 if margin is None else self.baseline.metrics["accuracy"] - margin
        return {"accuracy": acc, "latency_ms": m["latency_ms"], "size_mb": m["size_mb"]}

    def hypervolumes(self, margin: float | None = None) -> dict[str, float]:
        """Hypervolume of (accuracy, latency_ms) and (accuracy, size_mb) over the evaluations."""
        ref = self.reference(margin)
        P = np.array(self.points, dtype=float).reshape(-1, 3)
        out = {}
        for j, name in ((1, "latency_ms"), (2, "size_mb")):
            F_ = np.stack([P[:, 0], -P[:, j]], axis=1) if len(P) else np.zeros((0, 2))
            out[f"accuracy,{name}"] = hypervolume(F_, [ref["accuracy"], -ref[name]])
        return out

    def _write_summary(self) -> None:
        if self.run_path is None:
            return
        blob = {
            "space": self.space.name,
            "bits": list(self.space.bits),
            "baseline_int8": {
                "arch": _all_bits(self.space, self.task, 8).to_json(),
                **self.baseline.to_json(),
            },
            "fp32_full": self.fp32.to_json(),
            "hypervolume_reference": self.reference(),
            "hypervolume": self.hypervolumes(),
            "hypervolume_margin": MARGIN,
            "hypervolume_reference_baseline": self.reference(MARGIN),
            "hypervolume_baseline": self.hypervolumes(MARGIN),
            "evaluations": len(self.points),
            "latency_source": self.latency_source,
        }
        (self.run_path / "simq.json").write_text(json.dumps(blob, indent=2) + "\n")
