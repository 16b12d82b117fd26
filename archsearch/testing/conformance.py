"""Conformance checks every space and every strategy must pass.

Like optuna's ``testing`` package, these ship inside the library so that a plugin's space or
strategy can be checked with the same suite: ``check_space(space)`` and
``check_strategy(StrategyClass, space)`` raise ``AssertionError`` with a message on the first
violation. ``tests/test_conformance.py`` runs them for every registered pair.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from archsearch.arch import Architecture, InvalidArchitecture
from archsearch.params import Choice, Float, Int
from archsearch.space import Space, Task
from archsearch.strategy import Exhausted, Result, Strategy, Trial, restore

if TYPE_CHECKING:
    import torch

DEFAULT_TASK = Task((1, 8, 8), 10)


def fake_result(arch: Architecture) -> Result:
    """A deterministic pseudo-evaluation: a function of the architecture's key only."""
    h = int(arch.key, 16)
    return Result(
        metrics={"accuracy": (h % 10_007) / 10_007, "latency_ms": 1 + (h // 10_007) % 997 / 10},
        cost={"params": float(1000 + h % 100_000), "flops": float(h % 1_000_003)},
    )


def _roundtrip(arch: Architecture) -> Architecture:
    return Architecture.from_json(json.loads(json.dumps(arch.to_json())))


def _bad_value(param) -> object:
    if isinstance(param, Choice):
        return "__not-an-option__"
    if isinstance(param, Int):
        return param.high + param.step
    if isinstance(param, Float):
        return param.high + 1.0 + abs(param.high)
    return object()


def check_space(
    space: Space, n: int = 5, seed: int = 0, build: bool = True, task: Task | None = None
) -> None:
    """Sampling is seeded, records validate and round-trip, bad values fail, models build and replay."""
    task = task or space.conformance_task or DEFAULT_TASK
    a = [space.sample(np.random.default_rng(seed)) for _ in range(2)]
    assert a[0] == a[1], f"{space.name}: the same seed gave different architectures"
    rng = np.random.default_rng(seed)
    for i in range(n):
        arch = space.sample(rng)
        assert arch.space == space.name, f"{space.name}: sampled record names space {arch.space!r}"
        assert space.validate(arch) == arch, (
            f"{space.name}: a sampled architecture does not validate"
        )
        assert _roundtrip(arch) == arch and _roundtrip(arch).key == arch.key, (
            "JSON round trip changed the record"
        )
        assert space.next_param(arch.decisions) is None, (
            f"{space.name}: a complete record has an open decision"
        )
        params = space.params(arch)
        assert [p.name for p in params] == list(arch.decisions), (
            "params() disagrees with the record's order"
        )
        first = params[0]
        try:
            space.validate(arch.replace(**{first.name: _bad_value(first)}))
        except InvalidArchitecture as e:
            assert first.name in str(e), (
                f"{space.name}: the error does not name '{first.name}': {e}"
            )
        else:
            raise AssertionError(
                f"{space.name}: an out-of-domain value of '{first.name}' was accepted"
            )
        if build and i < 2:
            _check_build(space, arch, task)


def _check_build(space: Space, arch: Architecture, task: Task) -> None:
    import torch

    torch.manual_seed(0)
    m1 = space.build(arch, task)
    _check_replay(space, m1, arch, task)
    n1 = sum(p.numel() for p in m1.parameters())
    m1.eval()
    with torch.no_grad():
        y = m1(torch.randn(2, *task.input_shape))
    assert tuple(y.shape) == (2, task.num_classes), f"{space.name}: output shape {tuple(y.shape)}"
    cx = space.complexity(arch, task)
    if cx is not None and "params" in cx:
        assert int(cx["params"]) == n1, (
            f"{space.name}: analytic params {cx['params']} != built {n1}"
        )


def _check_replay(space: Space, model: torch.nn.Module, arch: Architecture, task: Task) -> None:
    """The JSON record alone rebuilds ``model``: with its weights loaded, the outputs agree."""
    import torch

    torch.manual_seed(1)  # another seed: only the loaded weights may make the outputs agree
    replayed = space.build(_roundtrip(arch), task)
    try:
        replayed.load_state_dict(model.state_dict())
    except RuntimeError as e:
        raise AssertionError(f"{space.name}: replay built a different structure: {e}") from e
    x = torch.randn(2, *task.input_shape, generator=torch.Generator().manual_seed(0))
    model.eval(), replayed.eval()
    with torch.no_grad():
        want, got = model(x), replayed(x)
    torch.testing.assert_close(
        got, want, msg=lambda m: f"{space.name}: the replayed model computes otherwise: {m}"
    )


def drive(
    strategy: Strategy, n: int, evaluate: Callable[[Architecture], Result]
) -> list[tuple[Trial, Result]]:
    """Ask, evaluate and tell ``n`` trials in turn (fewer if the strategy is exhausted)."""
    out = []
    for _ in range(n):
        try:
            trial = strategy.ask()
        except Exhausted:
            break
        result = evaluate(trial.arch)
        strategy.tell(trial, result)
        out.append((trial, result))
    return out


def _with_failures(arch: Architecture) -> Result:
    h = int(arch.key, 16)
    if h % 5 == 0:
        return Result.failed("RuntimeError: injected failure")
    r = fake_result(arch)
    if h % 5 == 1:
        r.metrics["accuracy"] = math.nan
    return r


def check_strategy(
    cls: Callable[..., Strategy],
    space: Space,
    n: int = 12,
    seed: int = 3,
    objectives: object = None,
) -> None:
    """Asks are valid and replayable, seeded, robust to failures/NaN, and resumable."""
    make = lambda: cls(space, objectives=objectives, seed=seed)  # noqa: E731
    run1 = drive(make(), n, _with_failures)
    run2 = drive(make(), n, _with_failures)
    name = getattr(cls, "__name__", str(cls))
    assert run1, f"{name} on {space.name}: asked nothing"
    for (t1, _), (t2, _) in zip(run1, run2):
        assert t1.arch == t2.arch, f"{name} on {space.name}: the same seed gave different trials"
    numbers = [t.number for t, _ in run1]
    assert len(set(numbers)) == len(numbers), f"{name}: trial numbers repeat: {numbers}"
    for t, _ in run1:
        assert space.validate(t.arch) == t.arch, f"{name}: asked an invalid architecture"
        assert _roundtrip(t.arch) == t.arch
    # Snapshot mid-run, restore, and continue: the same trials as the uninterrupted run.
    k = max(1, len(run1) // 2)
    s = make()
    head = drive(s, k, _with_failures)
    resumed = restore(s.snapshot(), space)
    tail = drive(resumed, len(run1) - k, _with_failures)
    got = [t.arch for t, _ in head + tail]
    want = [t.arch for t, _ in run1]
    assert got == want, (
        f"{name} on {space.name}: a restored snapshot did not continue the same search"
    )
    # Replaying the journal into a fresh strategy continues the same search too.
    fresh = make()
    fresh.replay(run1[:k])
    tail = drive(fresh, len(run1) - k, _with_failures)
    got = [t.arch for t, _ in run1[:k]] + [t.arch for t, _ in tail]
    assert got == want, f"{name} on {space.name}: journal replay did not continue the same search"
