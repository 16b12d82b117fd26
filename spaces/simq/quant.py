"""Simulated per-layer quantization: fake-quant wrappers, calibration and the analytic model size.

After Sridhar et al., "SimQ-NAS: Simultaneous Quantization Policy and Neural Architecture Search"
(Intel Labs, arXiv 2312.13301), which applies post-training static quantization per layer with
Intel Neural Compressor. Here the quantization is simulated with PyTorch's fake-quant ops, so no
deprecated ``torch.ao.quantization`` flow is needed.

Notation: a *policy* maps the name of a quantizable layer (``nn.Conv2d`` / ``nn.Linear``) to its
bit width ``b``. For ``b < 32``:

* weights are quantized **per output channel, symmetric**: ``s_c = max|W_c| / (2^(b-1) - 1)``,
  integers in ``[-2^(b-1), 2^(b-1) - 1]``;
* the layer's input is quantized **per tensor, asymmetric** to ``[0, 2^b - 1]`` with
  ``s = (hi - lo) / (2^b - 1)`` and zero point ``z = round(-lo / s)``, where ``[lo, hi]`` is the
  range seen on a few calibration batches (widened to contain 0).

``b = 32`` leaves the layer untouched (bit-exact). The model size is analytic:
``sum_l numel(W_l) * b_l / 8`` bytes for quantized weights plus 4 bytes per remaining float
parameter (biases, norms, 32-bit layers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

QUANTIZABLE = (nn.Conv2d, nn.Linear)


def quantizable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The model's conv and linear layers by qualified name, in definition order."""
    return {n: m for n, m in model.named_modules() if isinstance(m, QUANTIZABLE)}


def fake_quant_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel symmetric fake quantization of a weight (``bits=32``: ``w`` itself)."""
    _check_bits(bits)
    if bits >= 32:
        return w
    qmax = 2 ** (bits - 1) - 1
    amax = w.detach().abs().reshape(w.shape[0], -1).amax(dim=1)
    scale = (amax / qmax).clamp_min(1e-12).float()
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -qmax - 1, qmax)


def act_qparams(lo: float, hi: float, bits: int) -> tuple[float, int]:
    """Scale and zero point of the asymmetric ``[0, 2^b - 1]`` grid covering ``[lo, hi]``."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    qmax = 2**bits - 1
    scale = max((hi - lo) / qmax, 1e-12)
    zero = int(min(max(round(-lo / scale), 0), qmax))
    return scale, zero


def fake_quant_act(x: torch.Tensor, lo: float, hi: float, bits: int) -> torch.Tensor:
    """Per-tensor asymmetric fake quantization of an activation calibrated to ``[lo, hi]``."""
    _check_bits(bits)
    if bits >= 32:
        return x
    scale, zero = act_qparams(lo, hi, bits)
    return torch.fake_quantize_per_tensor_affine(x, scale, zero, 0, 2**bits - 1)


def _check_bits(bits: int) -> None:
    if not (2 <= int(bits) <= 8 or int(bits) == 32):
        raise ValueError(f"bit width {bits} is not supported; expected 2..8 or 32")


class _InputRange:
    """Forward pre-hook: records the input's range while calibrating, then fake-quantizes it."""

    def __init__(self, bits: int) -> None:
        self.bits, self.lo, self.hi, self.calibrating = (
            int(bits),
            float("inf"),
            -float("inf"),
            True,
        )

    def __call__(self, module: nn.Module, args: tuple) -> tuple:
        x = args[0]
        if self.calibrating:
            self.lo = min(self.lo, float(x.detach().min()))
            self.hi = max(self.hi, float(x.detach().max()))
            return args
        return (fake_quant_act(x, self.lo, self.hi, self.bits), *args[1:])


@torch.no_grad()
def quantize(
    model: nn.Module, policy: Mapping[str, int], calibration: Iterable[torch.Tensor]
) -> nn.Module:
    """Fake-quantize ``model`` in place by ``policy`` (layer name -> bits), calibrating inputs.

    Unknown layer names raise ``KeyError``; layers left out of ``policy`` stay at 32 bits.
    ``calibration`` yields input batches; the model runs on them in eval mode.
    """
    layers = quantizable_layers(model)
    unknown = [n for n in policy if n not in layers]
    if unknown:
        raise KeyError(
            f"layer '{unknown[0]}' is not a quantizable layer; known: {', '.join(layers)}"
        )
    hooks: list[_InputRange] = []
    for name, bits in policy.items():
        _check_bits(bits)
        if bits >= 32:
            continue
        layer = layers[name]
        layer.weight.copy_(fake_quant_weight(layer.weight, bits))
        hook = _InputRange(bits)
        layer.register_forward_pre_hook(hook)
        hooks.append(hook)
    was_training = model.training
    model.eval()
    seen = False
    for x in calibration:
        model(x)
        seen = True
    if hooks and not seen:
        raise ValueError("calibration yielded no batches; at least one is needed")
    for h in hooks:
        h.calibrating = False
    model.train(was_training)
    return model


def model_size_bytes(model: nn.Module, policy: Mapping[str, int]) -> float:
    """Analytic size: quantized weights at ``b/8`` bytes per element, 4 bytes per other parameter."""
    layers = quantizable_layers(model)
    quant_weights = {
        id(layers[n].weight): int(b) for n, b in policy.items() if n in layers and int(b) < 32
    }
    total = 0.0
    for p in model.parameters():
        bits = quant_weights.get(id(p), 32)
        total += p.numel() * bits / 8
    return total
