"""The README stays true: two set-up commands, working links, options the CLI accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archsearch.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_exactly_two_setup_commands_install_then_search_or_test():
    commands = [line for line in README.splitlines() if line.startswith("python3 -m venv .venv")]
    assert len(commands) == 2
    install = (
        'python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 -e ".[dev]"'
    )
    assert all(c.startswith(install + " && ") for c in commands)
    assert commands[0].endswith("archsearch search --space deeparchitect --strategy random")
    assert commands[1].endswith("python -m pytest")
    # .ci/run runs the test command verbatim by matching this pattern
    ci = (ROOT / ".ci" / "run").read_text()
    assert r"grep -E '^python3 -m venv \.venv && .*python -m pytest$' README.md" in ci


def test_relative_links_point_to_files():
    links = re.findall(r"\]\(([^)#]+)\)", README)
    local = [link for link in links if "://" not in link]
    assert local
    for link in local:
        assert (ROOT / link).exists(), link


@pytest.fixture(scope="module")
def search_flags() -> set[str]:
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["search"]
    return {flag for action in sub._actions for flag in action.option_strings}


def test_search_options_in_the_readme_exist(search_flags):
    table = README[README.index("| option | meaning") :]
    table = table[: table.index("\n\n")]
    documented = set(re.findall(r"`(--[a-z-]+)", table))
    assert len(documented) >= 20
    assert documented <= search_flags, documented - search_flags
    undocumented = search_flags - documented - {"-h", "--help"}
    assert not undocumented, undocumented
