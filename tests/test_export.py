"""Export round trip: the exported program and the rebuilt model give the run's model outputs."""

from __future__ import annotations

import json

import pytest
import torch

from archsearch.api import search
from archsearch.export import export_run, load_export


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return search("deeparchitect", "random", budget=2, epochs=1, seed=1, out=out, progress=False)


def test_export_round_trip(tiny_run, tmp_path):
    out = export_run(tiny_run, tmp_path / "exp", retrain_epochs=1)
    info = json.loads((out / "export.json").read_text())
    assert info["trial"] == tiny_run.best().trial.number and info["metrics"]["accuracy"] > 0.1
    x = torch.randn(5, 1, 8, 8)
    rebuilt, program = load_export(out), load_export(out, program=True)
    with torch.no_grad():
        a, b = rebuilt(x), program(x)
    assert a.shape == (5, 10) and torch.allclose(a, b, atol=1e-5)


def test_export_untrained_and_errors(tiny_run, tmp_path):
    out = export_run(tiny_run, tmp_path / "init", trial=0, retrain_epochs=0)
    assert json.loads((out / "export.json").read_text())["epochs"] == 0
    with pytest.raises(ValueError, match="trial 99 is not in run"):
        export_run(tiny_run, tmp_path / "x", trial=99)
    with pytest.raises(ValueError, match="--retrain-epochs must be >= 0"):
        export_run(tiny_run, tmp_path / "x", retrain_epochs=-1)
    with pytest.raises(FileNotFoundError, match="not an export folder"):
        load_export(tmp_path)


def test_export_command_rejects_a_bad_device_in_one_line(tiny_run, tmp_path, capsys):
    from archsearch.cli import main

    assert (
        main(["export", str(tiny_run.path), "--out", str(tmp_path / "x"), "--device", "foo"]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert (
        err == "archsearch: error: --device 'foo' is not a device; use auto, cpu, cuda or cuda:N"
    )
    if not torch.cuda.is_available():
        argv = ["export", str(tiny_run.path), "--out", str(tmp_path / "x"), "--device", "cuda"]
        assert main(argv) == 2
        assert "this machine has no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_load_back_snippet_of_the_export_guide_runs(tiny_run, tmp_path, monkeypatch, capsys):
    import re
    from pathlib import Path

    guide = Path(__file__).resolve().parent.parent / "docs" / "export.md"
    (code,) = re.findall(r"```python\n(.*?)```", guide.read_text(), re.S)
    export_run(tiny_run, tmp_path / "best-model", retrain_epochs=0)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(guide), "exec"), {})
    assert capsys.readouterr().out.splitlines()[-1] == "True"
