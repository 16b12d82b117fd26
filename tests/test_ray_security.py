"""The local Ray instance lets no one in: every socket of a running search that is reachable
from outside refuses a request without the instance's token.

The oracle is the wire itself: each listening TCP socket of the Ray processes (the driver and
everything it started, found through ``/proc``) is asked, with a real gRPC client, a read-only
Ray RPC of each service that may live there, once without a token, once with a wrong one and
once with the right one; an HTTP endpoint gets a plain GET. A method a port does not serve
answers ``UNIMPLEMENTED`` whatever the token, so ``UNAUTHENTICATED`` without the token and an
answer with it show both that the port speaks Ray's protocol and that it checks the token.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import grpc  # ray[client], in the dev extra: a gRPC client independent of Ray's own
import pytest

from archsearch import FunctionSpace, Result
from archsearch.api import search
from archsearch.evaluate import ray_local

ray = pytest.importorskip("ray")

#: Read-only RPCs, one per Ray service that listens on TCP, and whether to call them with the
#: token too (the object manager's only RPCs move objects: asked without a token only).
PROBES = {
    "/ray.rpc.NodeInfoGcsService/GetClusterId": True,  # GCS server
    "/ray.rpc.NodeManagerService/GetSystemConfig": True,  # raylet
    "/ray.rpc.CoreWorkerService/NumPendingTasks": True,  # the driver and every worker
    "/ray.rpc.ObjectManagerService/Pull": False,  # the raylet's object manager
}


def flat(choose):
    choose("x", [1, 2])


class Held:
    """Marks that a trial started, then waits for the test to say go."""

    def __init__(self, gate: str) -> None:
        self.gate = gate

    def __call__(self, arch):
        Path(self.gate, f"started-{os.getpid()}").touch()
        deadline = time.time() + 120
        while not Path(self.gate, "go").exists() and time.time() < deadline:
            time.sleep(0.05)
        return Result(metrics={"accuracy": arch["x"] / 2})


def descendants(root: int) -> set[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat_line = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat_line.rsplit(")", 1)[1].split()[1])
    found, grown = {root}, True
    while grown:
        new = {pid for pid, parent in parents.items() if parent in found} - found
        found |= new
        grown = bool(new)
    return found


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with_fds = Path(f"/proc/{pid}/fd")
    for fd in with_fds.iterdir() if with_fds.exists() else ():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def decode(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net/tcp{,6} addresses: 32-bit words in host (little-endian) byte order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def listening(pids: set[int]) -> list[tuple[str, ipaddress._BaseAddress, int]]:
    """(process name, bound address, port) of every TCP socket in LISTEN state the pids hold."""
    owner = {inode: pid for pid in pids for inode in socket_inodes(pid)}
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] != "0A" or int(cols[9]) not in owner:  # 0A: TCP_LISTEN
                continue
            address, port = cols[1].split(":")
            name = Path(f"/proc/{owner[int(cols[9])]}/comm").read_text().strip()
            rows.append((name, decode(address), int(port, 16)))
    return rows


def grpc_code(target: str, method: str, token: str | None) -> str:
    metadata = () if token is None else (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(target) as channel:
        try:
            channel.unary_unary(method)(b"", timeout=5, metadata=metadata)
        except grpc.RpcError as error:
            return error.code().name
    return "OK"


def http_status(target: str, token: str | None) -> int:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(f"http://{target}/", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def probe(target: str, token: str) -> dict[str, object]:
    """How the port at ``target`` answers without, with a wrong and with the right token."""
    wrong = ("0" if token[0] != "0" else "1") + token[1:]
    codes = {
        method: (
            grpc_code(target, method, None),
            grpc_code(target, method, wrong),
            grpc_code(target, method, token) if with_token else None,
        )
        for method, with_token in PROBES.items()
    }
    if all(answers[0] == "UNAVAILABLE" for answers in codes.values()):  # not HTTP/2: HTTP
        return {"http": (http_status(target, None), http_status(target, token))}
    return codes


def test_a_running_search_lets_no_one_in_without_the_token(ray_session, tmp_path):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    token_file = Path(os.environ["RAY_AUTH_TOKEN_PATH"])
    token = token_file.read_text().strip()
    assert os.environ["RAY_AUTH_MODE"] == "token" and len(token) == 64
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600  # the user's own
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    assert token_file.stat().st_uid == os.getuid()

    gate = tmp_path / "gate"
    gate.mkdir()
    done: dict[str, object] = {}
    thread = threading.Thread(
        target=lambda: done.setdefault(
            "run",
            search(
                FunctionSpace(flat, name="flat"),
                "random",
                evaluator=Held(str(gate)),
                budget=2,
                executor="ray",
                executor_options={"concurrency": 2},
                out=tmp_path,
                run_id="held",
                progress=False,
                report=False,
            ),
        ),
        daemon=True,
    )
    thread.start()
    try:
        deadline = time.time() + 120
        while len(list(gate.glob("started-*"))) < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert len(list(gate.glob("started-*"))) == 2, "the trials never started"
        sockets = listening(descendants(os.getpid()))
        answers = {}
        for name, address, port in sockets:
            if address.is_loopback:
                continue  # reachable from this machine only
            host = "127.0.0.1" if address.is_unspecified else str(address)
            host = f"[{host}]" if ":" in host else host
            answers[(name, str(address), port)] = probe(f"{host}:{port}", token)
    finally:
        (gate / "go").touch()
        thread.join(120)
    assert len(done["run"].records()) == 2  # the search went on, trials journaled

    names = {name for name, *_ in sockets}
    assert {"gcs_server", "raylet"} <= names, names
    assert sum(name.startswith("ray::") for name in names) >= 1, names  # trial workers
    assert len(answers) >= 5, sockets
    for where, answer in answers.items():
        if "http" in answer:
            without, with_token = answer["http"]
            assert without == 401 and with_token != 401, (where, answer)
            continue
        served = {m: a for m, a in answer.items() if a[0] != "UNIMPLEMENTED"}
        assert served, (where, answer)  # the port serves one of Ray's services
        for method, (without, wrong, right) in served.items():
            assert without == wrong == "UNAUTHENTICATED", (where, method, answer)
            assert right in (None, "OK"), (where, method, answer)


def test_each_local_instance_gets_a_private_token_and_the_environment_back(monkeypatch):
    """local_cluster's bookkeeping, with ray.init replaced (the shared session stays as is)."""
    seen = []

    def init(**options):
        path = Path(os.environ["RAY_AUTH_TOKEN_PATH"])
        seen.append(
            {
                "mode": os.environ["RAY_AUTH_MODE"],
                "token": path.read_text(),
                "path": path,
                "file": stat.S_IMODE(path.stat().st_mode),
                "folder": stat.S_IMODE(path.parent.stat().st_mode),
                "env_token": os.environ.get("RAY_AUTH_TOKEN"),
                "options": options,
            }
        )

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    monkeypatch.setattr(ray, "get_runtime_context", lambda: type("C", (), {"gcs_address": "a"}))
    monkeypatch.setattr(ray_local, "_reload_auth_settings", lambda: None)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # the user's settings for another cluster
    monkeypatch.setenv("RAY_AUTH_TOKEN", "shared-secret")
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    for _ in range(2):
        with ray_local.local_cluster(num_cpus=1) as address:
            assert address == "a"
    first, second = seen
    assert first["mode"] == second["mode"] == "token"
    assert first["file"] == 0o600 and first["folder"] == 0o700
    assert first["env_token"] is None  # RAY_AUTH_TOKEN would override the file
    assert first["token"] != second["token"] and len(first["token"]) == 64
    assert first["options"] == {"address": "local", "num_cpus": 1}  # never another cluster
    assert not first["path"].parent.exists() and not second["path"].parent.exists()
    assert os.environ["RAY_AUTH_MODE"] == "token"  # the user's settings, back again
    assert os.environ["RAY_AUTH_TOKEN"] == "shared-secret"
    assert "RAY_AUTH_TOKEN_PATH" not in os.environ
    with pytest.raises(ValueError, match="starts a new instance"):
        with ray_local.local_cluster(address="auto"):
            pass
