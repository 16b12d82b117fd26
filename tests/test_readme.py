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


# --- The snippets: each runs, and what it says it shows is what it shows ----------------------

BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
EXAMPLE = ROOT / "examples" / "custom_space.py"


def block(marker: str) -> str:
    """The one python block of the README that contains ``marker``."""
    (found,) = [code for code in PYTHON if marker in code]
    return found


#: One marker per python block; each has a test below (a new block needs one too).
MARKERS = (
    'run = search("deeparchitect", "random"',  # the Python API
    '"""A custom space in DeepArchitect',  # examples/custom_space.py
    "space.next_param(",  # walking a space by hand
    "def mlp(choose):",  # a define-by-run space
    '@register_space("my-cells"',  # registering a space
)


def test_every_python_block_has_a_test():
    assert len(PYTHON) == len(MARKERS)
    assert all(block(marker) for marker in MARKERS)


@pytest.fixture
def small_searches(monkeypatch, tmp_path):
    """``archsearch.api.search`` at 1 trial of 1 epoch (the snippets' own budgets cost minutes)."""
    import torch

    import archsearch.api

    real, calls = archsearch.api.search, []

    def capped(*args, **kwargs):
        kwargs.update(budget=1, epochs=1, progress=False)
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(archsearch.api, "search", capped)
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield calls
    torch.set_num_threads(threads)


def test_python_api_snippet_output(small_searches, capsys):
    import ast

    code = block(MARKERS[0])
    exec(compile(code, "README:python-api", "exec"), {})
    first, second = capsys.readouterr().out.splitlines()[-2:]
    path, number, accuracy = first.split()
    assert Path(path, "trials.jsonl").exists() and int(number) == 0
    assert 0.0 <= float(accuracy) <= 1.0
    shown = ast.literal_eval(second)  # printed as a dict, as the comment says
    comment = code.split("print(best.trial.arch.to_json())  # ")[1].splitlines()[0]
    assert comment.startswith("a dict: {'space': 'deeparchitect', 'decisions': {")
    assert isinstance(shown, dict) and shown["space"] == "deeparchitect"
    assert set(shown) == {"space", "decisions"} and shown["decisions"]


def test_the_complete_custom_space_is_the_example_file():
    assert block(MARKERS[1]) == EXAMPLE.read_text()


def test_walking_a_space_by_hand_shows_what_it_says():
    import torch

    from archsearch.arch import Architecture

    code = block(MARKERS[2])
    scope: dict = {}
    exec(compile(EXAMPLE.read_text(), str(EXAMPLE), "exec"), scope)  # its program()
    *body, last = code.strip().splitlines()
    exec(compile("\n".join(body), "README:walk", "exec"), scope)
    expression, comment = last.split("  # ")
    shown = comment.split(": ", 1)[1]
    assert repr(eval(expression, scope)) == shown
    assert isinstance(scope["arch"], Architecture)
    assert isinstance(scope["model"], torch.nn.Module)
    arch = scope["arch"]
    assert Architecture.from_json(arch.to_json()) == arch  # "the same record ..."
    assert scope["space"].name == "my-convnet"  # the example's space, not the registered one


def test_define_by_run_snippet_searches_and_drops_unused_blocks(small_searches):
    code = block(MARKERS[3])
    scope: dict = {}
    exec(compile(code, "README:define-by-run", "exec"), scope)
    run = scope["run"]
    records = run.records()
    assert len(records) == 1 and all(r.result.status == "ok" for r in records)
    for r in records:
        depth = r.trial.arch["depth"]
        acts = {k for k in r.trial.arch.decisions if k.endswith("/act")}
        assert acts == {f"block{i}/act" for i in range(depth)}  # only blocks below the depth


def test_registering_a_space_makes_the_name_work(monkeypatch):
    from archsearch import registry

    registry.load_builtins()
    monkeypatch.setattr(registry, "_entries", {k: dict(v) for k, v in registry._entries.items()})
    code = block(MARKERS[4])
    exec(compile(code, "README:register", "exec"), {})
    space = registry.get_space("my-cells", max_cells=4)  # --space my-cells --space-opt max_cells=4
    assert space.name == "my-cells"
    # four cells at most: the Repeat decision offers 1..4
    assert space.next_param({"width": 16}).options == (1, 2, 3, 4)
    assert "my-cells" not in EXAMPLE.read_text()  # one name, one space


def test_plugin_entry_point_snippet_is_valid_toml():
    import tomllib

    (toml,) = [code for lang, code in BLOCKS if lang == "toml"]
    assert tomllib.loads(toml)["project"]["entry-points"]["archsearch.plugins"] == {
        "my_plugin": "my_plugin.spaces"
    }


DOCS = [ROOT / "docs" / name for name in ("search.md", "ray.md")]


