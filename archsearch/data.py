"""Datasets: the embedded default (scikit-learn digits), CIFAR from a local folder, custom data.

A :class:`Data` holds a train and a validation split as in-memory tensors: ``X`` float32 in
NCHW layout, normalized per channel with the training split's mean and standard deviation, and
``y`` int64 class indices in ``[0, K)``. Search scores candidates on the validation split; a
dataset's test split is never touched unless asked for (``split="test"``).

Loaders are registered by name with ``@register_dataset`` and called as
``load_data(name, root=None, **options)``:

* ``digits`` (default): scikit-learn's bundled copy of the UCI optical digits, 1,797 images of
  8x8x1 pixels with values 0..16, 10 classes; no download. Split 80/20, stratified by class,
  with a fixed seed; ``test_fraction > 0`` also holds out a stratified test split
  (``Data.test``) taken from the training part, so the validation split stays the same.
* ``cifar10`` / ``cifar100``: Krizhevsky (2009), read from the published python-pickle files in
  ``root`` (no torchvision, no download). ``split="search"`` (default) trains on the first
  40,000 training images and validates on the last 10,000 (CIFAR-10: ``data_batch_1..4`` /
  ``data_batch_5``); ``split="test"`` trains on all 50,000 and validates on the test set.
* ``synthetic``: Gaussian class prototypes plus noise, learnable and seeded, of any shape.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archsearch.options import check_options
from archsearch.registry import lookup, register_dataset
from archsearch.space import Task

if TYPE_CHECKING:
    import torch

DATA_ENV = "ARCHSEARCH_DATA"
Split = tuple["torch.Tensor", "torch.Tensor"]


@dataclass
class Data:
    """A dataset with train and validation splits held as tensors (X float32 NCHW, y int64)."""

    name: str
    task: Task
    train: Split
    valid: Split
    test: Split | None = None  # held out: never used by search, only for reporting

    def __post_init__(self) -> None:
        splits = [("train", self.train), ("valid", self.valid)]
        for split_name, (x, y) in splits + ([("test", self.test)] if self.test else []):
            if x.shape[0] != y.shape[0]:
                raise ValueError(
                    f"{split_name} split has {x.shape[0]} inputs but {y.shape[0]} labels"
                )
            if tuple(x.shape[1:]) != self.task.input_shape:
                raise ValueError(
                    f"{split_name} inputs have shape {tuple(x.shape[1:])}; "
                    f"expected {self.task.input_shape}"
                )
            if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.task.num_classes):
                raise ValueError(
                    f"{split_name} labels must lie in [0, {self.task.num_classes}), "
                    f"got [{int(y.min())}, {int(y.max())}]"
                )

    @classmethod
    def from_tensors(
        cls,
        train_x: Any,
        train_y: Any,
        valid_x: Any,
        valid_y: Any,
        *,
        name: str = "custom",
        num_classes: int | None = None,
        normalize: bool = False,
    ) -> Data:
        """Data from arrays or tensors; ``normalize`` standardizes channels with train stats."""
        tx, vx = _as_x(train_x), _as_x(valid_x)
        ty, vy = _as_y(train_y), _as_y(valid_y)
        if normalize:
            tx, vx = standardize(tx, vx)
        k = num_classes or int(max(ty.max(), vy.max())) + 1
        return cls(name, Task(tuple(tx.shape[1:]), k), (tx, ty), (vx, vy))

    @classmethod
    def from_datasets(
        cls,
        train: torch.utils.data.Dataset,
        valid: torch.utils.data.Dataset,
        *,
        name: str = "custom",
        num_classes: int | None = None,
        normalize: bool = False,
    ) -> Data:
        """Data from two map-style datasets of ``(x, label)`` items, gathered into memory."""
        return cls.from_tensors(
            *_gather(train, "train"),
            *_gather(valid, "valid"),
            name=name,
            num_classes=num_classes,
            normalize=normalize,
        )

    def __repr__(self) -> str:
        return (
            f"Data({self.name!r}, input_shape={self.task.input_shape}, "
            f"classes={self.task.num_classes}, train={len(self.train[1])}, "
            f"valid={len(self.valid[1])})"
        )


def _as_x(x: Any) -> torch.Tensor:
    import torch

    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dim() < 2:
        raise ValueError(
            f"inputs need a batch dimension and a feature shape, got {tuple(t.shape)}"
        )
    return t.float().contiguous()


def _as_y(y: Any) -> torch.Tensor:
    import torch

    t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if t.dim() != 1:
        raise ValueError(f"labels must be one class index per example, got shape {tuple(t.shape)}")
    if t.is_floating_point() and not torch.equal(t, t.round()):
        raise ValueError("labels must be integer class indices")
    return t.long().contiguous()


def _gather(ds: torch.utils.data.Dataset, which: str) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    n = len(ds)  # type: ignore[arg-type]
    if n == 0:
        raise ValueError(f"the {which} dataset is empty")
    xs, ys = [], []
    for i in range(n):
        item = ds[i]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise ValueError(f"{which} dataset item {i} is not an (input, label) pair")
        xs.append(
            torch.as_tensor(np.asarray(item[0]) if not torch.is_tensor(item[0]) else item[0])
        )
        ys.append(int(item[1]))
    return torch.stack(xs).float(), torch.tensor(ys, dtype=torch.long)


def standardize(train_x: torch.Tensor, valid_x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalize each channel (dim 1) to zero mean, unit variance with the train split's stats."""
    dims = [d for d in range(train_x.dim()) if d != 1]
    mean = train_x.mean(dim=dims, keepdim=True)
    std = train_x.std(dim=dims, keepdim=True).clamp_min(1e-6)
    return (train_x - mean) / std, (valid_x - mean) / std


