"""The HTML report (checked in headless Chromium) and the comparison figure."""

from __future__ import annotations

import base64
import io
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archsearch.arch import Architecture
from archsearch.report import write_comparison, write_report
from archsearch.results import Record, Run
from archsearch.strategy import Objective, Result, Trial

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def make_run(
    root: Path, name: str, n: int = 12, seed: int = 0, objectives: str = "accuracy"
) -> Run:
    rng = random.Random(seed)
    run = Run.create(
        root,
        name,
        {
            "space": "demo",
            "strategy": "random",
            "seed": seed,
            "budget": n,
            "objectives": objectives,
        },
    )
    for i in range(n):
        failed = i == 3
        result = Result(
            status="failed" if failed else "ok",
            metrics={"accuracy": rng.random(), "latency_ms": rng.uniform(1, 10)},
            cost={"params": rng.randint(1_000, 90_000), "flops": rng.randint(10**5, 10**7)},
            error="Traceback (most recent call last):\nRuntimeError: injected <boom>"
            if failed
            else None,
        )
        run.append(Record(Trial(i, Architecture("demo", {"x": i})), result, 1000.0 + i, 1.0))
    run.write_summary()
    return run


def test_report_has_figures_tables_and_escaped_failures(tmp_path):
    run = make_run(tmp_path, "r", objectives="accuracy,latency_ms")
    page = write_report(run).read_text()
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(imgs) == 3  # progress, cost, Pareto
    from PIL import Image

    for data in imgs:
        assert Image.open(io.BytesIO(base64.b64decode(data))).size[0] > 300
    assert {p.name for p in (run.path / "figures").iterdir()} == {
        "progress.png",
        "cost.png",
        "pareto.png",
    }
    assert "Pareto front (" in page and "Failures (1)" in page
    assert "injected &lt;boom&gt;" in page and "<boom>" not in page
    assert "http://" not in page and "https://" not in page  # self-contained


def test_report_of_a_run_without_results_yet(tmp_path):
    run = Run.create(tmp_path, "empty", {"space": "demo", "budget": 5})
    page = write_report(run).read_text()
    assert "No finished trial with a value yet" in page and "in progress" in page


def test_compare_figure(tmp_path):
    a, b = make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2)
    out = write_comparison([a, b.path], tmp_path / "cmp" / "compare.png")
    from PIL import Image

    assert Image.open(out).size == (650, 400)
    with pytest.raises(ValueError, match="at least one run folder"):
        write_comparison([], tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        write_comparison([tmp_path / "nope"], tmp_path / "x.png")


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


def test_report_in_headless_chromium(tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is not installed; .ci/run must install Debian's chromium package"
            )
        pytest.skip("chromium not installed")
    run = make_run(tmp_path, "r", objectives="accuracy,latency_ms")
    url = write_report(run).as_uri()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    flags = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,2400",
    ]
    dom = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<img") == 3 and dom.stdout.count("<table") >= 4
    shot.unlink(missing_ok=True)
    res = subprocess.run(
        flags + [f"--screenshot={shot}", url], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    console = [
        ln
        for ln in (dom.stderr + res.stderr).splitlines()
        if "CONSOLE" in ln or "Failed to load" in ln
    ]
    assert not console, console
    from PIL import Image

    img = Image.open(shot).convert("L")
    lo, hi = img.getextrema()
    assert img.size == (1200, 2400) and hi - lo > 100  # a rendered page, not a blank one


def test_cost_axes_read_as_counts_without_overlapping_labels(tmp_path):
    from archsearch import plots

    def records(flops: list[float]) -> list[Record]:
        return [
            Record(
                Trial(i, Architecture("demo", {"x": i})),
                Result(metrics={"accuracy": 0.9}, cost={"flops": f, "params": f / 10}),
                1000.0 + i,
                1.0,
            )
            for i, f in enumerate(flops)
        ]

    narrow = plots.cost_figure(records([332e3, 481e3]), Objective("accuracy"))
    narrow.canvas.draw()
    ax = narrow.axes[0]
    assert ax.get_xscale() == "linear"
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"[\d.]+K", s) for s in labels), labels
    assert not [t for t in ax.get_xticklabels(minor=True) if t.get_text()]

    wide = plots.cost_figure(records([3e5, 2e6, 4e7]), Objective("accuracy"))
    wide.canvas.draw()
    ax = wide.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert set(labels) >= {"1M", "10M"}, labels
    assert not [t for t in ax.get_xticklabels(minor=True) if t.get_text()]


def test_report_tables_write_large_counts_with_k_m_g(tmp_path):
    run = make_run(tmp_path, "r", objectives="accuracy,params:min")
    page = write_report(run).read_text()
    assert not re.search(r"\d\.\d+e\+0\d", page)
    assert re.search(r"<td>\d+(\.\d+)?K</td>", page)


def test_trial_axes_have_whole_numbers_only(tmp_path):
    from archsearch import plots

    records = make_run(tmp_path, "a", n=20).records()
    figs = [
        plots.compare_figure([("a", records)], Objective("accuracy")),
        plots.progress_figure(records, Objective("accuracy")),
    ]
    for fig in figs:
        fig.canvas.draw()
        ticks = fig.axes[0].get_xticks()
        assert len(ticks) and all(float(t).is_integer() for t in ticks), ticks


def test_failed_trials_are_marked_and_the_trial_axis_is_0_based(tmp_path):
    from archsearch import plots

    records = make_run(tmp_path, "a", n=12).records()  # trial 3 failed
    fig = plots.progress_figure(records, Objective("accuracy"))
    by_label = {c.get_label(): c for c in fig.axes[0].collections}
    assert by_label["failed (1)"].get_offsets()[:, 0].tolist() == [3.0]
    ok_x = by_label["trial"].get_offsets()[:, 0].tolist()
    assert ok_x == [0, 1, 2, *range(4, 12)]  # the numbers of the tables, failed one left out
    assert fig.axes[1].get_xlabel() == "wall-clock seconds since the first trial started"
    assert any(c.get_label() == "failed (1)" for c in fig.axes[1].collections)
    cost = plots.cost_figure(records, Objective("accuracy"))
    assert all(any(c.get_label() == "failed (1)" for c in a.collections) for a in cost.axes)


def test_a_failure_box_leads_with_its_error_line_and_folds_the_traceback(tmp_path):
    page = write_report(make_run(tmp_path, "r")).read_text()
    head = "<b>trial 3</b>: <code>RuntimeError: injected &lt;boom&gt;</code></p><details>"
    assert head in page
    assert "<summary>traceback</summary><pre>Traceback (most recent call last):" in page
