"""Latency of a quantized sub-network from a per-layer table measured once on this CPU.

SimQ-NAS (Sridhar et al., arXiv 2312.13301) times whole INT8 models produced by Intel Neural
Compressor. Timing every candidate end to end is slow and noisy on a shared CPU, so this module
follows the latency-lookup-table idea (FBNet, Wu et al. 2019): each conv / linear layer shape is
timed once per bit width and a sub-network's latency is the sum over its quantizable layers,

    latency_ms = sum_l T[shape_l, b_l],

where ``T[., 32]`` times ``torch.nn.functional.conv2d`` / ``linear`` and ``T[., 8]`` times the
backend's real int8 kernels (``torch.ao.nn.quantized`` Conv2d / Linear on a quint8 input) when
the installed torch has them. Without them, ``T[., 8] = T[., 32] / 2`` is a stated estimate. There
are no 4-bit kernels on CPU: 4-bit layers are charged the int8 time. Normalization, activation and
attention arithmetic are not in the sum. :attr:`LatencyTable.source` names which case applies and
every Result carries it as ``latency_source``. The table is saved as JSON in the run folder.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from archsearch.spaces.simq.quant import quantizable_layers
from torch import nn

INT8_FALLBACK = 0.5


def _int8_modules():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch.ao.nn.quantized as nnq

            nnq.Linear(4, 4)(torch.quantize_per_tensor(torch.rand(2, 4), 0.1, 0, torch.quint8))
        return nnq
    except Exception:  # any import or kernel failure means no int8 backend here
        return None


class LatencyTable:
    """Per-layer latencies (ms per batch of ``batch``) keyed by layer shape and bit width."""

    def __init__(self, path: str | Path | None = None, batch: int = 64, repeats: int = 15) -> None:
        self.path = Path(path) if path is not None else None
        self.batch, self.repeats = int(batch), int(repeats)
        self.entries: dict[str, dict[str, float]] = {}
        self._nnq = _int8_modules()
        self.source = (
            f"layer-table:int8-kernels({torch.backends.quantized.engine})"
            if self._nnq is not None
            else f"layer-table:estimate(int8=fp32*{INT8_FALLBACK})"
        )
        if self.path is not None and self.path.exists():
            blob = json.loads(self.path.read_text())
            if blob.get("batch") == self.batch and blob.get("source") == self.source:
                self.entries = blob["entries"]

    def save(self) -> None:
        """Write the table as JSON (when it has a path)."""
        if self.path is not None:
            blob = {"batch": self.batch, "source": self.source, "entries": self.entries}
            self.path.write_text(json.dumps(blob, indent=1, sort_keys=True))

    def latency_ms(
        self, model: nn.Module, input_shape: tuple[int, ...], policy: Mapping[str, int]
    ) -> float:
        """Sum of the table's latencies of ``model``'s quantizable layers under ``policy``."""
        shapes = _input_shapes(model, input_shape)
        total, grew = 0.0, False
        for name, layer in quantizable_layers(model).items():
            key = _key(layer, shapes[name])
            bits = int(policy.get(name, 32))
            if key not in self.entries:
                self.entries[key] = self.measure(layer, shapes[name])
                grew = True
            total += self.entries[key]["32" if bits >= 32 else "8"]
        if grew:
            self.save()
        return total

    def measure(self, layer: nn.Module, shape: tuple[int, ...]) -> dict[str, float]:
        """Time ``layer`` on a batch of inputs of ``shape`` at 32 and 8 bits (ms per batch)."""
        x = torch.rand(self.batch, *shape)
        w = layer.weight.detach()
        if isinstance(layer, nn.Conv2d):
            kw = dict(stride=layer.stride, padding=layer.padding, groups=layer.groups)

            def fp() -> object:
                return torch.nn.functional.conv2d(x, w, None, **kw)
        else:

            def fp() -> object:
                return torch.nn.functional.linear(x, w)

        t32 = _time(fp, self.repeats)
        if self._nnq is None:
            return {"32": t32, "8": t32 * INT8_FALLBACK}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = self._int8_layer(layer)
            xq = torch.quantize_per_tensor(x, 1.0 / 255, 0, torch.quint8)
            return {"32": t32, "8": _time(lambda: q(xq), self.repeats)}

    def _int8_layer(self, layer: nn.Module) -> nn.Module:
        nnq = self._nnq
        w = layer.weight.detach()
        scale = (w.abs().reshape(w.shape[0], -1).amax(1) / 127).clamp_min(1e-8).double()
        zero = torch.zeros(w.shape[0], dtype=torch.long)
        wq = torch.quantize_per_channel(w, scale, zero, 0, torch.qint8)
        if isinstance(layer, nn.Conv2d):
            q = nnq.Conv2d(
                layer.in_channels,
                layer.out_channels,
                layer.kernel_size,
                stride=layer.stride,
                padding=layer.padding,
                groups=layer.groups,
                bias=False,
            )
        else:
            q = nnq.Linear(layer.in_features, layer.out_features, bias_=False)
        q.set_weight_bias(wq, None)
        return q


def layer_macs(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """Multiply-adds of one sample through ``model``'s conv, linear and attention products."""
    total = 0.0
    shapes = _input_shapes(model, input_shape)
    for name, layer in quantizable_layers(model).items():
        total += layer_mac(layer, shapes[name])
    return total + attention_macs(model, shapes)