def load_data(name: str = "digits", root: str | Path | None = None, **options: Any) -> Data:
    """Load the dataset registered as ``name``; ``root`` is the folder of file-based datasets."""
    loader = lookup("dataset", name)
    check_options(f"dataset '{name}'", loader, options, fixed=("root",))
    return loader(root=root, **options)


def _stratified_split(
    y: np.ndarray, valid_fraction: float, seed: int, test_fraction: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, valid and test indices, per class: valid first, then test, the rest train."""
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")
    if not 0.0 <= test_fraction < 1.0 - valid_fraction:
        raise ValueError(f"test_fraction must lie in [0, 1 - valid_fraction), got {test_fraction}")
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k, t = int(round(len(idx) * valid_fraction)), int(round(len(idx) * test_fraction))
        parts[0].append(idx[k + t :])
        parts[1].append(idx[:k])
        parts[2].append(idx[k : k + t])
    tr, va, te = (np.sort(np.concatenate(p)) for p in parts)
    return tr, va, te


@register_dataset("digits", description="scikit-learn's bundled 8x8 digits (1,797 images)")
def digits(
    root: str | Path | None = None,
    valid_fraction: float = 0.2,
    seed: int = 0,
    test_fraction: float = 0.0,
) -> Data:
    """scikit-learn's digits as 1x8x8 images; a stratified, seeded train/validation(/test) split."""
    import torch
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.astype(np.float32)[:, None]  # (N, 1, 8, 8), values 0..16
    y = bunch.target.astype(np.int64)
    tr, va, te = _stratified_split(y, valid_fraction, seed, test_fraction)
    tx, vx = standardize(torch.from_numpy(x[tr]), torch.from_numpy(x[va]))
    test = None
    if len(te):
        test = (standardize(torch.from_numpy(x[tr]), torch.from_numpy(x[te]))[1], y[te])
        test = (test[0], torch.from_numpy(test[1]))
    return Data(
        "digits",
        Task((1, 8, 8), 10),
        (tx, torch.from_numpy(y[tr])),
        (vx, torch.from_numpy(y[va])),
        test,
    )


def data_root(root: str | Path | None) -> Path:
    """``root``, else ``$ARCHSEARCH_DATA``, else ``./data``."""
    return Path(root if root is not None else os.environ.get(DATA_ENV, "data"))


def _find(root: Path, folder: str, files: Sequence[str], dataset: str, url: str) -> Path:
    # Accept either the parent folder or the extracted folder itself.
    for base in (root / folder, root):
        if all((base / f).is_file() for f in files):
            return base
    missing = [f for f in files if not (root / folder / f).is_file()]
    raise FileNotFoundError(
        f"{dataset} not found: expected {root / folder}/ with {', '.join(files)} "
        f"(missing: {', '.join(missing)}); extract the python version ({url}) into {root} "
        f"or pass --data-root / root= (or set ${DATA_ENV})"
    )


class _ArrayUnpickler(pickle.Unpickler):
    """CIFAR's published batches are pickles of dicts, lists and numpy arrays: nothing else loads.

    A pickle that names any other class or function (code to run) is refused, so a batch
    file someone swapped in cannot execute anything.
    """

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        """Only numpy's array reconstruction; anything else is an UnpicklingError."""
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not a CIFAR batch")


def _unpickle(path: Path) -> dict[bytes, Any]:
    with open(path, "rb") as f:
        try:
            return _ArrayUnpickler(f, encoding="bytes").load()
        except pickle.UnpicklingError as e:
            raise ValueError(f"{path}: {e}") from None


def _cifar_arrays(
    parts: list[dict[bytes, Any]], label_key: bytes
) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([np.asarray(p[b"data"], dtype=np.uint8) for p in parts])
    y = np.concatenate([np.asarray(p[label_key], dtype=np.int64) for p in parts])
    return x.reshape(-1, 3, 32, 32), y


def _cifar_data(
    name: str,
    classes: int,
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    train_size: int | None,
    valid_size: int | None,
) -> Data:
    import torch

    (tx, ty), (vx, vy) = train, valid
    for what, size in (("train_size", train_size), ("valid_size", valid_size)):
        if size is not None and size < 1:
            raise ValueError(f"{what} must be >= 1, got {size}")
    tx, ty, vx, vy = tx[:train_size], ty[:train_size], vx[:valid_size], vy[:valid_size]
    txt, vxt = standardize(torch.from_numpy(tx).float() / 255, torch.from_numpy(vx).float() / 255)
    return Data(
        name,
        Task((3, 32, 32), classes),
        (txt, torch.from_numpy(ty)),
        (vxt, torch.from_numpy(vy)),
    )


def _check_split(split: str) -> None:
    if split not in ("search", "test"):
        raise ValueError(f"split {split!r} is not allowed; expected 'search' or 'test'")


@register_dataset("cifar10", description="CIFAR-10 from a local folder (python pickle format)")
def cifar10(
    root: str | Path | None = None,
    split: str = "search",
    train_size: int | None = None,
    valid_size: int | None = None,
) -> Data:
    """CIFAR-10: train on ``data_batch_1..4``, validate on ``data_batch_5`` (or test: all 5 / test)."""
    _check_split(split)
    batches = [f"data_batch_{i}" for i in range(1, 6)]
    base = _find(
        data_root(root),
        "cifar-10-batches-py",
        [*batches, "test_batch"],
        "CIFAR-10",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    )
    if split == "search":
        train = _cifar_arrays([_unpickle(base / b) for b in batches[:4]], b"labels")
        valid = _cifar_arrays([_unpickle(base / batches[4])], b"labels")
    else:
        train = _cifar_arrays([_unpickle(base / b) for b in batches], b"labels")
        valid = _cifar_arrays([_unpickle(base / "test_batch")], b"labels")
    return _cifar_data("cifar10", 10, train, valid, train_size, valid_size)


@register_dataset("cifar100", description="CIFAR-100 from a local folder (python pickle format)")
def cifar100(
    root: str | Path | None = None,
    split: str = "search",
    labels: str = "fine",
    train_size: int | None = None,
    valid_size: int | None = None,
) -> Data:
    """CIFAR-100: train on the first 40,000 training images, validate on the last 10,000."""
    _check_split(split)
    if labels not in ("fine", "coarse"):
        raise ValueError(f"labels {labels!r} is not allowed; expected 'fine' or 'coarse'")
    base = _find(
        data_root(root),
        "cifar-100-python",
        ["train", "test"],
        "CIFAR-100",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    )
    key = f"{labels}_labels".encode()
    x, y = _cifar_arrays([_unpickle(base / "train")], key)
    if split == "search":
        n = len(y) - len(y) // 5
        train, valid = (x[:n], y[:n]), (x[n:], y[n:])
    else:
        train, valid = (x, y), _cifar_arrays([_unpickle(base / "test")], key)
    return _cifar_data(
        "cifar100", 100 if labels == "fine" else 20, train, valid, train_size, valid_size
    )


@register_dataset("synthetic", description="seeded Gaussian class prototypes plus noise")
def synthetic(
    root: str | Path | None = None,
    shape: Sequence[int] = (1, 8, 8),
    classes: int = 10,
    size: int = 512,
    valid_size: int | None = None,
    noise: float = 1.0,
    seed: int = 0,
) -> Data:
    """Learnable synthetic images: each class a fixed random prototype, plus Gaussian noise."""
    import torch

    shape = tuple(int(s) for s in shape)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"shape must be positive sizes such as (1, 8, 8), got {shape}")
    if classes < 2:
        raise ValueError(f"classes must be >= 2, got {classes}")
    if size < classes:
        raise ValueError(f"size must be >= classes ({classes}), got {size}")
    valid_size = size // 4 if valid_size is None else valid_size
    if valid_size < 1:
        raise ValueError(f"valid_size must be >= 1, got {valid_size}")
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(classes, *shape, generator=g)

    def draw(n: int) -> Split:
        y = torch.randint(0, classes, (n,), generator=g)
        return protos[y] + noise * torch.randn(n, *shape, generator=g), y

    return Data("synthetic", Task(shape, classes), draw(size), draw(valid_size))
