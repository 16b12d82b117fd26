"""Tabular benchmark evaluator: look results up in a NAS-Bench-201 table instead of training.

After Dong and Yang, "NAS-Bench-201" (ICLR 2020). The table is a CSV with one row per cell and at
least the columns ``arch_str``, ``valid-accuracy`` and ``test-accuracy`` (percent), and
optionally ``valid-loss``, ``train-all-time`` (seconds); the NATS-Bench ``cifar10-valid`` export
of Ochoa and Veerapen (NAS-Landscapes, MIT) has this format.

Units: ``accuracy`` and ``test_accuracy`` in the returned metrics are **fractions in [0, 1]**, like
the trainer's; the table's percent values are divided by 100. ``train_seconds`` (cost) is the
table's simulated training time.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from archsearch.arch import Architecture
from archsearch.strategy import Result

ENV_VAR = "ARCHSEARCH_NB201_TABLE"
REQUIRED = ("arch_str", "valid-accuracy", "test-accuracy")


def _float(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


class TableEvaluator:
    """``TableEvaluator(path)(arch) -> Result`` for the ``nb201`` space.

    ``path`` defaults to the environment variable ``ARCHSEARCH_NB201_TABLE``.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        if path is None:
            path = os.environ.get(ENV_VAR)
            if not path:
                raise FileNotFoundError(
                    f"no NAS-Bench-201 table given: pass a path or set {ENV_VAR} to the CSV file"
                )
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"NAS-Bench-201 table not found: {self.path}")
        with open(self.path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(
                    f"{self.path}: missing column(s) {', '.join(missing)}; "
                    f"a NAS-Bench-201 table needs {', '.join(REQUIRED)}"
                )
            self.rows: dict[str, dict[str, float]] = {}
            for row in reader:
                self.rows[row["arch_str"]] = {
                    "accuracy": _float(row["valid-accuracy"]) / 100.0,
                    "test_accuracy": _float(row["test-accuracy"]) / 100.0,
                    "loss": _float(row.get("valid-loss")),
                    "train_seconds": _float(row.get("train-all-time")),
                }

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, arch_string: str) -> dict[str, float]:
        """The table row of one cell string (metrics as documented in the module)."""
        try:
            return self.rows[arch_string]
        except KeyError:
            raise KeyError(f"cell {arch_string!r} is not in the table {self.path}") from None

    #: The metric and cost names every result carries (checked before a run starts).
    reports = frozenset({"accuracy", "test_accuracy", "loss", "train_seconds"})

    def __call__(self, arch: Architecture) -> Result:
        """The tabulated result of a ``nb201`` architecture."""
        from archsearch.spaces.nb201.space import arch_str

        if arch.space != "nb201":
            raise ValueError(
                f"the NAS-Bench-201 table evaluates space 'nb201', not '{arch.space}'"
            )
        row = self.lookup(arch_str(arch))
        metrics = {k: row[k] for k in ("accuracy", "test_accuracy", "loss")}
        return Result(metrics=metrics, cost={"train_seconds": row["train_seconds"]})
