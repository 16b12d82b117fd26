"""Checkpoints of expandable CNNs: architecture record, weights and metadata in one file.

Any checkpoint rebuilds its network on its own (:func:`load_checkpoint`), whatever growth led
to it: the :class:`~archsearch.spaces.expanding.net.NetSpec` is stored beside the weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from archsearch.spaces.expanding.net import ExpandableCNN
from archsearch.spaces.expanding.spec import NetSpec

CHECKPOINT_FORMAT = "archsearch.expanding/1"


def save_checkpoint(path: str | Path, model: ExpandableCNN, **meta: Any) -> Path:
    """Write ``model`` (architecture spec and weights) plus JSON-ready ``meta`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "format": CHECKPOINT_FORMAT,
        "spec": json.dumps(model.spec.to_json()),
        "meta": json.dumps(meta),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    torch.save(blob, path)
    return path


def read_checkpoint(path: str | Path) -> tuple[ExpandableCNN, dict[str, Any]]:
    """The model (in eval mode, on CPU) and the metadata stored at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not an expanding-network checkpoint ({CHECKPOINT_FORMAT})")
    model = ExpandableCNN(NetSpec.from_json(json.loads(blob["spec"])))
    model.load_state_dict(blob["state_dict"])
    return model.eval(), json.loads(blob["meta"])


def load_checkpoint(path: str | Path) -> ExpandableCNN:
    """The self-contained model stored at ``path`` (eval mode, CPU)."""
    return read_checkpoint(path)[0]
