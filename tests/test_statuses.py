"""One status count: ``count_statuses`` on a hand list, and no other counter in the package."""

from __future__ import annotations

import re
from pathlib import Path

import archsearch
from archsearch.strategy import STATUSES, Result, count_statuses


def test_count_statuses_on_a_hand_list():
    results = [
        Result(metrics={"accuracy": 0.5}),
        Result.failed("boom"),
        Result("pruned"),
        Result(metrics={"accuracy": 0.7}),
        Result.failed("again"),
        Result.failed("thrice"),
    ]
    counts = count_statuses(results)
    assert counts == {"ok": 2, "failed": 3, "pruned": 1}
    assert list(counts) == list(STATUSES)
    assert count_statuses([]) == {"ok": 0, "failed": 0, "pruned": 0}
    assert count_statuses(iter(results[:1])) == {"ok": 1, "failed": 0, "pruned": 0}


def test_no_module_counts_statuses_by_hand():
    root = Path(archsearch.__file__).parent
    counter = re.compile(r"sum\([^)]*\.status ==")
    copies = [
        str(p.relative_to(root)) for p in root.rglob("*.py") if counter.search(p.read_text())
    ]
    assert copies == [], f"status counters outside archsearch.strategy.count_statuses: {copies}"
