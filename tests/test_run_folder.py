"""A run folder that defends itself: the lock, the journal checks, repair, JSON-only snapshots."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from archsearch import FunctionSpace
from archsearch.api import search
from archsearch.cli import main
from archsearch.journal import JOURNAL, REJECTED, JournalError
from archsearch.results import Run
from archsearch.runlock import RunLock, RunLocked
from archsearch.snapshot import SNAPSHOT

ROOT = Path(__file__).resolve().parents[1]


def _fn(c):
    c.choice("a", [0, 1, 2, 3])
    c.choice("b", [0, 1, 2, 3])
    c.int("w", 1, 50)


SPACE = FunctionSpace(_fn, name="tiny")


def score(arch):
    return {"accuracy": (arch["a"] * 7 + arch["b"] * 3 + arch["w"]) / 100.0}


def _search(tmp_path: Path, run_id: str, budget: int, seed: int = 1, **kw) -> Run:
    return search(
        SPACE,
        evaluator=score,
        budget=budget,
        seed=seed,
        out=tmp_path,
        run_id=run_id,
        progress=False,
        report=False,
        **kw,
    )


def _resume(path: Path, budget: int, **kw) -> Run:
    return search(
        SPACE, evaluator=score, resume=path, budget=budget, progress=False, report=False, **kw
    )


def _keys(run: Run) -> list[str]:
    return [r.trial.arch.key for r in run.records()]


def test_a_second_writer_is_refused_naming_the_holder(tmp_path: Path, capsys) -> None:
    run = _search(tmp_path, "r", 3)
    with RunLock(run.path):
        with pytest.raises(RunLocked, match=r"is being written by pid \d+ on .* since"):
            _resume(run.path, 6)
        code = main(["repair", str(run.path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is being written by pid" in err[0]
    assert [r.trial.number for r in run.records()] == [0, 1, 2]
    # Released: the same resume now goes through, and the lock file names nobody.
    _resume(run.path, 6)
    assert [r.trial.number for r in run.records()] == list(range(6))
    assert (run.path / "lock").read_text() == ""


GATED_RESUME = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_run_folder import SPACE, score
from archsearch.api import search

def gated(arch):
    while not Path({go!r}).exists():  # hold the run (and its lock) until the test says go
        time.sleep(0.02)
    return score(arch)

try:
    search(SPACE, evaluator=gated, resume={run!r}, budget=12, progress=False, report=False)
except ValueError as e:
    print("refused:", e)
    sys.exit(2)
"""


def test_two_concurrent_resumes_journal_each_trial_once(tmp_path: Path) -> None:
    run = _search(tmp_path, "r", 2)
    go = tmp_path / "go"
    script = tmp_path / "resume.py"
    script.write_text(
        GATED_RESUME.format(tests=str(ROOT / "tests"), run=str(run.path), go=str(go))
    )
    first = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while '"pid"' not in (run.path / "lock").read_text() and time.time() < deadline:
        time.sleep(0.05)  # the first resume holds the lock (it waits inside its first trial)
    second = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    go.touch()
    out = first.communicate(timeout=120)[0]
    assert (first.returncode, second.returncode) == (0, 2), (out, second.stdout)
    assert "is being written by pid" in second.stdout
    assert [r.trial.number for r in run.records()] == list(range(12))


def test_a_foreign_snapshot_is_ignored_and_the_resume_equals_the_whole_run(tmp_path: Path) -> None:
    whole = _search(tmp_path, "whole", 10)
    half = _search(tmp_path, "half", 4)
    other = _search(tmp_path, "other", 4, seed=2)  # same strategy and space, another run
    assert (other.path / SNAPSHOT).exists()
    shutil.copy(other.path / SNAPSHOT, half.path / SNAPSHOT)
    with pytest.warns(UserWarning, match="ignoring the strategy snapshot: it belongs to run"):
        _resume(half.path, 10)
    assert _keys(half) == _keys(whole)


def test_a_stale_snapshot_is_ignored(tmp_path: Path) -> None:
    whole = _search(tmp_path, "whole", 8)
    run = _search(tmp_path, "r", 4)
    saved = (run.path / SNAPSHOT).read_text()
    _resume(run.path, 6)
    (run.path / SNAPSHOT).write_text(saved)  # told 4; the journal has 6
    lines = (run.path / JOURNAL).read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"seconds"', b'"seconds" ', 1)  # another journal prefix
    (run.path / JOURNAL).write_bytes(b"".join(lines))
    with pytest.warns(UserWarning, match="first 4 lines are not the ones it was told"):
        _resume(run.path, 8)
    assert _keys(run) == _keys(whole)


def test_a_duplicated_journal_line_is_refused(tmp_path: Path) -> None:
    run = _search(tmp_path, "r", 4)
    lines = (run.path / JOURNAL).read_bytes().splitlines(keepends=True)
    (run.path / JOURNAL).write_bytes(b"".join(lines[:3] + [lines[0]] + lines[3:]))
    with pytest.raises(JournalError, match=r"line 4 repeats trial 0 of line 1"):
        _resume(run.path, 8)
    assert len(run.records()) == 5  # nothing was appended


def test_a_journal_of_another_structure_is_refused(tmp_path: Path) -> None:
    run = _search(tmp_path, "r", 3)
    other = FunctionSpace(lambda c: c.choice("depth", [1, 2]), name="tiny")
    with pytest.raises(JournalError, match="line 1 does not fit the run's space 'tiny'"):
        search(other, evaluator=score, resume=run.path, budget=5, progress=False, report=False)


