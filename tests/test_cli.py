"""The ``archsearch`` command line: listings, ``show``, errors (one line, exit 2), plugins."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from archsearch import registry
from archsearch.arch import Architecture
from archsearch.cli import main
from archsearch.results import Record, Run
from archsearch.strategy import Result, Trial


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``main(argv)`` in-process; argparse's own exits are turned into return codes."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("archsearch: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def make_run(tmp_path, objectives: str = "accuracy") -> Run:
    """A run folder with three finished trials (ok, failed, ok) written through the journal."""
    run = Run.create(
        tmp_path,
        "demo",
        {"space": "deeparchitect", "strategy": "random", "budget": 3, "objectives": objectives},
    )
    arch = Architecture("deeparchitect", {"width": 16})
    results = [
        Result(metrics={"accuracy": 0.71, "loss": 0.9}, cost={"params": 12345, "flops": 2.5e6}),
        Result.failed(
            "Traceback (most recent call last):\n  File 'x.py', line 1\n"
            "RuntimeError: CUDA out of memory\n"
        ),
        Result(metrics={"accuracy": 0.93, "loss": 0.3}, cost={"params": 45678, "flops": 9e6}),
    ]
    for i, result in enumerate(results):
        run.append(Record(Trial(i, arch), result, finished=1.0 + i, seconds=2.5))
    return run


def test_spaces_lists_names_with_descriptions(capsys):
    code, out, _ = run_cli(capsys, "spaces")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "deeparchitect" in lines and "da-resnet" in lines
    assert "Or/Optional/Repeat" in lines["deeparchitect"]


def test_strategies_lists_random(capsys):
    code, out, _ = run_cli(capsys, "strategies")
    assert code == 0
    assert any(line.startswith("random ") and "uniform" in line for line in out.splitlines())


def test_show_prints_trials_best_and_failures(tmp_path, capsys):
    run = make_run(tmp_path)
    code, out, _ = run_cli(capsys, "show", str(run.path))
    assert code == 0
    lines = out.splitlines()
    assert "space deeparchitect" in lines[0] and "strategy random" in lines[0]
    header = lines[1].split()
    assert header == ["#", "status", "accuracy", "params", "flops", "seconds"]
    assert lines[2].split() == ["0", "ok", "0.71", "12.3K", "2.5M", "2.5"]
    assert lines[3].split()[:3] == ["1", "failed", "-"]
    assert "3 trials: 2 ok, 1 failed, 0 pruned" in out
    assert "best (highest accuracy): trial 2: accuracy 0.93" in out
    assert "trial 1: RuntimeError: CUDA out of memory" in out


def test_show_with_several_objectives_names_the_pareto_front(tmp_path, capsys):
    run = make_run(tmp_path, objectives="accuracy,params:min")
    code, out, _ = run_cli(capsys, "show", str(run.path), "--limit", "2")
    assert code == 0
    assert "(last 2 of 3 trials)" in out
    assert "pareto front: trials 0, 2" in out


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["search", "--space", "deeparchitct"], ["unknown space", "did you mean 'deeparchitect'"]),
        (["search", "--strategy", "randm"], ["unknown strategy 'randm'", "known: ", "random"]),
        (["search", "--budget", "0"], ["--budget", "positive integer", "'0'"]),
        (["search", "--budget", "ten"], ["--budget", "'ten'"]),
        (["search", "--epochs", "-1"], ["--epochs"]),
        (["search", "--space-opt", "max_cells"], ["--space-opt", "KEY=VALUE"]),
        (["search", "--space-opt", "cells=2"], ["no option 'cells'", "max_cells"]),
        (["search", "--space-opt", "max_cells=0"], ["max_cells must be an integer in [1, 16]"]),
        (["search", "--strategy-opt", "depth=2"], ["strategy 'random' has no option 'depth'"]),
        (["search", "--objectives", "accuracy:up"], ["direction 'up'", "max or min"]),
        (
            ["search", "--strategy", "evolution", "--strategy-opt", "population=abc"],
            ["option population must be an integer", '"abc"'],
        ),
        (
            ["search", "--strategy", "smbo", "--strategy-opt", "epsilon=x"],
            ["epsilon must be a number"],
        ),
        (["search", "--concurrency", "4"], ["--concurrency", "--executor ray"]),
        (
            ["search", "--strategy", "dedup", "--strategy-opt", "strategy=5"],
            ["unknown strategy '5'; known: "],
        ),
        (["search", "--out", "/dev/null/x"], ["is a file, not a folder", "/dev/null/x"]),
        (
            ["search", "--space", "cnn", "--space-opt", "foo=1"],
            ["space 'cnn' has no option 'foo'; options: stages, family, widths"],
        ),
        (["search", "--executor", "slurm"], ["invalid choice: 'slurm'"]),
        (["search", "--executor", "ray", "--cpus-per-trial", "0"], ["--cpus-per-trial"]),
        (["search", "--executor", "ray", "--gpus-per-trial", "-1"], ["--gpus-per-trial"]),
        (["search", "--executor", "ray", "--scheduler", "hyperband"], ["'hyperband'", "asha"]),
        (["search", "--resume", "no/such/run"], ["not a run folder", "no/such/run"]),
        (["show", "no/such/run"], ["not a run folder", "no/such/run"]),
        (["shw"], ["invalid choice: 'shw'", "show"]),
        ([], ["a command is required", "search"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, fragments):
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, *fragments)


def test_missing_cifar_files_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "data").mkdir()  # a folder without the files (a missing folder: its own error)
    argv = ["search", "--dataset", "cifar10", "--data-root", str(tmp_path / "data")]
    code, _, err = run_cli(capsys, *argv, "--out", str(tmp_path / "runs"), "--quiet")
    assert_one_line_error(code, err, "CIFAR-10 not found", "cifar-10-batches-py", "--data-root")


def test_corrupt_journal_line_is_a_one_line_error(tmp_path, capsys):
    run = make_run(tmp_path)
    lines = (run.path / "trials.jsonl").read_text().splitlines(keepends=True)
    lines[0] = "{not json}\n"
    (run.path / "trials.jsonl").write_text("".join(lines))
    code, _, err = run_cli(capsys, "show", str(run.path))
    assert_one_line_error(code, err, "line 1 is corrupt")


def test_console_script_exit_status_in_a_subprocess(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "archsearch.cli", "search", "--space", "nasnett"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown space 'nasnett'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_plugin_entry_point_registers_a_space(tmp_path, monkeypatch, capsys):
    """A distribution on sys.path with an ``archsearch.plugins`` entry point adds a space."""
    (tmp_path / "myplugin.py").write_text(
        textwrap.dedent(
            '''
            from archsearch import FunctionSpace, register_space

            @register_space("plugin-space", description="a space from a plugin")
            def plugin_space(depth: int = 2):
                """A define-by-run space shipped by a third-party distribution."""
                return FunctionSpace(lambda choose: choose("width", [8, 16]), name="plugin-space")
            '''
        )
    )
    info = tmp_path / "myplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[archsearch.plugins]\nmyplugin = myplugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_entries", {k: dict(v) for k, v in registry._entries.items()})
    monkeypatch.delitem(sys.modules, "myplugin", raising=False)

    code, out, _ = run_cli(capsys, "spaces")
    assert code == 0
    assert any(line.split()[0] == "plugin-space" for line in out.splitlines())
    assert "a space from a plugin" in out
    assert registry.get_space("plugin-space").name == "plugin-space"
    code, _, err = run_cli(capsys, "search", "--space", "plugin-space", "--space-opt", "wide=1")
    assert_one_line_error(code, err, "space 'plugin-space' has no option 'wide'", "depth")


@pytest.fixture
def one_thread():
    """Train with one thread: the tests share 2 cores with other work."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_search_then_show_then_resume(tmp_path, capsys, one_thread):
    code, out, err = run_cli(
        capsys,
        *("search", "--space", "deeparchitect", "--strategy", "random", "--budget", "2"),
        *("--epochs", "1", "--out", str(tmp_path), "--quiet", "--space-opt", "max_cells=1"),
        "--no-report",
    )
    assert code == 0, err
    (path,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert "search finished: 2 trials" in out
    assert f"run folder: {path}" in out
    assert "best trial " in out and "accuracy" in out
    run = Run.open(path)
    assert run.config["space_options"] == {"max_cells": 1}
    assert len(run.records()) == 2 and (path / "best.json").is_file()

    code, out, err = run_cli(capsys, "search", "--resume", str(path), "--budget", "3", "--quiet")
    assert (path / "report.html").is_file()
    assert code == 0, err
    numbers = [r.trial.number for r in Run.open(path).records()]
    assert numbers == [0, 1, 2]

    code, _, err = run_cli(capsys, "search", "--resume", str(path), "--space", "da-resnet")
    assert_one_line_error(code, err, "space 'da-resnet' differs", "'deeparchitect'")
    code, _, err = run_cli(capsys, "search", "--resume", str(path), "--epochs", "4")
    assert_one_line_error(code, err, "epochs 4 differs", "1")
    code, _, err = run_cli(capsys, "search", "--resume", str(path), "--objectives", "loss")
    assert_one_line_error(code, err, "objectives 'loss' differs")

    code, out, _ = run_cli(capsys, "show", str(path))
    assert code == 0
    assert "3 trials: " in out and "best (highest accuracy): trial " in out


def test_summary_names_run_folder_best_and_pareto_front(tmp_path, capsys):
    from archsearch.runview import print_summary

    run = make_run(tmp_path, objectives="accuracy,params:min")
    print_summary(run)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "search finished: 3 trials (2 ok, 1 failed, 0 pruned), 7.5 s of trials"
    assert out[1] == f"run folder: {run.path}"
    assert out[2] == "best trial 2: accuracy 0.93, params 45.7K, flops 9M"
    assert "pareto front: 2 trials in pareto.json" in out


def test_command_entries_are_added_and_their_errors_are_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "hello_cmd.py").write_text(
        textwrap.dedent(
            """
            def register(subparsers):
                p = subparsers.add_parser("hello", help="say hello")
                p.add_argument("--name", default="world")
                p.set_defaults(func=run)


            def run(args):
                if args.name == "nobody":
                    raise KeyError("no one called 'nobody'; try --name NAME")
                if args.name == "typo":
                    greet(nme="typo")
                if args.name == "bug":
                    return 1 + "1"
                print(f"hello {args.name}")
                return 0


            def greet(name):
                return name
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.load_builtins()
    monkeypatch.setattr(registry, "_entries", {k: dict(v) for k, v in registry._entries.items()})
    monkeypatch.delitem(sys.modules, "hello_cmd", raising=False)
    registry.register_lazy("command", "hello", "hello_cmd:register", "say hello")
    code, out, _ = run_cli(capsys, "hello", "--name", "you")
    assert (code, out) == (0, "hello you\n")
    code, _, err = run_cli(capsys, "hello", "--name", "nobody")
    assert_one_line_error(code, err, "no one called 'nobody'; try --name NAME")
    code, _, err = run_cli(capsys, "hello", "--name", "typo")
    assert_one_line_error(code, err, "unexpected keyword argument 'nme'", "K=V options")
    with pytest.raises(TypeError, match="unsupported operand"):  # a bug keeps its traceback
        main(["hello", "--name", "bug"])
    code, _, err = run_cli(capsys, "hello", "--nme", "x")
    assert_one_line_error(code, err, "unrecognized arguments: --nme x")


@pytest.mark.slow
def test_search_on_ray_with_asha(tmp_path, capsys, monkeypatch, one_thread):
    argv = ["search", "--executor", "ray", "--budget", "2", "--epochs", "2", "--concurrency", "2"]
    argv += ["--cpus-per-trial", "1", "--scheduler", "asha", "--out", str(tmp_path), "--quiet"]
    code, out, err = run_cli(capsys, *argv, "--no-report")
    assert code == 0, err
    (path,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    run = Run.open(path)
    assert run.config["executor"] == "ray"
    assert run.config["executor_options"]["scheduler"] == "asha"
    assert len(run.records()) == 2 and "search finished: 2 trials" in out


def test_ctrl_c_during_a_search_exits_130_with_one_line(monkeypatch, capsys):
    import archsearch.api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(archsearch.api, "search", interrupted)
    code, _, err = run_cli(capsys, "search", "--budget", "1", "--quiet")
    assert code == 130
    assert err == "archsearch: interrupted; the run folder keeps every finished trial\n"


def test_a_warning_is_one_line_without_source(tmp_path, capsys):
    import numpy as np

    from archsearch.registry import lookup

    config = {"space": "deeparchitect", "strategy": "random", "dataset": "digits"}
    run = Run.create(tmp_path, "r", {**config, "budget": 1, "epochs": 1, "seed": 0})
    arch = lookup("space", "deeparchitect")().sample(np.random.default_rng(0))
    run.append(Record(Trial(0, arch), Result(metrics={"accuracy": 0.5}), 1.0, 1.0))
    with open(run.path / "trials.jsonl", "a") as f:
        f.write('{"number": 1, "ar')
    code, out, err = run_cli(capsys, "search", "--resume", str(run.path), "--quiet", "--no-report")
    assert code == 0, err
    assert err.splitlines() == [
        f"archsearch: warning: {run.path}: dropped a truncated last journal line (17 bytes); "
        "the run was killed while writing it"
    ]


def test_a_missing_nb201_table_leaves_no_run_folder(tmp_path, capsys):
    table = str(tmp_path / "missing.csv")
    argv = ["search", "--space", "nb201", "--space-opt", f"table={table}", "--out", str(tmp_path)]
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, "NAS-Bench-201 table not found", "missing.csv")
    assert list(tmp_path.iterdir()) == []


def test_progress_off_a_terminal_is_whole_lines(capsys):
    """A log gets a line per trial (small budgets) or per 5 %, no carriage returns, one end."""
    import io

    from archsearch.progress import ProgressBar
    from archsearch.strategy import Objective

    arch = Architecture("deeparchitect", {"width": 16})
    for total, expected in ((5, 5), (100, 20)):
        stream = io.StringIO()
        bar = ProgressBar(total, 0, Objective("accuracy"), None, stream=stream)
        for i in range(total):
            result = Result.failed("boom") if i == 1 else Result(metrics={"accuracy": i / total})
            bar(Record(Trial(i, arch), result))
        bar.close()
        text = stream.getvalue()
        lines = text.splitlines()
        assert "\r" not in text and len(lines) == expected, text
        assert lines[-1].startswith(f"archsearch: trials {total}/{total} (100%), 1 failed")
        assert f"best accuracy={(total - 1) / total:.4g}" in lines[-1]
        assert all("trials" in line for line in lines)