def attention_macs(model: nn.Module, shapes: Mapping[str, tuple[int, ...]]) -> float:
    """Multiply-adds of every encoder layer's ``q k^T`` and ``att v`` (fvcore's matmul count).

    ``shapes`` are the input shapes of the quantizable layers (no batch axis); the ``q``
    projection's gives the tokens ``T``: each product costs ``T^2 heads head_dim``.
    """
    total = 0.0
    for name, m in model.named_modules():
        if hasattr(m, "head_dim"):
            tokens = 1
            for s in shapes[f"{name}.q"][:-1]:
                tokens *= s
            total += 2.0 * tokens * tokens * m.heads * m.head_dim
    return total


def layer_mac(layer: nn.Module, shape: tuple[int, ...]) -> float:
    """Multiply-adds of one conv / linear layer on one input of ``shape`` (no batch axis)."""
    if isinstance(layer, nn.Conv2d):
        k = layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels // layer.groups
        H = (shape[-2] + 2 * layer.padding[0] - layer.kernel_size[0]) // layer.stride[0] + 1
        W = (shape[-1] + 2 * layer.padding[1] - layer.kernel_size[1]) // layer.stride[1] + 1
        return float(k * layer.out_channels * H * W)
    tokens = 1
    for s in shape[:-1]:
        tokens *= s
    return float(tokens * layer.in_features * layer.out_features)


def _key(layer: nn.Module, shape: tuple[int, ...]) -> str:
    if isinstance(layer, nn.Conv2d):
        return (
            f"conv:{layer.in_channels}>{layer.out_channels}:k{layer.kernel_size[0]}"
            f":s{layer.stride[0]}:p{layer.padding[0]}:g{layer.groups}:{shape[-2]}x{shape[-1]}"
        )
    tokens = 1
    for s in shape[:-1]:
        tokens *= s
    return f"linear:{layer.in_features}>{layer.out_features}:t{tokens}"


@torch.no_grad()
def _input_shapes(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, layer in quantizable_layers(model).items():

        def hook(_m: nn.Module, args: tuple, name: str = name) -> None:
            shapes[name] = tuple(args[0].shape[1:])

        handles.append(layer.register_forward_pre_hook(hook))
    was = model.training
    model.eval()
    try:
        model(torch.zeros(1, *input_shape))
    finally:
        model.train(was)
        for h in handles:
            h.remove()
    return shapes


def _time(fn, repeats: int) -> float:
    with torch.no_grad():
        for _ in range(3):
            fn()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    times.sort()
    return 1e3 * times[len(times) // 2]
