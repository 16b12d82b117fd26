"""How an evaluation fails: out of memory, divergence, or any other exception.

A failed candidate is recorded, never fatal: the trainer (and any evaluator that wants the same
wording) turns the exception into the error text of a ``failed``
:class:`~archsearch.strategy.Result`, a short line for out-of-memory errors and for divergence
(NaN or infinite loss), the full traceback otherwise.
"""

from __future__ import annotations

import traceback

import torch


class Diverged(RuntimeError):
    """The training or validation loss became NaN or infinite."""


#: Out-of-memory errors that reach Python as a plain RuntimeError: a CUDA call outside the
#: caching allocator ("CUDA error: out of memory"), the CPU allocator, cuBLAS and cuDNN handles.
_OOM_TEXT = (
    "out of memory",
    "can't allocate memory",
    "CUBLAS_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_ALLOC_FAILED",
)


def is_out_of_memory(e: BaseException) -> bool:
    """Whether ``e`` is an out-of-memory error (CUDA, another accelerator or the CPU allocator).

    PyTorch's caching allocator raises ``torch.OutOfMemoryError`` (``torch.cuda`` exports the
    same class) when a CUDA allocation fails, or would pass the process's memory fraction.
    """
    if isinstance(e, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    return isinstance(e, RuntimeError) and any(t in str(e) for t in _OOM_TEXT)


def failure_text(e: BaseException) -> str:
    """The error text of a failed candidate: a short line for OOM and divergence, else the traceback."""
    if is_out_of_memory(e):
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return f"out of memory: {first}"
    if isinstance(e, Diverged):
        return str(e)
    return "".join(traceback.format_exception(e)).rstrip()
