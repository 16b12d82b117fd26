"""Signals and pipes of the command line, in real subprocesses.

SIGTERM (what ``kill``, systemd, Slurm and container runtimes send) stops a search as Ctrl-C
does: the journal keeps every finished trial, ``best.json`` and the report are written, the
lock is released, one line says how to resume, and the resume continues the run. A reader that
goes away early (``archsearch show RUN | head -1``) ends ``show`` quietly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archsearch.arch import Architecture
from archsearch.results import Record, Run
from archsearch.strategy import Result, Trial

# A CLI process with a registered space whose networks train in milliseconds on digits.
SCRIPT = """
import signal
import sys
import torch
from archsearch import FunctionSpace
from archsearch.registry import register_space
from archsearch.cli import main

def lin(choose):
    width = choose("width", [4, 8, 16])
    return lambda task: torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, width), torch.nn.ReLU(), torch.nn.Linear(width, 10)
    )

register_space("lin", "a linear probe")(lambda: FunctionSpace(lin, name="lin"))
# A shell's background job starts with SIGINT ignored; a terminal's Ctrl-C is what is meant.
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(main(sys.argv[1:]))
"""


def _cli(tmp_path: Path, *argv: str) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _journal(run: Path) -> list[dict]:
    path = run / "trials.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGTERM, 143, "terminated (SIGTERM)"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_signal_stops_a_search_cleanly_and_the_run_resumes(tmp_path, sig, code, word):
    proc = _cli(
        tmp_path,
        "search",
        "--space",
        "lin",
        "--budget",
        "500",
        "--epochs",
        "1",
        "--out",
        "runs",
        "--quiet",
        "--no-report",
    )
    deadline = time.monotonic() + 120
    runs = tmp_path / "runs"
    while time.monotonic() < deadline and proc.poll() is None:
        folders = list(runs.glob("*")) if runs.exists() else []
        if folders and len(_journal(folders[0])) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    (run,) = runs.iterdir()
    assert proc.returncode == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and word in lines[0], err
    assert f"archsearch search --resume {run.relative_to(tmp_path)}" in lines[0]
    assert "Traceback" not in err
    records = _journal(run)
    n = len(records)
    assert 3 <= n < 500
    assert [r["number"] for r in records] == list(range(n))  # every line whole, none repeated
    best = json.loads((run / "best.json").read_text())
    assert best["trials"] == n and best["number"] in range(n)
    resumed = _cli(
        tmp_path, "search", "--resume", str(run), "--budget", str(n + 2), "--quiet", "--no-report"
    )
    out, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    assert [r["number"] for r in _journal(run)] == list(range(n + 2))
    assert f"search finished: {n + 2} trials" in out


def _long_run(root: Path, n: int) -> Path:
    run = Run.create(root, "long", {"space": "deeparchitect", "strategy": "random", "budget": n})
    arch = Architecture("deeparchitect", {"width": 16})
    lines = []
    for i in range(n):
        result = Result(metrics={"accuracy": (i % 97) / 97}, cost={"params": 10 + i})
        lines.append(json.dumps(Record(Trial(i, arch), result, 1.0 + i, 1.0).to_json()))
    (run.path / "trials.jsonl").write_text("\n".join(lines) + "\n")
    return run.path


@pytest.mark.parametrize("unbuffered", [False, True])
def test_show_into_a_pipe_closed_early_exits_quietly(tmp_path, unbuffered):
    run = _long_run(tmp_path, 2400)
    env = dict(os.environ, PYTHONUNBUFFERED="1" if unbuffered else "")
    if not unbuffered:
        env.pop("PYTHONUNBUFFERED")
    proc = subprocess.Popen(
        [sys.executable, "-m", "archsearch", "show", str(run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `| head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert first.startswith(b"run ")
    assert err == "", err
    assert proc.returncode in (0, 128 + signal.SIGPIPE)


def test_show_through_head_in_a_shell(tmp_path):
    run = _long_run(tmp_path, 2400)
    cmd = f"{sys.executable} -m archsearch show {run} | head -1"
    res = subprocess.run(
        ["sh", "-c", cmd],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert res.stdout.startswith("run ") and len(res.stdout.splitlines()) == 1
    assert res.stderr == "", res.stderr
