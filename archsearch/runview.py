"""Plain-text views of a run folder: the trial table of ``archsearch show`` and a search's summary.

Columns: trial number, status, each objective's value, parameters, FLOPs (one fused
multiply-add counts as one FLOP, as in :mod:`archsearch.complexity`) and seconds (wall time of
the trial as journaled, else the trainer's ``train_seconds``). Large counts are abbreviated
with K / M / G (powers of 1000).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from archsearch.results import Record, Run, best_of, pareto_front
from archsearch.strategy import count_statuses

_CONFIG_KEYS = ("space", "strategy", "dataset", "budget", "epochs", "seed", "executor")


def human(value: float | None, digits: int = 4) -> str:
    """A number for a table: ``-`` when missing, K/M/G (3 digits) from 10,000, else ``digits`` significant."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    v = float(value)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(v) >= max(scale, 1e4):
            return f"{v / scale:.3g}{unit}"
    if v == int(v) and abs(v) >= 1:
        return str(int(v))
    return f"{v:.{digits}g}"


def error_line(error: str | None) -> str:
    """The line of an error text that says what went wrong (a traceback's last line)."""
    lines = [ln.strip() for ln in (error or "").strip().splitlines() if ln.strip()]
    if not lines:
        return "(no error text)"
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


def seconds_of(record: Record) -> float | None:
    """How long the trial took: the journaled wall time, else the trainer's seconds."""
    if record.seconds:
        return record.seconds
    return record.result.value("train_seconds")


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
    return out


def trial_table(records: Sequence[Record], objective_names: Sequence[str]) -> list[str]:
    """One line per record under a header."""
    extra = [c for c in ("params", "flops") if c not in objective_names]
    header = ["#", "status", *objective_names, *extra, "seconds"]
    rows = [header]
    for r in records:
        values = [human(r.result.value(n)) for n in (*objective_names, *extra)]
        rows.append([str(r.trial.number), r.result.status, *values, human(seconds_of(r), 3)])
    return _table(rows)


def describe_record(record: Record, objective_names: Sequence[str]) -> str:
    """``trial 7: accuracy 0.9611, params 12.3K, flops 1.2M``."""
    names = [*objective_names, *(c for c in ("params", "flops") if c not in objective_names)]
    parts = [f"{n} {human(record.result.value(n))}" for n in names]
    return f"trial {record.trial.number}: {', '.join(parts)}"


def print_run(run: Run, limit: int | None = None) -> None:
    """Print the run's settings, its trials, its best trial and its failures."""
    config = run.config
    settings = ", ".join(f"{k} {config[k]}" for k in _CONFIG_KEYS if k in config)
    print(f"run {run.path}" + (f": {settings}" if settings else ""))
    records = run.records()
    objectives = run.objectives
    names = [o.name for o in objectives]
    if not records:
        print("no finished trials yet")
        return
    shown = records[-limit:] if limit else records
    if len(shown) < len(records):
        print(f"(last {len(shown)} of {len(records)} trials)")
    for line in trial_table(shown, names):
        print(line)
    counts = count_statuses(r.result for r in records)
    print(f"{len(records)} trials: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    best = best_of(records, objectives[0])
    direction = "highest" if objectives[0].direction == "max" else "lowest"
    if best is None:
        print(f"best: none (no trial has a value for {objectives[0].name})")
    else:
        print(f"best ({direction} {objectives[0].name}): {describe_record(best, names)}")
    if len(objectives) > 1:
        front = pareto_front(records, objectives)
        print(f"pareto front: trials {', '.join(str(r.trial.number) for r in front) or 'none'}")
    failed = [r for r in records if r.result.status == "failed"]
    if failed:
        print("failures:")
        for r in failed:
            print(f"  trial {r.trial.number}: {error_line(r.result.error)}")


def print_summary(run: Run) -> None:
    """The end-of-search summary: counts, the run folder and the best trial."""
    records = run.records()
    objectives = run.objectives
    names = [o.name for o in objectives]
    counts = count_statuses(r.result for r in records)
    seconds = sum(seconds_of(r) or 0.0 for r in records)
    print(
        f"search finished: {len(records)} trials ("
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f"), {seconds:.1f} s of trials"
    )
    print(f"run folder: {run.path}")
    best = best_of(records, objectives[0])
    if best is None:
        print(f"best: none (no trial has a value for {objectives[0].name})")
    else:
        print(f"best {describe_record(best, names)}")
        print(f"best architecture: {run.path / 'best.json'}")
    if len(objectives) > 1:
        print(f"pareto front: {len(pareto_front(records, objectives))} trials in pareto.json")
    if (run.path / "report.html").is_file():
        print(f"report: {run.path / 'report.html'}")
    print(f"trials: archsearch show {run.path}")