def test_a_gap_in_the_numbers_is_refused(tmp_path: Path) -> None:
    run = _search(tmp_path, "r", 5)
    lines = (run.path / JOURNAL).read_bytes().splitlines(keepends=True)
    (run.path / JOURNAL).write_bytes(b"".join(lines[:2] + lines[3:]))
    with pytest.raises(JournalError, match=r"trial\(s\) 2 are missing from the journal"):
        _resume(run.path, 8)


def test_repair_sets_a_garbage_middle_line_aside_and_the_run_resumes(
    tmp_path: Path, capsys
) -> None:
    run = _search(tmp_path, "r", 5)
    lines = (run.path / JOURNAL).read_bytes().splitlines(keepends=True)
    lines[2] = b'{"number": 2, "arch": garb\x00age\n'
    (run.path / JOURNAL).write_bytes(b"".join(lines))
    with pytest.raises(JournalError, match="line 3 is corrupt.*archsearch repair"):
        _resume(run.path, 8)
    assert main(["show", str(run.path)]) == 2
    assert main(["repair", str(run.path), "--dry-run"]) == 0
    assert "line 3: not JSON" in capsys.readouterr().out
    assert len((run.path / JOURNAL).read_bytes().splitlines()) == 5  # the dry run kept it
    assert main(["repair", str(run.path)]) == 0
    out = capsys.readouterr().out
    assert "line 3: not JSON" in out and "1 line(s) moved to" in out
    assert (run.path / REJECTED).read_bytes() == lines[2]
    _resume(run.path, 8)
    numbers = [r.trial.number for r in run.records()]
    assert len(numbers) == 8 and len(set(numbers)) == 8 and 2 not in numbers
    assert main(["repair", str(run.path)]) == 0
    assert "nothing to repair" in capsys.readouterr().out


def test_a_pickle_in_a_run_folder_is_never_loaded(tmp_path: Path) -> None:
    run = _search(tmp_path, "r", 3)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    import pickle

    for name in ("strategy.pkl", "strategy.json", "searcher.pkl"):
        (run.path / name).write_bytes(pickle.dumps(Evil()))
    with pytest.warns(UserWarning, match="ignoring the strategy snapshot"):
        _resume(run.path, 5)
    assert not marker.exists()
    assert len(run.records()) == 5


def _loads_pickle(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    name = owner.id if isinstance(owner, ast.Name) else ""
    if name == "pickle" and node.func.attr in ("load", "loads", "Unpickler"):
        return True
    if name == "torch" and node.func.attr == "load":
        safe = [k for k in node.keywords if k.arg == "weights_only"]
        return not (safe and isinstance(safe[0].value, ast.Constant) and safe[0].value.value)
    return False


def test_no_code_path_unpickles_a_file() -> None:
    """Only ``strategy.restore`` unpickles, and only bytes made in memory by ``snapshot``."""
    found = []
    for folder in ("archsearch", "spaces", "solvers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if _loads_pickle(node):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == ["archsearch/strategy.py:" + _restore_line()], found


def _restore_line() -> str:
    text = (ROOT / "archsearch" / "strategy.py").read_text().splitlines()
    return str(next(i for i, line in enumerate(text, 1) if "pickle.loads(" in line))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--objectives", "accurcy"], "objective 'accurcy' is not a metric"),
        (["--space", ""], "unknown space ''"),
        (["--space", "nb201", "--space-opt", "table={bad}"], "missing column"),
        (["--space", "nasnt"], "unknown space 'nasnt' (did you mean 'nasnet'?)"),
        (["--strategy-opt", "temperature=2"], "strategy 'random' has no option 'temperature'"),
    ],
)
def test_bad_settings_exit_2_before_any_folder_or_training(
    tmp_path: Path, capsys, monkeypatch, argv, message
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    import archsearch.evaluate.trainer as trainer

    def no_training(*a, **k):
        raise AssertionError("a trial was trained")

    monkeypatch.setattr(trainer.Trainer, "__call__", no_training)
    out = tmp_path / "results"
    argv = [a.replace("{bad}", str(bad)) for a in argv]
    assert main(["search", "--out", str(out), "--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists() or not any(out.iterdir())


def test_resume_keeps_its_settings_on_the_cli_and_the_api(tmp_path: Path, capsys) -> None:
    run = _search(tmp_path, "r", 2)
    cfg = json.loads((run.path / "run.json").read_text())
    assert cfg["id"] and cfg["seed"] == 1
    with pytest.raises(ValueError, match="seed 9 differs from the resumed run's 1"):
        _resume(run.path, 4, seed=9)
    with pytest.raises(ValueError, match="epochs 7 differs from the resumed run's 3"):
        _resume(run.path, 4, epochs=7)
    assert len(run.records()) == 2
    _resume(run.path, 4, seed=1)  # the same value is no conflict; the budget extends
    assert len(run.records()) == 4
    assert json.loads((run.path / "run.json").read_text())["budget"] == 4


def test_the_lock_of_a_killed_writer_is_taken_over(tmp_path: Path) -> None:
    run = _search(tmp_path, "r", 2)
    code = textwrap.dedent(
        f"""
        import os
        from archsearch.runlock import RunLock
        RunLock({str(run.path)!r}).acquire()
        os._exit(0)  # dies holding the lock, without releasing it
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert "pid" in (run.path / "lock").read_text()
    with pytest.warns(UserWarning, match="took over a stale lock of pid"):
        _resume(run.path, 3)
    assert len(run.records()) == 3
