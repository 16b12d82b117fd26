"""Bases and tables of compound scaling: load a base network, compare strategies side by side.

Shared by ``archsearch scale``, ``--strategy scaling`` and ``benchmarks/scaling.py``. A *base*
is a reference name of :data:`archsearch.spaces.cnn.zoo.ZOO`, an Architecture JSON file, a
run's ``best.json``, or a run folder (its ``best.json``, else the best record of its journal).
Complexities are pycls's (:func:`archsearch.spaces.cnn.spec.complexity`) at each spec's own
design resolution; ratios are to the base.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archsearch.solvers.scaling.solver import ALPHAS, NAMED, factors, scale_spec
from archsearch.spaces.cnn.space import CNNSpec, complexity, decode, encode
from archsearch.spaces.cnn.zoo import ZOO

from archsearch.arch import Architecture

#: The strategies of ``archsearch scale --compare``, in the paper's order.
COMPARED = ("w", "dw", "dr", "dwr", "dWr")
METRICS = ("flops", "params", "activations")


def load_base(source: str | Path) -> Architecture:
    """The base architecture named by ``source`` (reference name, JSON file or run folder)."""
    text = str(source)
    if text in ZOO:
        return encode(ZOO[text])
    path = Path(text)
    if path.is_dir():
        best = path / "best.json"
        if best.is_file():
            try:
                return Architecture.load(best)
            except ValueError:
                pass  # a best.json of a run with no successful trial: read the journal
        from archsearch.results import Run

        record = Run.open(path).best()
        if record is None:
            raise ValueError(f"run {path} has no successful trial to scale")
        return record.trial.arch
    if not path.exists():
        raise FileNotFoundError(
            f"base {text!r} is neither a file, a run folder nor a reference network "
            f"({', '.join(ZOO)})"
        )
    try:
        return Architecture.load(path)
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, KeyError) as e:
        raise ValueError(
            f"--arch {text!r} is not an architecture JSON file ({type(e).__name__}); "
            "expected a file written by --out or a run's best.json"
        ) from None


def as_spec(base: Architecture | CNNSpec) -> CNNSpec:
    """The CNN spec of a base (a ``cnn`` Architecture or a spec)."""
    return base if isinstance(base, CNNSpec) else decode(base)


def row(
    base: CNNSpec,
    factor: float,
    strategy: str | None = None,
    alpha: float = 0.8,
    classes: int = 1000,
) -> dict[str, Any]:
    """One scaled network: strategy, multipliers, structure and complexity (absolute, ratio)."""
    f = factors(factor, strategy, alpha)
    spec = scale_spec(base, f)
    cx, cx0 = complexity(spec, classes), complexity(base, classes)
    name = strategy if strategy is not None else f"alpha={alpha:g}"
    return {
        "strategy": name,
        "type": NAMED.get(strategy, strategy) if strategy else None,
        "alpha": ALPHAS.get(strategy) if strategy else alpha,
        "factor": factor,
        "multipliers": {"d": f.d, "w": f.w, "g": f.g, "r": f.r},
        "spec": spec,
        "depths": [st.d for st in spec.stages],
        "widths": [st.w for st in spec.stages],
        "groups": [st.g for st in spec.stages],
        "resolution": spec.resolution,
        **{m: cx[m] for m in METRICS},
        **{f"{m}_ratio": cx[m] / cx0[m] for m in METRICS},
    }


def describe(spec: CNNSpec) -> str:
    """The spec stage by stage, as a text table."""
    lines = [
        f"{'stage':<6} {'block':<10} {'w':>6} {'b':>6} {'k':>2} {'s':>2} {'d':>3} "
        f"{'g':>5} {'se':>5} {'e':>4}"
    ]
    lines.append(f"{'stem':<6} {'conv3x3':<10} {spec.stem_w:>6} {'':>6} {3:>2} {2:>2} {1:>3}")
    for i, st in enumerate(spec.stages, 1):
        lines.append(
            f"{i:<6} {st.block:<10} {st.w:>6} {st.b:>6} {st.k:>2} {st.s:>2} {st.d:>3} "
            f"{st.g:>5} {st.se:>5g} {st.e:>4g}"
        )
    head = f"conv1x1 {spec.head_w}" if spec.head_w else "pool, fc"
    test = f" (test {spec.test_resolution})" if spec.test_resolution else ""
    lines.append(f"head: {head}; resolution {spec.resolution}{test}")
    return "\n".join(lines)


def complexity_table(base: CNNSpec, scaled: CNNSpec, classes: int = 1000) -> str:
    """FLOPs, params and activations of base and scaled, absolute and as ratios."""
    cx0, cx = complexity(base, classes), complexity(scaled, classes)
    lines = [f"{'':<12} {'base':>16} {'scaled':>16} {'ratio':>8}"]
    for m in METRICS:
        lines.append(f"{m:<12} {cx0[m]:>16,} {cx[m]:>16,} {cx[m] / cx0[m]:>7.2f}x")
    return "\n".join(lines)


def compare_table(rows: Sequence[dict[str, Any]]) -> str:
    """Side-by-side table of scaled networks (one line per strategy and factor)."""
    head = (
        f"{'strategy':<9} {'s':>4} {'depths':<22} {'widths':<28} {'g':<16} {'res':>4} "
        f"{'GFLOPs':>15} {'M params':>16} {'M acts':>15}"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['strategy']:<9} {r['factor']:>4g} {_ints(r['depths']):<22} "
            f"{_ints(r['widths']):<28} {_ints(r['groups']):<16} {r['resolution']:>4} "
            f"{r['flops'] / 1e9:>7.3f} ({r['flops_ratio']:>5.2f}x) "
            f"{r['params'] / 1e6:>8.3f} ({r['params_ratio']:>5.2f}x) "
            f"{r['activations'] / 1e6:>7.3f} ({r['activations_ratio']:>5.2f}x)"
        )
    return "\n".join(lines)


def _ints(xs: Sequence[int]) -> str:
    return "[" + ",".join(str(x) for x in xs) + "]"
