"""Statistics and the Markdown page of ``benchmarks/strategies.py`` (kept apart for size)."""

from __future__ import annotations

import numpy as np

CHECKPOINTS = (25, 50, 100, 150)


def summarize(rows: list[tuple], top1: float, optimum: float, budget: int) -> dict:
    """Statistics of one method over its seeds; ``rows`` = [(scores, unique, seconds)]."""
    C = np.array([np.maximum.accumulate(curve) for curve, _, _ in rows])
    first = [int(np.argmax(c >= top1)) + 1 if (c >= top1).any() else budget for c in C]
    out = {
        f"best@{k}": {"mean": float(C[:, k - 1].mean()), "std": float(C[:, k - 1].std())}
        for k in CHECKPOINTS
        if k <= budget
    }
    out.update(
        seeds=len(rows),
        top1_hits=int(sum((c >= top1).any() for c in C)),
        evals_to_top1=float(np.mean(first)),
        optimum_hits=int(sum(c[-1] >= optimum - 1e-9 for c in C)),
        unique=float(np.mean([u for _, u, _ in rows])),
        seconds_per_run=float(np.median([s for _, _, s in rows])),
        _final=[float(c[-1]) for c in C],
        _first=first,
    )
    return out


def _p(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:.2g}" if v >= 0.001 else "<0.001"


def markdown(record: dict) -> str:
    """The record as a Markdown page: one table per landscape and seed group, then a summary."""
    b = record["budget"]
    lines = [
        "# Search strategies on NAS-Bench-201 landscapes, beside native Optuna",
        "",
        f"Measured {record['date']} on {record['machine']}, {record['jobs']} worker process(es); "
        f"table `{record['table']}` (CIFAR-10 only: the CIFAR-100 and ImageNet16-120 tables are "
        f"not available here). Budget {b} evaluations, every proposal counts (repeats "
        f"included); {record['seeds_per_group']} seeds per group, except "
        f"{', '.join(f'{m}: {n}' for m, n in record['seeds_limited'].items()) or 'none'} (the "
        "first seeds of each group: they cost many seconds per run on this loaded machine). "
        "Landscapes: `valid` = "
        "validation accuracy, `test` = test accuracy (percent). Groups: `tuning` = seeds 0-19 "
        "and `tuning2` = seeds 200-219, on which defaults may be chosen; `checking` = seeds "
        "100-119 and `fresh` = seeds 300-319, never used for choosing. Cells: mean ± population std of the best score found; p = two-sided "
        "Mann-Whitney U against tpe-native (best@150 / evals to top 1%). Regenerate with "
        "`python benchmarks/strategies.py`.",
        "",
    ]
    if record.get("not_registered"):
        lines += [f"Not registered in this tree: {', '.join(record['not_registered'])}.", ""]
    for block in record["results"].values():
        lines += [
            f"## {block['landscape']} landscape, {block['group']} seeds "
            f"{block['seeds'][0]}-{block['seeds'][1]}",
            "",
            f"Optimum {block['optimum']:.4f}; top 1% = {block['top1_threshold']:.4f} and above.",
            "",
            "| method | best@25 | best@50 | best@100 | best@150 | top 1% | evals to top 1% "
            "| optimum | unique | s / run | p best@150 | p evals |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in block["methods"].items():
            cells = [
                f"{r[f'best@{k}']['mean']:.3f} ± {r[f'best@{k}']['std']:.3f}"
                for k in (25, 50, 100, 150)
                if f"best@{k}" in r
            ]
            n = r["seeds"]
            lines.append(
                f"| {name} | " + " | ".join(cells) + f" | {r['top1_hits']}/{n} | "
                f"{r['evals_to_top1']:.1f} | {r['optimum_hits']}/{n} | {r['unique']:.0f} | "
                f"{r['seconds_per_run']:.2f} | {_p(r.get('p_final'))} | {_p(r.get('p_first'))} |"
            )
        lines.append("")
    lines += summary(record)
    if record.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in record["notes"]] + [""]
    mo = record.get("two_objective")
    if mo:
        lines += [
            "## Two objectives: maximize validation accuracy, minimize training time",
            "",
            "Tuning seeds; hypervolume with accuracy in [0, 1] and time / largest time, reference "
            f"point {tuple(mo['reference'])} in (accuracy, -time) orientation; budget {b}. The "
            f"whole table's front ({mo['table_front_size']} cells) has hypervolume "
            f"{mo['table_front_hv']:.4f}.",
            "",
            "| method | hypervolume | front size |",
            "|---|---|---|",
        ]
        for label, r in mo.items():
            if isinstance(r, dict):
                lines.append(
                    f"| {label} | {r['hv_mean']:.4f} ± {r['hv_std']:.4f} | {r['front_size']:.1f} |"
                )
        lines.append("")
    return "\n".join(lines) + "\n"


def summary(record: dict) -> list[str]:
    """Mean best@150 minus tpe-native's, and evals to top 1% over tpe-native's, per block."""
    blocks = record["results"]
    if not all("tpe-native" in bl["methods"] for bl in blocks.values()):
        return []
    keys = list(blocks)
    lines = [
        "## Against native TPE",
        "",
        f"Δ best@{record['budget']} = method mean - tpe-native mean; ratio = evals to top 1% / "
        "tpe-native's; a method run on fewer seeds is compared on those seeds.",
        "",
        "| method | " + " | ".join(f"{k} Δ / ratio" for k in keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    last = f"best@{record['budget']}"
    for name in blocks[keys[0]]["methods"]:
        cells = []
        for k in keys:
            ms = blocks[k]["methods"]
            if name not in ms:
                cells.append("–")
                continue
            r, t = ms[name], ms["tpe-native"]
            # A method run on fewer seeds is compared with tpe-native on the same (first) seeds.
            n = r["seeds"]
            t_final = float(np.mean(t["best@150_per_seed"][:n]))
            t_first = float(np.mean(t["evals_to_top1_per_seed"][:n]))
            d = r[last]["mean"] - t_final
            tag = f" ({n} seeds)" if n < t["seeds"] else ""
            cells.append(f"{d:+.3f} / {r['evals_to_top1'] / t_first:.2f}{tag}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]
