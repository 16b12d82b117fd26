"""Private stand-in for ``archsearch.data.load_data("digits")`` until the data module lands."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from archsearch.space import Task


def load_digits() -> SimpleNamespace:
    """scikit-learn digits, 80/20 stratified split with seed 0, standardized."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    x = d.images.astype(np.float32)[:, None]
    xtr, xva, ytr, yva = train_test_split(
        x, d.target, test_size=0.2, stratify=d.target, random_state=0
    )
    mu, sd = xtr.mean(), xtr.std()
    t = lambda a: torch.from_numpy((a - mu) / sd)  # noqa: E731
    return SimpleNamespace(
        name="digits",
        task=Task((1, 8, 8), 10),
        train=(t(xtr), torch.from_numpy(ytr).long()),
        valid=(t(xva), torch.from_numpy(yva).long()),
    )
