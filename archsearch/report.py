"""The HTML report of a run: ``RUN/report.html`` plus PNG figures in ``RUN/figures/``.

The page is self-contained (inline CSS, figures as base64 PNG): it opens offline, with no CDN.
It works on a finished run and on one still going (it reads whatever the journal holds).
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archsearch import plots
from archsearch.results import Record, Run, best_of, pareto_front
from archsearch.runview import error_line, human
from archsearch.strategy import count_statuses

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}tr.failed td{color:#a00}tr.pruned td{color:#886}tr.best td{background:#eef8ee}
.muted{color:#777}.fig{max-width:100%;margin:.5em 0}pre{background:#f7f7f7;padding:.5em;overflow:auto;
font-size:.8em;max-height:14em}.kpi{display:inline-block;margin-right:2em}
.kpi b{font-size:1.3em;display:block}p.failure{margin:.8em 0 .2em}p.failure code{color:#a00}
details summary{cursor:pointer;color:#777;font-size:.85em}
"""


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:
            return "nan"
        return f"{v:.4g}" if abs(v) < 1e4 else human(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], row_classes: Sequence[str] = ()
) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if i < len(row_classes) and row_classes[i] else ""
        body.append(
            f"<tr{cls}>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    """PNG bytes as an inline <img> (keeps the page self-contained)."""
    data = base64.b64encode(png).decode()
    return f'<img class="fig" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _png(fig: Any, path: Path) -> str:
    """Save ``fig`` as ``path`` and return it as an inline <img>."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    path.write_bytes(buf.getvalue())
    return _img(buf.getvalue(), path.stem)


def _drawings(run: Run, record: Record, fig_dir: Path) -> list[str]:
    """Drawings of the best architecture, when its space can draw itself."""
    from archsearch.registry import get_space

    cfg = run.config
    try:
        space = get_space(
            cfg.get("space", record.trial.arch.space), **(cfg.get("space_options") or {})
        )
    except (ValueError, TypeError):
        return []
    paths = [Path(p) for p in space.draw(record.trial.arch, fig_dir)]
    return [_img(p.read_bytes(), p.stem) for p in paths if p.suffix == ".png"]


def _failure(record: Record) -> str:
    """A failure box: the error line (what ``show`` prints) first, the full text folded below."""
    text = (record.result.error or "").strip()
    head = (
        f'<p class="failure"><b>trial {record.trial.number}</b>: '
        f"<code>{html.escape(error_line(text))}</code></p>"
    )
    if "\n" not in text:
        return head
    return f"{head}<details><summary>traceback</summary><pre>{html.escape(text)}</pre></details>"


def write_report(run: Run | str | Path) -> Path:
    """Write ``report.html`` and ``figures/*.png`` into the run folder; returns the HTML path."""
    run = run if isinstance(run, Run) else Run.open(run)
    cfg, records, objectives = run.config, run.records(), run.objectives
    fig_dir = run.path / "figures"
    fig_dir.mkdir(exist_ok=True)
    obj = objectives[0]
    best = best_of(records, obj)
    counts = count_statuses(r.result for r in records)
    budget = cfg.get("budget")
    state = (
        "finished"
        if (run.path / "best.json").exists() and budget and len(records) >= budget
        else "in progress"
    )

    parts = [
        f"<h1>archsearch run {html.escape(run.path.name)}</h1>",
        f'<p class="muted">space <b>{html.escape(str(cfg.get("space")))}</b>, strategy '
        f"<b>{html.escape(str(cfg.get('strategy')))}</b>, seed {html.escape(str(cfg.get('seed')))}; "
        f"{state}; report written {time.strftime('%Y-%m-%d %H:%M:%S')}</p>",
    ]
    kpis = [
        ("trials", f"{len(records)}" + (f" / {budget}" if budget else "")),
        ("ok / failed / pruned", f"{counts['ok']} / {counts['failed']} / {counts['pruned']}"),
    ]
    if best is not None:
        kpis.append((f"best {obj.name} ({obj.direction})", _fmt(best.result.value(obj.name))))
    parts.append(
        "<div>"
        + "".join(
            f'<span class="kpi"><b>{html.escape(v)}</b>{html.escape(k)}</span>' for k, v in kpis
        )
        + "</div>"
    )

    parts.append("<h2>Settings</h2>")
    parts.append(_table(["setting", "value"], [(k, v) for k, v in cfg.items()]))

    parts.append("<h2>Progress</h2>")
    figs = [
        (plots.progress_figure(records, obj), "progress"),
        (plots.cost_figure(records, obj), "cost"),
        (plots.pareto_figure(records, objectives), "pareto"),
    ]
    shown = [_png(f, fig_dir / f"{name}.png") for f, name in figs if f is not None]
    parts.extend(shown or ['<p class="muted">No finished trial with a value yet.</p>'])

    if len(objectives) > 1:
        front = pareto_front(records, objectives)
        parts.append(f"<h2>Pareto front ({len(front)} trials)</h2>")
        parts.append(
            _table(
                ["trial"] + [f"{o.name} ({o.direction})" for o in objectives],
                [[r.trial.number] + [r.result.value(o.name) for o in objectives] for r in front],
            )
        )

    if best is not None:
        parts.append(f"<h2>Best architecture (trial {best.trial.number})</h2>")
        parts.extend(_drawings(run, best, fig_dir))
        parts.append(_table(["decision", "value"], list(best.trial.arch.decisions.items())))

    parts.append("<h2>Trials</h2>")
    metric_names = sorted({k for r in records for k in r.result.metrics})
    headers = ["trial", "status", *metric_names, "params", "flops", "seconds"]
    rows, classes = [], []
    for r in records:
        rows.append(
            [
                r.trial.number,
                r.result.status,
                *[r.result.metrics.get(m) for m in metric_names],
                r.result.cost.get("params"),
                r.result.cost.get("flops"),
                r.seconds,
            ]
        )
        classes.append("best" if best is not None and r is best else r.result.status)
    parts.append(_table(headers, rows, classes))

    failures = [r for r in records if r.result.status == "failed"]
    parts.append(f"<h2>Failures ({len(failures)})</h2>")
    if not failures:
        parts.append('<p class="muted">None.</p>')
    for r in failures:
        parts.append(_failure(r))

    page = (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>archsearch {html.escape(run.path.name)}"
        f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )
    out = run.path / "report.html"
    out.write_text(page)
    return out


def write_comparison(runs: Sequence[Run | str | Path], out: str | Path) -> Path:
    """One PNG with the best-so-far curves of several runs (first objective of the first run)."""
    opened = [r if isinstance(r, Run) else Run.open(r) for r in runs]
    if not opened:
        raise ValueError("compare needs at least one run folder")
    objective = opened[0].objectives[0]
    labels = [f"{r.path.name}" for r in opened]
    fig = plots.compare_figure([(lab, r.records()) for lab, r in zip(labels, opened)], objective)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return out
