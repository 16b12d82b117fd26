"""The search's progress bar: trials finished out of the budget, the best value so far, the ETA."""

from __future__ import annotations

import sys

from archsearch.results import Record
from archsearch.strategy import Objective


class ProgressBar:
    """A tqdm bar on stderr: trials done, the best value so far and the ETA."""

    def __init__(self, total: int, done: int, objective: Objective, best: float | None) -> None:
        from tqdm.auto import tqdm

        self.objective, self.best = objective, best
        self.bar = tqdm(
            total=total, initial=done, unit="trial", file=sys.stderr, dynamic_ncols=True
        )
        self._show()

    def _show(self) -> None:
        if self.best is not None:
            self.bar.set_postfix_str(f"best {self.objective.name}={self.best:.4g}", refresh=False)

    def __call__(self, record: Record) -> None:
        """Count one finished trial and update the best value."""
        v = record.result.value(self.objective.name)
        if record.result.status != "failed" and v is not None:
            if self.best is None or self.objective.sign() * (v - self.best) > 0:
                self.best = v
        self._show()
        self.bar.update(1)

    def close(self) -> None:
        """Close the bar (leaves its last line on stderr)."""
        self.bar.close()
