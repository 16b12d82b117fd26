"""Compound scaling sweep: FLOPs, params and activations of w, dw, dr, dwr, dWr at s = 2, 4, 16.

Dollar, Singh, Girshick, "Fast and Accurate Model Scaling" (CVPR 2021): scaling FLOPs by s with
width share alpha makes activations grow as s^(e_d + e_w + 2 e_r) (per-strategy flop exponents
of depth, width, resolution), i.e. s^(1 - alpha/2): 0.6 for dWr, 0.5 for w, 5/6 for dwr, 1 for dr.
For each base and strategy the fitted exponent is the least-squares slope (through the origin) of
log(activations ratio) against log(realised FLOPs ratio) over s = 2, 4, 16, after pycls's rounding.

Writes ``results/benchmarks/scaling.json`` and ``scaling.md``. Pure arithmetic (no torch): the
whole sweep takes milliseconds; ``python benchmarks/scaling.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

from archsearch.solvers.scaling import NAMED, parse_type
from archsearch.solvers.scaling.report import COMPARED, row
from archsearch.spaces.cnn import complexity
from archsearch.spaces.cnn.zoo import ZOO

BASES = ("regnety-400mf", "efficientnet-b0")
#: pycls's letter types (w, dw, dr, dwr: group width kept), the group-scaling variants, dWr
STRATEGIES = (*COMPARED[:-1], "wg", "dwgr", COMPARED[-1])
FACTORS = (2, 4, 16)


def predicted_exponent(strategy: str) -> float:
    """Activation exponent d w r^2 of a strategy's flop shares: e_d + e_w + 2 e_r."""
    wt = parse_type(NAMED[strategy])
    n = wt["d"] + wt["w"] + wt["r"]
    return wt["d"] / n + wt["w"] / (2 * n) + wt["r"] / n


def fitted_exponent(points: list[tuple[float, float]]) -> float:
    """Slope through the origin of log(acts ratio) on log(flops ratio)."""
    xs = [math.log(f) for f, _ in points]
    ys = [math.log(a) for _, a in points]
    return sum(x * y for x, y in zip(xs, ys)) / sum(x * x for x in xs)


def sweep() -> dict:
    """Every base x strategy x factor, with the fitted and predicted exponents."""
    out: dict = {"bases": {}}
    start = time.perf_counter()
    for name in BASES:
        base = ZOO[name]
        entry: dict = {"complexity": complexity(base), "strategies": {}}
        for s in STRATEGIES:
            rows = [row(base, f, s) for f in FACTORS]
            points = [(r["flops_ratio"], r["activations_ratio"]) for r in rows]
            entry["strategies"][s] = {
                "type": NAMED[s],
                "fitted_exponent": fitted_exponent(points),
                "exponent_at_16": math.log(points[-1][1]) / math.log(points[-1][0]),
                "predicted_exponent": predicted_exponent(s),
                "rows": [{k: v for k, v in r.items() if k != "spec"} for r in rows],
            }
        out["bases"][name] = entry
    out["seconds"] = time.perf_counter() - start
    out["machine"] = (
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    return out


def markdown(data: dict) -> str:
    """The record as Markdown tables."""
    lines = [
        "# Compound scaling sweep (benchmarks/scaling.py)",
        "",
        "pycls counting (multiply-adds of conv + linear, params, activations) at each scaled",
        "network's own train resolution, 1000 classes. Ratios are to the base. The exponent is the",
        "least-squares slope of log(acts ratio) on log(flops ratio) over s = 2, 4, 16; predicted:",
        "e_d + e_w + 2 e_r of the strategy (0.6 dWr, 0.5 w, 5/6 dwr, 1 dr, 0.75 dw).",
        "Names are pycls's SCALING_TYPE letter strings: w, dw, dr, dwr leave the group width",
        "alone (RegNet's g stays 8), wg and dwgr scale it with the width; dWr = d1_w8_g8_r1.",
        f"Sweep time {data['seconds'] * 1e3:.1f} ms ({data['machine']}); deterministic numbers.",
    ]
    for name, entry in data["bases"].items():
        cx = entry["complexity"]
        lines += [
            "",
            f"## {name}: {cx['flops']:,} flops, {cx['params']:,} params, "
            f"{cx['activations']:,} acts",
            "",
            "| strategy | s | depths | widths | res | GFLOPs (x) | M params (x) | M acts (x) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for s, st in entry["strategies"].items():
            for r in st["rows"]:
                lines.append(
                    f"| {s} | {r['factor']} | {r['depths']} | {r['widths']} | {r['resolution']} "
                    f"| {r['flops'] / 1e9:.4f} ({r['flops_ratio']:.2f}x) "
                    f"| {r['params'] / 1e6:.3f} ({r['params_ratio']:.2f}x) "
                    f"| {r['activations'] / 1e6:.3f} ({r['activations_ratio']:.2f}x) |"
                )
        lines += [
            "",
            "| strategy | fitted acts exponent | at s = 16 alone | predicted |",
            "|---|---|---|---|",
        ]
        for s, st in entry["strategies"].items():
            lines.append(
                f"| {s} | {st['fitted_exponent']:.3f} | {st['exponent_at_16']:.3f} "
                f"| {st['predicted_exponent']:.3f} |"
            )
    lines += [
        "",
        "Reading: the ordering w < dWr < dw < dwr < dr and the values follow the paper's rule;",
        "the fits sit a little below the prediction because of pycls's rounding and the parts",
        "that do not scale (RegNet keeps its stem and head widths, so the 112x112 stem",
        "activations stay). EfficientNet-B0 (stem and head scaled) fits 0.60 for dWr; pycls's own",
        "scale_model() gives 0.61 / 0.52 / 0.93 (dWr / w / dr) at 16x on EN-B0 (reference notes",
        "B2), the 'at s = 16 alone' column here.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the sweep and write the JSON and Markdown records."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/benchmarks", help="output folder")
    args = parser.parse_args()
    data = sweep()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / "scaling.md").write_text(markdown(data))
    for name, entry in data["bases"].items():
        fits = ", ".join(
            f"{s} {st['fitted_exponent']:.2f}" for s, st in entry["strategies"].items()
        )
        print(f"{name}: activation exponents {fits}")
    print(f"wrote {out / 'scaling.json'} and {out / 'scaling.md'}")


if __name__ == "__main__":
    main()
