"""The package layout: the core never imports a family, and listing names stays light."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from archsearch import registry

CORE = Path(__file__).resolve().parent.parent / "archsearch"
FAMILIES = ("archsearch.spaces", "archsearch.solvers")
HEAVY = ("torch", "optuna", "ray", "cvxpy")
SPACES = [
    "cnn",
    "da-resnet",
    "deeparchitect",
    "deepconv",
    "expanding",
    "nasnet",
    "nb201",
    "simq-resnet",
    "simq-vit",
]
STRATEGIES = [
    "bananas",
    "dedup",
    "deepmad",
    "evolution",
    "linas",
    "local-search",
    "mcts",
    "mcts-bisect",
    "nsga2",
    "optuna",
    "random",
    "scaling",
    "smbo",
    "smbo-ngram",
]


def _imported(tree: ast.AST) -> list[str]:
    """Every module an ``import`` / ``from ... import`` names, with ``from a import b`` as a.b."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return found


def _is_family(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FAMILIES)


def test_the_import_walker_sees_every_spelling():
    code = (
        "import archsearch.spaces.cnn\nfrom archsearch import solvers\nfrom archsearch import api"
    )
    assert [m for m in _imported(ast.parse(code)) if _is_family(m)] == [
        "archsearch.spaces.cnn",
        "archsearch.solvers",
    ]


@pytest.mark.parametrize(
    "path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE))
)
def test_the_core_imports_no_family(path):
    bad = [m for m in _imported(ast.parse(path.read_text())) if _is_family(m)]
    assert not bad, f"{path.relative_to(CORE.parent)} imports {bad}"


_LISTING = """
import io, json, sys
from contextlib import redirect_stdout
from archsearch.cli import main
out = io.StringIO()
with redirect_stdout(out):
    code = main([{command!r}])
names = [line.split()[0] for line in out.getvalue().splitlines()]
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"code": code, "names": names, "heavy": heavy}}))
"""


@pytest.mark.parametrize(("command", "names"), [("strategies", STRATEGIES), ("spaces", SPACES)])
def test_listing_imports_no_heavy_module(command, names):
    code = _LISTING.format(command=command, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = json.loads(done.stdout.splitlines()[-1])
    assert got == {"code": 0, "names": names, "heavy": []}


@pytest.mark.parametrize("kind", ["space", "strategy", "solver", "command"])
def test_every_lazy_entry_imports_to_a_callable(kind):
    for name, entry in registry.entries(kind).items():
        assert callable(entry.obj), (kind, name)
        assert registry.name_of(kind, entry.obj) == name


def test_lookup_builds_every_space():
    for name in SPACES:
        assert registry.get_space(name).name, name


def test_name_of_finds_instances_and_classes_without_importing():
    from archsearch.strategies.random import RandomSearch

    space = registry.get_space("deeparchitect")
    assert registry.name_of("strategy", RandomSearch) == "random"
    assert registry.name_of("strategy", RandomSearch(space)) == "random"
    assert registry.name_of("strategy", object()) is None


def test_name_of_compares_targets_of_unloaded_entries(monkeypatch):
    monkeypatch.setattr(registry, "_entries", {k: dict(v) for k, v in registry._entries.items()})
    registry.register_lazy("strategy", "never-imported", "no_such_module:Thing", "lazy")

    class Thing:
        pass

    Thing.__module__, Thing.__qualname__ = "no_such_module", "Thing"
    assert registry.name_of("strategy", Thing) == "never-imported"
    assert not registry.entries("strategy")["never-imported"].loaded


def test_a_decorator_on_a_lazy_target_is_not_a_second_registration(monkeypatch):
    monkeypatch.setattr(registry, "_entries", {k: dict(v) for k, v in registry._entries.items()})
    registry.register_lazy("solver", "twice", f"{__name__}:_twice", "lazy")
    registry.register_solver("twice")(_twice)
    assert registry.lookup("solver", "twice") is _twice
    with pytest.raises(ValueError, match="solver 'twice' is registered twice"):
        registry.register_lazy("solver", "twice", "elsewhere:_twice", "other")
    with pytest.raises(ValueError, match="solver 'twice' is registered twice"):
        registry.register_solver("twice")(lambda: None)


def test_register_lazy_rejects_bad_targets_and_kinds():
    with pytest.raises(ValueError, match="lazy target 'nocolon' must look like"):
        registry.register_lazy("space", "bad", "nocolon", "")
    with pytest.raises(ValueError, match="unknown registry kind 'spaces'; known: space"):
        registry.register_lazy("spaces", "bad", "a:b", "")


def test_lookup_keeps_its_did_you_mean_error():
    with pytest.raises(ValueError, match="unknown space 'nasnt' \\(did you mean 'nasnet'\\?\\)"):
        registry.lookup("space", "nasnt")


def _twice() -> None:
    """A solver registered lazily and by decorator."""


def test_an_entry_needs_an_object_or_a_target():
    with pytest.raises(ValueError, match="entry 'x' needs an object or a target 'module:attr'"):
        registry.Entry("x")


def test_family_packages_reexport_lazily():
    import archsearch.spaces.simq as simq

    assert "SimQSpace" in dir(simq)
    with pytest.raises(
        AttributeError, match="module 'archsearch.spaces.simq' has no attribute 'x'"
    ):
        simq.x  # noqa: B018
