"""Datasets: digits split, CIFAR pickle folders (a tiny fake written per test), custom data."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from archsearch.data import Data, load_data


def test_digits_is_a_fixed_stratified_split() -> None:
    d = load_data("digits")
    (tx, ty), (_, vy) = d.train, d.valid
    assert d.task.input_shape == (1, 8, 8) and d.task.num_classes == 10
    assert len(ty) + len(vy) == 1797 and len(vy) == pytest.approx(0.2 * 1797, abs=10)
    assert tx.dtype == torch.float32 and ty.dtype == torch.int64
    assert tx.shape[1:] == (1, 8, 8)
    # Normalized with the training split's statistics; every class in both splits at ~20%.
    assert abs(float(tx.mean())) < 1e-4 and float(tx.std()) == pytest.approx(1.0, abs=1e-3)
    frac = torch.bincount(vy, minlength=10) / (
        torch.bincount(ty, minlength=10) + torch.bincount(vy, minlength=10)
    )
    assert torch.all((frac > 0.17) & (frac < 0.23))
    again = load_data("digits")
    assert torch.equal(again.valid[1], vy) and torch.equal(again.train[0], tx)
    other = load_data("digits", seed=1)
    assert not torch.equal(other.valid[1], vy)


def test_load_data_errors() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'digts'"):
        load_data("digts")
    with pytest.raises(
        ValueError, match="dataset 'digits' has no option 'size'; options: valid_fraction, seed, test_fraction"
    ):
        load_data("digits", size=3)
    with pytest.raises(ValueError, match="valid_fraction must lie in"):
        load_data("digits", valid_fraction=1.5)


def _fake_batch(path: Path, n: int, label_key: bytes, seed: int, classes: int) -> None:
    rng = np.random.default_rng(seed)
    blob = {
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        label_key: [int(v) for v in rng.integers(0, classes, size=n)],
    }
    if label_key == b"fine_labels":
        blob[b"coarse_labels"] = [v % 20 for v in blob[label_key]]
    path.write_bytes(pickle.dumps(blob))


def _fake_cifar10(root: Path, n: int = 6) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i in range(1, 6):
        _fake_batch(folder / f"data_batch_{i}", n, b"labels", i, 10)
    _fake_batch(folder / "test_batch", n, b"labels", 9, 10)
    return folder


def test_cifar10_from_a_local_folder(tmp_path: Path) -> None:
    folder = _fake_cifar10(tmp_path)
    d = load_data("cifar10", root=tmp_path)
    assert d.task.input_shape == (3, 32, 32) and d.task.num_classes == 10
    assert len(d.train[1]) == 24 and len(d.valid[1]) == 6  # batches 1-4 / batch 5
    raw5 = pickle.loads((folder / "data_batch_5").read_bytes())
    assert d.valid[1].tolist() == raw5[b"labels"]
    assert d.train[0].dtype == torch.float32 and abs(float(d.train[0].mean())) < 1e-4
    full = load_data("cifar10", root=folder, split="test", train_size=20)
    assert len(full.train[1]) == 20 and len(full.valid[1]) == 6


def test_cifar10_pixel_layout(tmp_path: Path) -> None:
    folder = _fake_cifar10(tmp_path)
    raw = pickle.loads((folder / "data_batch_1").read_bytes())[b"data"][0].astype(np.float32)
    d = load_data("cifar10", root=tmp_path)
    x = d.train[0][0]
    # Standardization is affine per channel, so pixel ranks inside each plane are preserved.
    for c in range(3):
        plane = raw[c * 1024 : (c + 1) * 1024].reshape(32, 32)
        assert np.argmax(plane) == int(torch.argmax(x[c]))


def test_cifar_missing_files_say_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        FileNotFoundError, match=r"cifar-10-batches-py/ with data_batch_1.*test_batch"
    ):
        load_data("cifar10", root=tmp_path)
    monkeypatch.setenv("ARCHSEARCH_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match=r"elsewhere/cifar-100-python/ with train, test"):
        load_data("cifar100")
    with pytest.raises(ValueError, match="split 'val' is not allowed"):
        load_data("cifar10", root=tmp_path, split="val")


def test_cifar100_fine_and_coarse(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    _fake_batch(folder / "train", 50, b"fine_labels", 0, 100)
    _fake_batch(folder / "test", 10, b"fine_labels", 1, 100)
    d = load_data("cifar100", root=tmp_path)
    assert d.task.num_classes == 100 and len(d.train[1]) == 40 and len(d.valid[1]) == 10
    c = load_data("cifar100", root=tmp_path, labels="coarse", split="test")
    assert c.task.num_classes == 20 and len(c.train[1]) == 50 and len(c.valid[1]) == 10
    assert int(c.train[1].max()) < 20
    with pytest.raises(ValueError, match="labels 'mid' is not allowed"):
        load_data("cifar100", root=tmp_path, labels="mid")


def test_synthetic_is_seeded_and_shaped() -> None:
    a = load_data("synthetic", shape=(3, 6, 5), classes=4, size=40, valid_size=12, seed=3)
    b = load_data("synthetic", shape=(3, 6, 5), classes=4, size=40, valid_size=12, seed=3)
    assert a.train[0].shape == (40, 3, 6, 5) and a.valid[0].shape == (12, 3, 6, 5)
    assert a.task.num_classes == 4 and torch.equal(a.train[0], b.train[0])
    with pytest.raises(ValueError, match="classes must be >= 2"):
        load_data("synthetic", classes=1)
    with pytest.raises(ValueError, match="shape must be positive"):
        load_data("synthetic", shape=(0, 8, 8))


class _Squares(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.full((1, 4, 4), float(i)), i % 3


def test_custom_data_from_datasets_and_tensors() -> None:
    d = Data.from_datasets(_Squares(9), _Squares(6), name="squares")
    assert d.task.input_shape == (1, 4, 4) and d.task.num_classes == 3
    assert d.train[0][4, 0, 0, 0] == 4.0 and d.valid[1].tolist() == [0, 1, 2, 0, 1, 2]
    t = Data.from_tensors(
        np.ones((5, 2, 3, 3)), [0, 1, 0, 1, 0], np.ones((2, 2, 3, 3)), [1, 0], normalize=True
    )
    assert t.task.num_classes == 2 and t.train[0].dtype == torch.float32
    with pytest.raises(ValueError, match="train split has 5 inputs but 4 labels"):
        Data.from_tensors(np.ones((5, 2)), [0, 1, 0, 1], np.ones((2, 2)), [1, 0])
    with pytest.raises(ValueError, match=r"valid labels must lie in \[0, 2\)"):
        Data.from_tensors(np.ones((2, 2)), [0, 1], np.ones((1, 2)), [5], num_classes=2)
    with pytest.raises(ValueError, match="is not an \\(input, label\\) pair"):
        Data.from_datasets([torch.ones(2)], [torch.ones(2)])


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: Data.from_tensors(np.ones(3), [0, 1, 2], np.ones((1, 2)), [0]),
            "batch dimension",
        ),
        (
            lambda: Data.from_tensors(np.ones((2, 2)), [[0], [1]], np.ones((1, 2)), [0]),
            "one class index",
        ),
        (
            lambda: Data.from_tensors(np.ones((2, 2)), [0.5, 1], np.ones((1, 2)), [0]),
            "integer class",
        ),
        (lambda: Data.from_datasets([], [(torch.ones(1), 0)]), "the train dataset is empty"),
        (lambda: load_data("synthetic", classes=10, size=5), r"size must be >= classes \(10\)"),
        (lambda: load_data("synthetic", valid_size=0), "valid_size must be >= 1"),
    ],
)
def test_bad_data_is_rejected(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_cifar_sizes_are_checked(tmp_path: Path) -> None:
    _fake_cifar10(tmp_path)
    with pytest.raises(ValueError, match="train_size must be >= 1, got 0"):
        load_data("cifar10", root=tmp_path, train_size=0)
