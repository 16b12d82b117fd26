"""The runnable examples in examples/ work as documented."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_custom_space_example_searches_digits(tmp_path, monkeypatch, capsys):
    path = EXAMPLES / "custom_space.py"
    source = path.read_text()
    assert len(source.splitlines()) < 30
    for name in ("Or(", "Optional(", "Repeat(", 'D([16, 32, 48], name="width")'):
        assert name in source
    monkeypatch.setenv("BUDGET", "2")
    monkeypatch.setenv("EPOCHS", "2")
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tests share 2 cores with other work
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    (run,) = (tmp_path / "results").iterdir()
    trials = [json.loads(line) for line in (run / "trials.jsonl").read_text().splitlines()]
    assert len(trials) == 2
    assert all(t["arch"]["space"] == "my-convnet" for t in trials)
    assert all(t["result"]["status"] == "ok" for t in trials)
    assert max(t["result"]["metrics"]["accuracy"] for t in trials) > 0.5  # chance is 0.1
    # the shared width is one decision, whatever the number of cells
    assert all(sum(k == "width" for k in t["arch"]["decisions"]) == 1 for t in trials)
    assert f"run folder results/{run.name}; best " in capsys.readouterr().out
