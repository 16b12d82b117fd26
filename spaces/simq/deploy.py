"""The deployed quantized model of a policy, and its end-to-end latency measured on this CPU.

SimQ-NAS (Sridhar et al., arXiv 2312.13301) times whole INT8 models. A per-layer table sum
(:mod:`archsearch.spaces.simq.latency`) leaves out normalization, activations, residual adds,
pooling and the quantize / dequantize transitions between INT8 and FP32 layers, and on small
networks those decide the ordering of policies. So a record's latency is the time of the model a
user would deploy:

1. batch norm folded into the preceding conv (``torch.fx.experimental.optimization.fuse``);
2. FX graph-mode post-training quantization (``prepare_fx`` / ``convert_fx``) on the ``x86``
   engine (``fbgemm`` when only that one is built): a layer whose policy says ``b <= 8`` bits
   becomes a real INT8 kernel (per-channel symmetric weights, per-tensor activations), a 32-bit
   layer stays an FP32 kernel. Every other operation (ReLU, residual add, pooling, layer norm,
   attention products) is INT8 when the layers producing all its tensor inputs are, so an
   all-INT8 block runs ``quantized.add_relu`` and a mixed one gets explicit ``quantize`` /
   ``dequantize`` nodes where the precision changes (where FX's lowering cannot build a mixed
   residual, :func:`deploy` retries with the offending operation left FP32);
3. **there is no 4-bit CPU kernel**: a ``b < 8`` layer runs the same INT8 kernel as ``b = 8``
   (:func:`kernel`), so 4 bits save size, never latency. Without an INT8 engine every layer
   runs FP32 (``kernel`` says so).

Timing protocol (:func:`time_ms`): one torch thread, ``warmup`` untimed calls, then the median
of ``repeats`` timed calls on a fixed input batch. Latency varies with machine load; accuracy,
size and the deployed graph do not.
"""

from __future__ import annotations

import contextlib
import copy
import re
import statistics
import time
import warnings
from collections.abc import Callable, Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import nn

LAYERS = (nn.Conv2d, nn.Linear)


def engine() -> str | None:
    """The INT8 engine used (``x86`` or ``fbgemm``), or None when neither is built."""
    supported = torch.backends.quantized.supported_engines
    return next((e for e in ("x86", "fbgemm") if e in supported), None)


def kernel(bits: int) -> str:
    """The kernel a layer of ``bits`` runs: ``int8(<engine>)`` for ``bits <= 8``, else ``fp32``."""
    eng = engine()
    return f"int8({eng})" if int(bits) <= 8 and eng is not None else "fp32"


@contextlib.contextmanager
def _quant_engine() -> Iterator[None]:
    old = torch.backends.quantized.engine
    eng = engine()
    if eng is not None:
        torch.backends.quantized.engine = eng
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices
            yield
    finally:
        torch.backends.quantized.engine = old


def _qconfig() -> object:
    from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver, QConfig

    return QConfig(
        activation=MinMaxObserver.with_args(dtype=torch.quint8),
        weight=PerChannelMinMaxObserver.with_args(
            dtype=torch.qint8, qscheme=torch.per_channel_symmetric
        ),
    )


@torch.no_grad()
def deploy(
    model: nn.Module, policy: Mapping[str, int], calibration: torch.Tensor
) -> torch.fx.GraphModule:
    """The deployed model of ``model`` (eval mode, CPU) under ``policy`` (module docstring).

    ``calibration`` is one input batch for the activation observers; ``model`` is not changed.
    """
    from torch.ao.quantization import QConfigMapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    from torch.fx.experimental.optimization import fuse

    with _quant_engine():
        gm = fuse(model.eval())  # a copy with batch norm folded into the convs
        int8 = {n for n, b in policy.items() if kernel(b) != "fp32"}
        if not int8:
            return gm
        demoted: set[str] = set()
        while True:
            mapping = QConfigMapping()
            for name in int8:
                mapping.set_module_name(name, _qconfig())
            for node, target, index in _int8_ops(gm, int8, demoted):
                if node.op == "call_method":
                    mapping.set_object_type(target, _qconfig())
                else:
                    mapping.set_module_name_object_type_order("", target, index, _qconfig())
            prepared = prepare_fx(copy.deepcopy(gm), mapping, (calibration,))
            prepared(calibration)
            try:
                return convert_fx(prepared)
            except RuntimeError as e:
                # FX's lowering of a fused add_relu fails when a later op reads the ReLU's
                # float output (seen with mixed residual blocks): that later op stays FP32.
                found = re.search(r"still had \d+ users in the graph: \{(\w+):", str(e))
                if found is None or found.group(1) in demoted:
                    raise
                demoted.add(found.group(1))


