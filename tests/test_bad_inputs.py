"""The error promise, command by command: one line naming the bad value, exit 2, nothing written.

Every case runs the real command line in its own process (:mod:`tests.cli_runner`: a fork
server, so a hundred cases cost seconds, not minutes) in its own empty folder, holding only
the inputs the case needs (a run folder, a file, a folder without ``run.json``, ...). Each must
exit with status 2, print exactly one line ``archsearch: error: ...`` on stderr holding the
given fragment (the bad value or what is allowed), no traceback, nothing on stdout, and leave
the folder exactly as it was. (``design`` and ``scale`` have their own tables.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archsearch.results import Record, Run
from archsearch.strategy import Result, Trial

HERE = Path(__file__).resolve().parent
BIG = "100000000000"

# (argv, fragment of the one error line). Names resolve in the case folder: RUN (a finished
# three-trial search run), NOTRUN (a folder without run.json), EMPTY (run.json is {}),
# BADJSON (run.json is not JSON), LIST (run.json is a list), AFILE (a plain file), BIN (a binary
# file), NOTARCH (a JSON object that is no architecture), EX (a finished expand run folder).
CASES: list[tuple[list[str], str]] = [
    # the command itself
    ([], "a command is required"),
    (["shw"], "invalid choice: 'shw'"),
    (["--bogus"], "--bogus"),
    (["spaces", "extra"], "unrecognized arguments: extra"),
    (["strategies", "--x"], "unrecognized arguments: --x"),
    # search: values refused while argv is parsed
    (["search", "--budget", "0"], "'0'"),
    (["search", "--budget", "-1"], "'-1'"),
    (["search", "--budget", "ten"], "'ten'"),
    (["search", "--budget", "2.5"], "'2.5'"),
    (["search", "--budget", "99999999999999999999"], "at most 10,000,000"),
    (["search", "--epochs", "0"], "'0'"),
    (["search", "--epochs", BIG], "at most 100,000"),
    (["search", "--epochs", "nan"], "'nan'"),
    (["search", "--seed", "-1"], "'-1'"),
    (["search", "--seed", "x"], "'x'"),
    (["search", "--seed", "99999999999"], "'99999999999'"),
    (["search", "--out", ""], "must name a folder, got ''"),
    (["search", "--out", "AFILE"], "'AFILE' is a file, not a folder"),
    (["search", "--out", "AFILE/sub"], "'AFILE' is a file, not a folder"),
    (["search", "--out", "/etc/passwd"], "'/etc/passwd' is a file"),
    (["search", "--space-opt", "max_cells"], "KEY=VALUE"),
    (["search", "--space-opt", "=3"], "KEY=VALUE"),
    (["search", "--strategy-opt", "population"], "KEY=VALUE"),
    (["search", "--space-opt", "max_cells=NaN"], "NaN and Infinity"),
    (["search", "--strategy-opt", "epsilon=Infinity"], "NaN and Infinity"),
    (["search", "--executor", "slurm"], "invalid choice: 'slurm'"),
    (["search", "--executor", "ray", "--concurrency", "0"], "'0'"),
    (["search", "--executor", "ray", "--cpus-per-trial", "0"], "'0'"),
    (["search", "--executor", "ray", "--cpus-per-trial", "nan"], "'nan'"),
    (["search", "--executor", "ray", "--gpus-per-trial", "-1"], "'-1'"),
    (["search", "--executor", "ray", "--gpus-per-trial", "inf"], "'inf'"),
    (["search", "--executor", "ray", "--max-failures", "-1"], "'-1'"),
    (["search", "--executor", "ray", "--scheduler", "hyperband"], "'hyperband'"),
    (["search", "--concurrency", "4"], "valid only with --executor ray"),
    (["search", "--address", "auto"], "valid only with --executor ray"),
    (["search", "--quiet", "--quiet2"], "--quiet2"),
    # search: names, options and objectives, checked before any folder exists
    (["search", "--space", "nope"], "unknown space 'nope'"),
    (["search", "--space", "deeparchitec"], "'deeparchitec'"),
    (["search", "--strategy", "randm"], "unknown strategy 'randm'"),
    (["search", "--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["search", "--objectives", "accuracy:up"], "direction 'up'"),
    (["search", "--objectives", "accuracy,accuracy"], "repeat"),
    (["search", "--objectives", ":min"], "empty objective name"),
    (["search", "--objectives", "bleu"], "objective 'bleu'"),
    (["search", "--space-opt", "cells=2"], "no option 'cells'"),
    (["search", "--space-opt", "max_cells=0"], "max_cells"),
    (["search", "--space-opt", 'max_cells="x"'], "max_cells"),
    (["search", "--strategy-opt", "depth=2"], "no option 'depth'"),
    (["search", "--strategy", "evolution", "--strategy-opt", "population=abc"], '"abc"'),
    (["search", "--strategy", "smbo", "--strategy-opt", "epsilon=x"], "epsilon"),
    (["search", "--strategy", "dedup", "--strategy-opt", "strategy=5"], "unknown strategy '5'"),
    (["search", "--strategy", "optuna", "--strategy-opt", "sampler=foo"], "'foo'"),
    (["search", "--strategy", "optuna", "--strategy-opt", "sampler_options=5"], "got 5"),
    (
        [
            "search",
            "--strategy",
            "optuna",
            "--strategy-opt",
            'sampler_options={"n_startup_trials":"x"}',
        ],
        'n_startup_trials must be an integer (default 10), got "x"',
    ),
    (
        ["search", "--strategy", "optuna", "--strategy-opt", 'sampler_options={"bogus":1}'],
        "no option 'bogus'",
    ),
    (["search", "--dataset", "synthetic", "--data-root", "/nonexistent"], "'/nonexistent'"),
    (["search", "--data-root", ""], "data_root must name a folder"),
    (["search", "--dataset", "cifar10", "--data-root", "NOTRUN"], "CIFAR-10 not found"),
    (["search", "--dataset", "cifar10", "--data-root", "/nonexistent"], "/nonexistent"),
    # search --resume
    (["search", "--resume", "nowhere"], "not a run folder (no run.json): nowhere"),
    (["search", "--resume", "NOTRUN"], "not a run folder"),
    (["search", "--resume", "EMPTY"], "EMPTY/run.json holds no run settings"),
    (["search", "--resume", "BADJSON"], "BADJSON/run.json is not valid JSON"),
    (["search", "--resume", "LIST"], "holds a list"),
    (["search", "--resume", "RUN", "--seed", "5"], "seed 5 differs"),
    (["search", "--resume", "RUN", "--space", "nasnet"], "space 'nasnet' differs"),
    (["search", "--resume", "RUN", "--epochs", "9"], "epochs 9 differs"),
    (["search", "--resume", "RUN", "--budget", "2"], "budget 2 is below the 3 trials"),
    (["search", "--resume", "RUN", "--budget", "99999999999999999999"], "at most 10,000,000"),
    (["search", "--resume", "RUN", "--objectives", "loss"], "objectives 'loss' differs"),
    (["search", "--resume", "RUN", "--space-opt", "max_cells=3"], "space_options"),
    (["search", "--resume", "RUN", "--strategy", "evolution"], "strategy 'evolution' differs"),
    # show, report, compare, repair
    (["show"], "the following arguments are required: RUN"),
    (["show", "nowhere"], "not a run folder (no run.json): nowhere"),
    (["show", "NOTRUN"], "not a run folder"),
    (["show", "AFILE"], "not a run folder"),
    (["show", "EMPTY"], "EMPTY/run.json holds no run settings"),
    (["show", "BADJSON"], "is not valid JSON"),
    (["show", "LIST"], "holds a list"),
    (["show", "RUN", "--limit", "0"], "'0'"),
    (["show", "RUN", "--limit", "x"], "'x'"),
    (["report", "nowhere"], "not a run folder"),
    (["report", "NOTRUN"], "not a run folder"),
    (["report", "EMPTY"], "EMPTY/run.json holds no run settings"),
    (["report", "BADJSON"], "is not valid JSON"),
    (["compare"], "the following arguments are required: runs"),
    (["compare", "NOTRUN"], "not a run folder (no run.json): NOTRUN"),
    (["compare", "RUN", "NOTRUN"], "NOTRUN"),
    (["compare", "RUN", "EMPTY"], "EMPTY/run.json holds no run settings"),
    (["compare", "RUN", "--out", "curves.txt"], "must end in .png"),
    (["compare", "RUN", "--out", ""], "--out must name a file"),
    (["compare", "RUN", "--out", "AFILE/c.png"], "'AFILE' is a file, not a folder"),
    (["repair", "nowhere"], "not a run folder"),
    (["repair", "EMPTY"], "EMPTY/run.json holds no run settings"),
    # export
    (["export", "RUN"], "the following arguments are required: --out"),
    (["export", "RUN", "--out", "/etc/passwd"], "'/etc/passwd' is a file, not a folder"),
    (["export", "RUN", "--out", ""], "--out must name a folder, got ''"),
    (["export", "RUN", "--out", "AFILE"], "'AFILE' is a file, not a folder"),
    (["export", "RUN", "--out", "RUN"], "is the run folder itself"),
    (["export", "RUN", "--out", "o", "--trial", "-1"], "'-1'"),
    (["export", "RUN", "--out", "o", "--trial", "x"], "'x'"),
    (["export", "RUN", "--out", "o", "--trial", "99"], "trial 99 is not in run"),
    (["export", "RUN", "--out", "o", "--retrain-epochs", "-1"], "'-1'"),
    (["export", "RUN", "--out", "o", "--retrain-epochs", BIG], "at most 100,000"),
    (["export", "RUN", "--out", "o", "--device", "quantum"], "--device 'quantum'"),
    (["export", "NOTRUN", "--out", "o"], "not a run folder"),
    (["export", "EMPTY", "--out", "o"], "EMPTY/run.json holds no run settings"),
    # build
    (["build", "nasnet"], "'archsearch build nasnet' needs --arch"),
    (["build", "nope", "--arch", "x"], "unknown space 'nope'"),
    (["build", "nasnet", "--arch", "nasnet-z"], "'nasnet-z'"),
    (["build", "nasnet", "--arch", "BIN"], "BIN is not a text file"),
    (["build", "nasnet", "--arch", "BADJSON/run.json"], "is not valid JSON"),
    (["build", "nasnet", "--arch", "LIST/run.json"], "holds a JSON list"),
    (["build", "nasnet", "--arch", "NOTARCH"], "NOTARCH: not an architecture record"),
    (["build", "nasnet", "--arch", "nasnet-a", "--cells", "0"], "'0'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--cells", "100000"], "at most 1,000"),
    (["build", "nasnet", "--arch", "nasnet-a", "--filters", "0"], "'0'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--filters", "x"], "'x'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--filters", "2400000"], "'2400000'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--filters", "25"], "25"),
    (
        ["build", "nasnet", "--arch", "nasnet-a", "--cells", "1000", "--filters", "240000"],
        "parameters; build makes at most",
    ),
    (["build", "nasnet", "--arch", "nasnet-a", "--layout", "mobile"], "'mobile'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--concat", "all"], "'all'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--stem-multiplier", "0"], "'0'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--stem-multiplier", "nan"], "'nan'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--classes", "0"], "'0'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--resolution", "-5"], "'-5'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--channels", "0"], "'0'"),
    (["build", "nasnet", "--arch", "nasnet-a", "--save", "/etc/passwd/x"], "'/etc/passwd' is a"),
    (["build", "nasnet", "--arch", "nasnet-a", "--save", ""], "--save must name a file"),
    (["build", "nasnet", "--arch", "nasnet-a", "--save", "NOTRUN"], "'NOTRUN' is a folder"),
    (["build", "nasnet", "--arch", "nasnet-a", "--space-opt", "foo=1"], "foo"),
    (["build", "nasnet", "--arch", "nasnet-a", "--space-opt", "foo"], "KEY=VALUE"),
    # expand
    (["expand", "--epochs", "0"], "'0'"),
    (["expand", "--epochs", BIG], "at most 100,000"),
    (["expand", "--blocks", "0"], "'0'"),
    (["expand", "--blocks", "100000"], "at most 1,000"),
    (["expand", "--width", "0"], "'0'"),
    (["expand", "--width", "4096", "--blocks", "100"], "over --max-params 50,000"),
    (["expand", "--tau", "nan"], "'nan'"),
    (["expand", "--tau", "-1"], "'-1'"),
    (["expand", "--alpha", "inf"], "'inf'"),
    (["expand", "--cooldown", "0"], "'0'"),
    (["expand", "--allowed", "all"], "'all'"),
    (["expand", "--widen-by", "0"], "'0'"),
    (["expand", "--layer-init", "zero"], "'zero'"),
    (["expand", "--layer-cost", "0"], "'0'"),
    (["expand", "--max-params", "0"], "'0'"),
    (["expand", "--max-width", "0"], "'0'"),
    (["expand", "--max-layers", "0"], "'0'"),
    (["expand", "--select", "best"], "'best'"),
    (["expand", "--fisher", "full"], "'full'"),
    (["expand", "--damping", "0"], "'0'"),
    (["expand", "--score-size", "0"], "'0'"),
    (["expand", "--batch-size", "0"], "'0'"),
    (["expand", "--lr", "nan"], "'nan'"),
    (["expand", "--lr", "0"], "'0'"),
    (["expand", "--lr", "-0.1"], "'-0.1'"),
    (["expand", "--seed", "-1"], "'-1'"),
    (["expand", "--device", "quantum"], "--device 'quantum'"),
    (["expand", "--out", ""], "must name a folder, got ''"),
    (["expand", "--out", "/etc/passwd"], "'/etc/passwd' is a file"),
    (["expand", "--run-id", "../../x"], "'../../x'"),
    (["expand", "--run-id", ""], "got ''"),
    (["expand", "--run-id", ".."], "got '..'"),
    (["expand", "--run-id", "a/b"], "'a/b'"),
    (["expand", "--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["expand", "--data-root", "/nonexistent"], "--data-root '/nonexistent' is not a folder"),
    (["expand", "--out", ".", "--run-id", "EX"], "give another --run-id"),
]


def _finished_run(root: Path) -> Path:
    """A three-trial search run of deeparchitect (archs drawn from the space, so it resumes)."""
    import numpy as np

    from archsearch.registry import get_space

    space = get_space("deeparchitect")
    config = {
        "space": "deeparchitect",
        "strategy": "random",
        "dataset": "digits",
        "budget": 3,
        "epochs": 1,
        "seed": 0,
        "objectives": ["accuracy:max"],
        "evaluator": "default",
    }
    run = Run.create(root, "RUN", config)
    rng = np.random.default_rng(0)
    for i in range(3):
        result = Result(metrics={"accuracy": 0.5 + i / 10}, cost={"params": 100, "flops": 1000})
        run.append(Record(Trial(i, space.sample(rng)), result, finished=1.0 + i, seconds=1.0))
    run.write_summary()
    return run.path


def _inputs(root: Path) -> None:
    (root / "NOTRUN").mkdir()
    for name, text in (("EMPTY", "{}"), ("BADJSON", "{not json"), ("LIST", "[]")):
        (root / name).mkdir()
        (root / name / "run.json").write_text(text)
    (root / "AFILE").write_text("a file\n")
    (root / "BIN").write_bytes(b"\xff\xfe\x00\x01binary")
    (root / "NOTARCH").write_text(json.dumps({"space": "nasnet"}))
    Run.create(root, "EX", {"command": "expand", "space": "expanding"})


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def _env(data: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        ARCHSEARCH_DATA=str(data),  # no dataset files anywhere the cases look
        CUDA_VISIBLE_DEVICES="",
        PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
    )
    return env


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> list[tuple[list[str], str, dict, bool]]:
    """Run every case (each in its own folder and process); keep what each left behind."""
    base = tmp_path_factory.mktemp("bad_inputs")
    template = base / "template"
    template.mkdir()
    _inputs(template)
    _finished_run(template)
    import shutil

    folders = []
    for i in range(len(CASES)):
        folder = base / f"c{i:03d}" / "cwd"
        shutil.copytree(template, folder, symlinks=True)
        folders.append(folder)
    before = [_snapshot(f) for f in folders]
    lines = "".join(
        json.dumps({"argv": a, "cwd": str(f)}) + "\n" for (a, _), f in zip(CASES, folders)
    )
    proc = subprocess.run(
        [sys.executable, str(HERE / "cli_runner.py")],
        input=lines,
        capture_output=True,
        text=True,
        env=_env(base / "no-data"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(CASES), proc.stderr[-3000:]
    names = sorted(p.name for p in base.iterdir())  # nothing written beside the case folders
    assert names == sorted(["template", *(f.parent.name for f in folders)]), names
    slow = sorted(((r["seconds"], a) for (a, _), r in zip(CASES, results)), reverse=True)
    print("slowest cases:", slow[:8])
    out = []
    for (argv, fragment), folder, snap, result in zip(CASES, folders, before, results):
        unchanged = _snapshot(folder) == snap and [p.name for p in folder.parent.iterdir()] == [
            "cwd"
        ]
        out.append((argv, fragment, result, unchanged))
    return out


def test_the_table_holds_over_a_hundred_cases_across_every_command():
    assert len(CASES) >= 100
    commands = {argv[0] for argv, _ in CASES if argv and not argv[0].startswith("-")}
    expected = {"search", "show", "report", "compare", "repair", "export", "build", "expand"}
    assert expected | {"spaces", "strategies"} <= commands | {"shw"}


def test_every_bad_input_is_one_line_exit_2_and_leaves_nothing(outcomes):
    wrong = []
    for argv, fragment, result, unchanged in outcomes:
        lines = result["err"].strip().splitlines()
        problems = []
        if result["code"] != 2:
            problems.append(f"exit {result['code']}")
        if len(lines) != 1 or not lines[0].startswith("archsearch: error: "):
            problems.append(f"{len(lines)} stderr lines")
        if "Traceback" in result["err"]:
            problems.append("traceback")
        if lines and fragment not in lines[0]:
            problems.append(f"no {fragment!r}")
        if result["out"]:
            problems.append("stdout")
        if not unchanged:
            problems.append("folder changed")
        if problems:
            wrong.append(f"{argv}: {', '.join(problems)}: {result['err'].strip()[-300:]}")
    assert not wrong, "\n".join(wrong)


def test_values_refused_by_argv_parsing_fail_before_torch_is_imported(tmp_path):
    """A typo costs the interpreter's start-up only: no torch, no space, no data."""
    argvs = [
        ["search", "--budget", "0"],
        ["search", "--epochs", BIG],
        ["search", "--out", ""],
        ["expand", "--lr", "nan"],
        ["build", "nasnet", "--arch", "x", "--cells", "100000"],
        ["show", "RUN", "--limit", "0"],
    ]
    code = (
        "import sys\n"
        "from archsearch.cli import main\n"
        "import contextlib, io\n"
        f"for argv in {argvs!r}:\n"
        "    try:\n"
        "        with contextlib.redirect_stderr(io.StringIO()):\n"
        "            main(argv)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 2, (argv, e.code)\n"
        "print(sorted(m for m in ('torch', 'optuna', 'ray') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]", proc.stdout


def test_console_script_and_python_m_give_the_same_one_line(tmp_path):
    """The fork server above runs ``main`` as the console script does; check two for real."""
    for argv in (
        [sys.executable, "-m", "archsearch", "search", "--out", ""],
        [sys.executable, "-m", "archsearch", "export", "nowhere", "--out", "o"],
    ):
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert lines[0].startswith("archsearch: error: ") and not proc.stdout
    assert list(tmp_path.iterdir()) == []
