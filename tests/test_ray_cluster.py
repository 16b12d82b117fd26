"""A real two-node Ray cluster on one machine, its worker node lost in the middle of a search.

``ray start --head`` and a second ``ray start --address`` (both ``--block``, each in its own
process group, so the test can end exactly what it started), with token authentication on and a
token of the test's own; the search is the real CLI with ``--address``, training on digits. When
a trial is running on the worker node, that node's whole process group is killed (raylet, object
store, trial workers: a lost machine). The search must still finish with every trial journaled
exactly once, each ``ok``: the trials that died with the node ran again on the head.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

pytestmark = pytest.mark.slow  # two Ray nodes and a real search: about a minute
BUDGET = 6
RAY = [sys.executable, "-m", "ray.scripts.scripts"]
NODE = ["--object-store-memory=100000000", "--disable-usage-stats", "--block"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def tree(root: int) -> list[int]:
    """``root`` and its living descendants (Ray's workers are the raylet's children)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    found, grown = {root} & set(parents), True
    while grown:
        new = {pid for pid, parent in parents.items() if parent in found} - found
        found |= new
        grown = bool(new)
    return sorted(found)


def cmdlines(root: int) -> list[str]:
    lines = []
    for pid in tree(root):
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            pass
    return lines


def kill_tree(root: int, sig: int) -> None:
    for pid in tree(root):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.append(pid)
    return living


def end_node(proc: subprocess.Popen) -> None:
    """SIGTERM to the node's ``ray start --block`` (it stops its processes), then SIGKILL."""
    pids = tree(proc.pid)
    if alive([proc.pid]):
        os.kill(proc.pid, signal.SIGTERM)
    deadline = time.time() + 15
    while alive(pids) and time.time() < deadline:
        time.sleep(0.2)
    for pid in alive(pids):
        os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=10)


def start_node(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        proc = subprocess.Popen(
            RAY + ["start", *args, *NODE],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.time() + 120
    while "Ray runtime started" not in log.read_text():
        assert proc.poll() is None and time.time() < deadline, log.read_text()
        time.sleep(0.2)
    return proc


@pytest.fixture
def two_nodes(tmp_path):
    """(address, env for a driver, worker node process) of a fresh token-authenticated cluster."""
    secret = tmp_path / "secret"
    secret.mkdir(mode=0o700)
    token = secret / "auth_token"
    fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, os.urandom(32).hex().encode())
    os.close(fd)
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "OMP_NUM_THREADS": "1",
    }
    # A session folder of the test's own, in the system temp folder rather than pytest's
    # deeper tmp_path (Unix socket paths are short): the nodes' ray_current_cluster file
    # stays out of Ray's shared default session folder.
    session = Path(tempfile.mkdtemp(prefix="rc-"))
    env["RAY_TMPDIR"] = str(session)
    env.pop("RAY_AUTH_TOKEN", None)
    env.pop("RAY_ADDRESS", None)
    port = free_port()
    head = start_node(
        [
            "--head",
            f"--port={port}",
            "--num-cpus=1",
            "--include-dashboard=false",
            f"--ray-client-server-port={free_port()}",
        ],
        env,
        tmp_path / "head.log",
    )
    worker = None
    try:
        worker = start_node(
            [f"--address=127.0.0.1:{port}", "--num-cpus=2"], env, tmp_path / "worker.log"
        )
        yield f"127.0.0.1:{port}", env, worker
    finally:
        if worker is not None:
            end_node(worker)
        end_node(head)
        shutil.rmtree(session, ignore_errors=True)


def test_a_search_survives_losing_the_worker_node(two_nodes, tmp_path):
    address, env, worker = two_nodes
    out = tmp_path / "runs"
    argv = ["--executor", "ray", "--address", address, "--budget", str(BUDGET), "--epochs", "2"]
    argv += ["--max-failures", "2", "--out", str(out)]
    search = subprocess.Popen(
        [sys.executable, "-m", "archsearch.cli", "search", *argv, "--quiet", "--no-report"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    killed_running = False
    while search.poll() is None and time.time() < deadline:
        done = sum(len(j.read_bytes().splitlines()) for j in out.glob("*/trials.jsonl"))
        on_worker = [c for c in cmdlines(worker.pid) if "ImplicitFunc" in c]
        if done >= 1 and on_worker:
            kill_tree(worker.pid, signal.SIGKILL)  # the node is gone, mid-trial
            killed_running = True
            break
        time.sleep(0.1)
    assert killed_running, "no trial was running on the worker node while the search ran"
    stdout, stderr = search.communicate(timeout=600)
    assert search.returncode == 0, stderr
    assert f"search finished: {BUDGET} trials ({BUDGET} ok" in stdout

    (journal,) = out.glob("*/trials.jsonl")
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    numbers = [r["number"] for r in records]
    assert sorted(numbers) == list(range(BUDGET))  # every trial once: none lost, none twice
    assert all(r["result"]["status"] == "ok" for r in records)
    assert json.loads((journal.parent / "inflight.json").read_text()) == {"trials": []}
    assert not tree(worker.pid)
