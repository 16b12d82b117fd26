"""A screenshot of the HTML report of a run with failed trials, rendered by headless Chromium.

Writes ``results/benchmarks/report_failed_trials.png`` (the top of the page: the progress and
cost figures, failed trials as red crosses along the bottom of each panel) and
``report_failed_trials.json`` (which trials failed, the page's failure boxes, the browser).
The run is made through the journal with fixed values (seeded), so the page is the same on
every machine but for the date it names.

    python benchmarks/report_screenshot.py
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from archsearch.arch import Architecture
from archsearch.report import write_report
from archsearch.results import Record, Run
from archsearch.strategy import Result, Trial

OUT = Path(__file__).resolve().parent.parent / "results" / "benchmarks"
FAILED = (3, 9, 10)
ERROR = (
    "Traceback (most recent call last):\n"
    '  File "trainer.py", line 212, in _run\n'
    "    loss.backward()\n"
    "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
)


def make_run(root: Path, n: int = 24) -> Run:
    """A finished run of ``n`` trials, trials FAILED failed (with a traceback)."""
    rng = random.Random(0)
    run = Run.create(root, "demo", {"space": "demo", "strategy": "random", "budget": n, "seed": 0})
    start = 1_700_000_000.0
    for i in range(n):
        seconds = rng.uniform(2, 6)
        start += seconds
        cost = {"params": rng.randint(2_000, 90_000), "flops": rng.randint(10**5, 10**7)}
        if i in FAILED:
            result = Result(status="failed", cost=cost, error=ERROR)
        else:
            result = Result(metrics={"accuracy": 0.5 + 0.45 * rng.random() ** 0.5}, cost=cost)
        run.append(Record(Trial(i, Architecture("demo", {"x": i})), result, start, seconds))
    run.write_summary()
    return run


def main() -> int:
    browser = shutil.which("chromium") or shutil.which("google-chrome")
    if browser is None:
        print("chromium is not installed", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    shot = OUT / "report_failed_trials.png"
    with tempfile.TemporaryDirectory() as tmp:
        run = make_run(Path(tmp))
        page = write_report(run)
        flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
        subprocess.run(
            [*flags, "--window-size=1100,1250", f"--screenshot={shot}", page.as_uri()],
            check=True,
            capture_output=True,
            timeout=180,
        )
        text = page.read_text()
    boxes = re.findall(r'<p class="failure"><b>trial (\d+)</b>: <code>([^<]*)</code>', text)
    record = {
        "screenshot": shot.name,
        "trials": 24,
        "failed_trials": list(FAILED),
        "failure_boxes": [{"trial": int(t), "error_line": e} for t, e in boxes],
        "tracebacks_folded": text.count("<details><summary>traceback</summary>"),
        "browser": subprocess.run(
            [browser, "--version"], capture_output=True, text=True
        ).stdout.strip(),
    }
    (OUT / "report_failed_trials.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
