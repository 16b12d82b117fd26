"""The search's progress on stderr: trials finished out of the budget, the best so far, the ETA.

On a terminal it is a tqdm bar redrawn in place. When stderr is not a terminal (a log file, a
CI job, ``2> log``), redrawing in place would pile carriage-return states onto one line, so
the display writes whole lines instead: one per trial for budgets up to 20 trials, else one
each time another 5 % of the budget is done, and the final state once when the search ends.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from archsearch.results import Record
from archsearch.strategy import Objective

#: Without a terminal, a line each time this fraction of the budget is done (and at the end).
LOG_STEP = 0.05


class ProgressBar:
    """Trials done, the best value so far and the ETA: a tqdm bar, or log lines off a terminal."""

    def __init__(
        self,
        total: int,
        done: int,
        objective: Objective,
        best: float | None,
        stream: IO[str] | None = None,
    ) -> None:
        self.objective, self.best = objective, best
        self.total, self.done, self.start_done = total, done, done
        self.stream = sys.stderr if stream is None else stream
        self.failed = 0
        self._started = time.monotonic()
        self._logged = done
        self.bar: Any = None
        if _is_terminal(self.stream):
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=total, initial=done, unit="trial", file=self.stream, dynamic_ncols=True
            )
            self._show()

    def _show(self) -> None:
        if self.best is not None:
            self.bar.set_postfix_str(f"best {self.objective.name}={self.best:.4g}", refresh=False)

    def __call__(self, record: Record) -> None:
        """Count one finished trial and update the best value."""
        v = record.result.value(self.objective.name)
        if record.result.status == "failed":
            self.failed += 1
        elif v is not None:
            if self.best is None or self.objective.sign() * (v - self.best) > 0:
                self.best = v
        self.done += 1
        if self.bar is not None:
            self._show()
            self.bar.update(1)
            return
        step = 1 if self.total <= 20 else max(1, int(self.total * LOG_STEP))
        if self.done - self._logged >= step or self.done >= self.total:
            self._line()

    def line(self) -> str:
        """The state as one log line: ``trials 12/20 (60%), 1 failed, best accuracy=0.96, ...``."""
        pct = 100.0 * self.done / self.total if self.total else 100.0
        parts = [f"trials {self.done}/{self.total} ({pct:.0f}%)"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.best is not None:
            parts.append(f"best {self.objective.name}={self.best:.4g}")
        ran = self.done - self.start_done
        if ran:
            elapsed = time.monotonic() - self._started
            parts.append(f"{elapsed:.0f} s elapsed")
            if self.done < self.total:
                parts.append(f"eta {elapsed / ran * (self.total - self.done):.0f} s")
        return "archsearch: " + ", ".join(parts)

    def _line(self) -> None:
        print(self.line(), file=self.stream, flush=True)
        self._logged = self.done

    def close(self) -> None:
        """End the display: close the bar, or write the final state once (if not just written)."""
        if self.bar is not None:
            self.bar.close()
        elif self._logged != self.done or self.done == self.start_done:
            self._line()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