def _int8_ops(
    gm: torch.fx.GraphModule, int8: set[str], keep_fp32: set[str]
) -> list[tuple[torch.fx.Node, object, int]]:
    """The non-layer operations to run in INT8: ``(node, target, index among its target)``.

    An operation is INT8 when all its tensor inputs are. Two exceptions, found by iterating to a
    fixed point: FX sets a method's qconfig by name only, so a method runs INT8 only if every
    call of it qualifies; and a residual add (with its fused ReLU) whose output also feeds an
    FP32 operation stays FP32 (FX's lowering cannot give a fused ``add_relu`` an FP32 user).
    Nodes named in ``keep_fp32`` stay FP32.
    """
    modules = dict(gm.named_modules())
    demoted = {n for n in gm.graph.nodes if n.name in keep_fp32}
    mixed: set[str] = set()
    while True:
        quantized: set[torch.fx.Node] = set()
        methods: dict[str, list[bool]] = {}
        for node in gm.graph.nodes:
            if node.op == "call_module" and isinstance(modules[node.target], LAYERS):
                if node.target in int8:
                    quantized.add(node)
            elif node.op in ("call_function", "call_method"):
                srcs = [a for a in node.args if isinstance(a, torch.fx.Node)]
                q = bool(srcs) and all(a in quantized for a in srcs) and node not in demoted
                if node.op == "call_method":
                    methods.setdefault(node.target, []).append(q)
                    q = q and node.target not in mixed
                if q:
                    quantized.add(node)
        new_mixed = mixed | {m for m, flags in methods.items() if not all(flags)}
        new_demoted = set(demoted)
        for node in quantized:
            if node.op != "call_function" or len(_tensor_args(node)) < 2:
                continue
            users = list(node.users)
            out = users[0] if len(users) == 1 and users[0].target is F.relu else node
            if any(u not in quantized for u in out.users):
                new_demoted.add(node)
        if new_mixed == mixed and new_demoted == demoted:
            break
        mixed, demoted = new_mixed, new_demoted
    out: list[tuple[torch.fx.Node, object, int]] = []
    counts: dict[object, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_function":
            index = counts.get(node.target, 0)
            counts[node.target] = index + 1
            if node in quantized:
                out.append((node, node.target, index))
        elif node.op == "call_method" and node in quantized:
            if all(n.target != node.target for n, _, _ in out):
                out.append((node, node.target, 0))
    return out


def _tensor_args(node: torch.fx.Node) -> list[torch.fx.Node]:
    return [a for a in node.args if isinstance(a, torch.fx.Node)]


def deployed_kernels(deployed: nn.Module, policy: Mapping[str, int]) -> dict[str, str]:
    """Layer name -> class of the module that runs it in ``deployed`` (what really executes)."""
    modules = dict(deployed.named_modules())
    return {n: type(modules[n]).__module__ + "." + type(modules[n]).__name__ for n in policy}


def time_ms(fn: Callable[[], object], warmup: int = 5, repeats: int = 15) -> float:
    """Median wall time of ``fn()`` in ms over ``repeats`` calls after ``warmup`` calls."""
    times = []
    for i in range(warmup + repeats):
        t = time.perf_counter()
        fn()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


@torch.no_grad()
def measure(
    deployed: nn.Module,
    input_shape: tuple[int, ...],
    batches: tuple[int, ...] = (1, 64),
    warmup: int = 5,
    repeats: int = 15,
) -> dict[int, float]:
    """Median end-to-end ms per call of ``deployed`` at each batch size, on one torch thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _quant_engine():
            out = {}
            for b in batches:
                x = torch.rand(b, *input_shape, generator=torch.Generator().manual_seed(0))
                out[int(b)] = time_ms(lambda x=x: deployed(x), warmup, repeats)
            return out
    finally:
        torch.set_num_threads(threads)