def test_every_command_line_parses(tmp_path):
    """Each ``archsearch ...`` line of the README (and docs/search.md, docs/ray.md) is a command
    the CLI accepts as written."""
    import shlex

    commands = []
    blocks = BLOCKS + [
        b for doc in DOCS for b in re.findall(r"```(\w*)\n(.*?)```", doc.read_text(), re.S)
    ]
    for lang, code in blocks:
        if lang == "bash":
            for line in code.replace("\\\n", " ").splitlines():
                line = line.split("  #")[0].strip()
                if line.startswith("archsearch ") and "--help" not in line:
                    commands.append(line)
    assert len(commands) >= 20
    for command in commands:
        argv = shlex.split(command.replace("~", str(tmp_path)))[1:]
        try:
            build_parser().parse_args(argv)
        except SystemExit as e:  # argparse refused it
            pytest.fail(f"{command!r}: argparse exit {e.code}")


def test_the_errors_shown_are_the_errors_given(capsys):
    from archsearch.cli import main

    (text,) = [code for lang, code in BLOCKS if lang == "text" and "archsearch: error:" in code]
    lines = text.strip().splitlines()
    pairs = list(zip(lines[::2], lines[1::2]))
    assert pairs and all(cmd.startswith("$ archsearch ") for cmd, _ in pairs)
    for cmd, shown in pairs:
        try:
            code = main(cmd.split()[2:])
        except SystemExit as e:
            code = e.code
        err = capsys.readouterr().err.strip()
        assert code == 2
        if shown.endswith("..."):
            assert err.startswith(shown[:-3]), (err, shown)
        else:
            assert err == shown


def test_no_one_is_asked_to_switch_ray_authentication_off():
    for text in (README, (ROOT / "docs" / "ray.md").read_text()):
        assert "RAY_AUTH_MODE=disabled" not in text


# --- The commands of the README on a run made the Quickstart's way (slow: real training) ------


def text_block(marker: str) -> str:
    (found,) = [code for lang, code in BLOCKS if lang == "text" and marker in code]
    return found


def shape(line: str) -> str:
    """A shown or printed output line with its run paths and numbers blanked out."""
    line = re.sub(r"results/\S+", "RUN", line.strip())
    return re.sub(r"[0-9][0-9.]*[KMG]?", "N", line)


@pytest.mark.slow
def test_readme_commands_on_a_quickstart_run(tmp_path, monkeypatch, capsys):
    import json

    import torch

    from archsearch.cli import main

    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)

    def cli(*argv: str) -> str:
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert code in (0, None), (argv, err)
        return out

    # The Quickstart's command, at 2 trials of 1 epoch.
    out = cli(
        "search",
        "--space",
        "deeparchitect",
        "--strategy",
        "random",
        "--budget",
        "2",
        "--epochs",
        "1",
        "--quiet",
    )
    (run,) = [str(p.relative_to(tmp_path)) for p in (tmp_path / "results").iterdir()]
    summary = text_block("search finished:").strip().splitlines()
    assert [shape(line) for line in out.strip().splitlines()] == [shape(x) for x in summary]
    assert run in out
    shown_show = [line for line in text_block("$ archsearch show").splitlines()[1:] if line]
    printed_show = cli("show", run).strip().splitlines()
    kept = [0, 1, -2, -1]  # the header, the columns and the two closing lines (rows elided)
    assert [shape(printed_show[i]) for i in kept] == [shape(shown_show[i]) for i in kept]

    best = json.loads((tmp_path / run / "best.json").read_text())
    # "rebuild the best and count it": the counts are the run's own
    built = cli("build", "deeparchitect", "--arch", run, "--channels", "1", "--resolution", "8")
    assert f"params (trainable): {int(best['cost']['params']):,} " in built
    assert f"multiply-adds (MACs) of conv + linear: {int(best['cost']['flops']):,} " in built
    # NASNet-A 6 @ 768 on CIFAR-10: 3.3M parameters (Zoph et al., CVPR 2018, Table 1)
    nasnet = cli("build", "nasnet", "--arch", "nasnet-a", "--cells", "6", "--filters", "768")
    params = int(re.search(r"params \(trainable\): ([0-9,]+)", nasnet)[1].replace(",", ""))
    assert round(params / 1e6, 1) == 3.3
    scaled = cli("scale", "--arch", "regnety-400mf", "--factor", "4")
    assert re.search(r"flops .* 3\.9[0-9]x", scaled)  # 4x asked; widths round to multiples of 8
    cli("report", run)
    assert (tmp_path / run / "report.html").exists()
    cli("compare", run, run, "--out", "cmp.png")
    assert (tmp_path / "cmp.png").exists()
    cli("export", run, "--out", "best-model")
    assert (tmp_path / "best-model" / "arch.json").exists()
