"""Where and in what precision a candidate trains: device, autocast dtype, memory format.

On CUDA the trainer's defaults follow NVIDIA's mixed-precision practice (Micikevicius et al.,
2018, "Mixed Precision Training"): the forward pass runs under autocast in bf16 where the GPU
computes bf16 natively (compute capability 8.0 and later), else in fp16 with a gradient scaler,
since fp16's narrow exponent flushes small gradients to zero unless the loss is scaled up first.
bf16 is never chosen on a GPU that only emulates it (torch's ``is_bf16_supported`` says yes
there by default): emulated bf16 is slower than fp16. Convolutions run channels-last (NHWC),
the layout cuDNN's tensor-core kernels read without a transpose; the data is stored in that
layout once, so a batch is one gather, not a gather and a copy.

A candidate that runs out of memory fails alone (a failed result); :func:`release_memory` then
hands the cached blocks back to the driver, so the next candidate, and on a shared GPU the
neighbouring trials' processes, can use them.
"""

from __future__ import annotations

import gc

import torch

AMP_MODES = ("auto", "bf16", "fp16", "off")


def parse_device(name: str) -> torch.device | None:
    """The device ``name`` names (``auto``: None); a ValueError names what is allowed."""
    if name == "auto":
        return None
    try:
        return torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device {name!r} is not a device; expected 'auto', 'cpu', 'cuda' or 'cuda:N'"
        ) from None


def resolve_device(name: str) -> torch.device:
    """The device to train on (``auto``: CUDA when this process sees a GPU, else CPU)."""
    device = parse_device(name)
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        seen = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= seen:
            raise ValueError(
                f"device {name!r} but this process sees {seen} CUDA device(s) "
                f"(CUDA_VISIBLE_DEVICES and the torch build decide); use 'auto' or 'cpu'"
            )
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` (a CUDA device) computes bf16 in hardware, not by emulation."""
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # torch before 2.3 has no including_emulation and never emulates
        return bool(torch.cuda.is_bf16_supported())


def autocast_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``mode`` on ``device`` (None: full precision)."""
    if mode == "auto":
        if device.type != "cuda":
            return None
        mode = "bf16" if native_bf16(device) else "fp16"
    if mode == "off":
        return None
    if mode == "fp16" and device.type != "cuda":
        raise ValueError(f"amp='fp16' needs a CUDA device, not {device}")
    return torch.bfloat16 if mode == "bf16" else torch.float16


def memory_format(
    channels_last: bool | None, device: torch.device, input_shape: tuple[int, ...]
) -> torch.memory_format:
    """Channels-last for image inputs (by default on CUDA only), else the contiguous layout."""
    wanted = channels_last if channels_last is not None else device.type == "cuda"
    return torch.channels_last if wanted and len(input_shape) == 3 else torch.contiguous_format


def to_device(
    tensor: torch.Tensor, device: torch.device, fmt: torch.memory_format = torch.contiguous_format
) -> torch.Tensor:
    """``tensor`` on ``device`` in ``fmt``; a host-to-GPU copy goes through pinned memory.

    The copy from pinned memory is asynchronous (``non_blocking``) and ordered on the current
    stream before the kernels that read it, so the host can queue the first steps meanwhile.
    """
    fmt = fmt if tensor.dim() == 4 else torch.contiguous_format
    if device.type == "cuda" and tensor.device.type == "cpu":
        tensor = tensor.pin_memory()
        return tensor.to(device, non_blocking=True).contiguous(memory_format=fmt)
    return tensor.to(device).contiguous(memory_format=fmt)


def rng_devices(device: torch.device) -> list[int]:
    """The CUDA devices whose generators a seeded run forks (none on CPU)."""
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


def release_memory(device: torch.device) -> None:
    """Free what a failed candidate left: collect its tensors, return CUDA's cached blocks."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


#: GPU memory a process holds outside PyTorch's caching allocator: the CUDA context, cuBLAS and
#: cuDNN handles and loaded kernels, about 0.5 GiB per process on recent GPUs and drivers.
CONTEXT_BYTES = 768 * 2**20


def share_fraction(share: float, total_bytes: int) -> float:
    """The allocator cap, as a fraction of the device, for a process given ``share`` of a GPU.

    Capping each of four quarter-GPU trials at exactly 0.25 would let the four caps plus four
    contexts overrun the device, so the trial nearest its cap could make a neighbour's
    allocation fail; each cap leaves its process's context room inside its own share
    (never less than half the share).
    """
    return max(share / 2, share - CONTEXT_BYTES / total_bytes)


def cap_memory(share: float) -> float | None:
    """Cap PyTorch's allocator on GPU 0 to ``share`` of it (0 < share < 1); returns the fraction."""
    if not 0 < share < 1 or not torch.cuda.is_available():
        return None
    fraction = share_fraction(share, torch.cuda.get_device_properties(0).total_memory)
    torch.cuda.set_per_process_memory_fraction(fraction, 0)
    return fraction
