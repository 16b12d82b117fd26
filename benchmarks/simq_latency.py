"""Measured vs modelled latency of SimQ sub-networks: does the per-layer table order them?

Used by ``benchmarks/simq.py`` (not a script of its own). For ``archs`` random architectures
and ``policies`` bit policies each (all-FP32, all-INT8 and random mixes), the deployed model
(:func:`archsearch.spaces.simq.deploy.deploy`: BN folded, FX-converted INT8 where the policy
says 8 bits, transitions included) is timed end to end at batch 1 and 64, twice, in two
interleaved passes; pass B against pass A is the noise ceiling of the measurement itself. The
model is the per-layer table (:class:`archsearch.spaces.simq.latency.LatencyTable`). Rank
correlations (Spearman, Kendall) are reported across all points, across architectures (the
all-INT8 point of each) and within each architecture over its policies.
"""

from __future__ import annotations

import numpy as np
from archsearch.spaces.simq.deploy import deploy, deployed_kernels, kernel, measure
from archsearch.spaces.simq.latency import LatencyTable
from scipy.stats import kendalltau, spearmanr

from archsearch.arch import Architecture

BATCHES = (1, 64)


def _with_policy(space, arch: Architecture, bits: dict[str, int]) -> Architecture:
    d = {k: v for k, v in arch.decisions.items() if not k.startswith("bits/")}
    d.update({f"bits/{layer}": b for layer, b in bits.items()})
    return space.validate(Architecture(space.name, d))


def policies(space, arch: Architecture, count: int, rng: np.random.Generator) -> list[dict]:
    """All-FP32, all-INT8 and ``count - 2`` random INT8/FP32 mixes of ``arch``'s layers."""
    layers = list(space.policy(arch))
    out = [{n: 32 for n in layers}, {n: 8 for n in layers}]
    while len(out) < count:
        p8 = rng.choice([0.25, 0.5, 0.75])
        mix = {n: (8 if rng.random() < p8 else 32) for n in layers}
        if mix not in out:
            out.append(mix)
    return out


def _corr(a, b) -> dict[str, float]:
    return {
        "spearman": float(spearmanr(a, b).statistic),
        "kendall": float(kendalltau(a, b).statistic),
    }


def study(space, ev, archs: int = 8, count: int = 6, repeats: int = 15, seed: int = 123) -> dict:
    """The latency record (module docstring); ``ev`` is a trained SimQ evaluator."""
    rng = np.random.default_rng(seed)
    shape = ev.task.input_shape
    tables = {b: LatencyTable(batch=b, repeats=repeats) for b in BATCHES}
    points = []
    for i in range(archs):
        base = space.sample(rng)
        for j, bits in enumerate(policies(space, base, count, rng)):
            arch = _with_policy(space, base, bits)
            model, policy, _ = ev._subnet(arch)
            calib = ev.data.train[0][:64]
            points.append(
                {
                    "arch": i,
                    "policy": j,
                    "int8_layers": sum(b < 32 for b in policy.values()),
                    "layers": len(policy),
                    "deployed": deploy(model, policy, calib),
                    "model": {b: t.latency_ms(model, shape, policy) for b, t in tables.items()},
                }
            )
            if j == 0:
                points[-1]["eager_fp32"] = measure(model, shape, BATCHES, 5, repeats)
    for p in points:
        p["A"] = measure(p["deployed"], shape, BATCHES, 5, repeats)
    for p in points:
        p["B"] = measure(p["deployed"], shape, BATCHES, 5, repeats)
    out: dict = {"archs": archs, "policies_per_arch": count, "repeats": repeats, "batches": {}}
    for b in BATCHES:
        A = np.array([p["A"][b] for p in points])
        B = np.array([p["B"][b] for p in points])
        M = np.array([p["model"][b] for p in points])
        int8 = [k for k, p in enumerate(points) if p["policy"] == 1]
        fp32 = [k for k, p in enumerate(points) if p["policy"] == 0]
        within_model, within_repeat = [], []
        for i in range(archs):
            idx = [k for k, p in enumerate(points) if p["arch"] == i]
            within_model.append(float(kendalltau(M[idx], A[idx]).statistic))
            within_repeat.append(float(kendalltau(B[idx], A[idx]).statistic))
        mixed = [k for k, p in enumerate(points) if p["policy"] >= 2]
        fp_of = {p["arch"]: k for k, p in enumerate(points) if p["policy"] == 0}
        out["batches"][str(b)] = {
            "all_points": {"model_vs_measured": _corr(M, A), "repeat_vs_measured": _corr(B, A)},
            "across_archs_int8": {
                "model_vs_measured": _corr(M[int8], A[int8]),
                "repeat_vs_measured": _corr(B[int8], A[int8]),
            },
            "within_arch_kendall": {
                "model_vs_measured": within_model,
                "model_mean": float(np.nanmean(within_model)),
                "repeat_vs_measured": within_repeat,
                "repeat_mean": float(np.nanmean(within_repeat)),
            },
            "int8_speedup_full_policy": {
                "measured_vs_fp32_bn_folded": float(np.mean(A[fp32] / A[int8])),
                "measured_vs_fp32_eager": float(
                    np.mean([points[k]["eager_fp32"][b] for k in fp32] / A[int8])
                ),
                "model": float(np.mean(M[fp32] / M[int8])),
            },
            "mixed_over_fp32": {
                "measured": float(np.mean([A[k] / A[fp_of[points[k]["arch"]]] for k in mixed])),
                "model": float(np.mean([M[k] / M[fp_of[points[k]["arch"]]] for k in mixed])),
            },
            "measured_ms": {
                "min": float(A.min()),
                "median": float(np.median(A)),
                "max": float(A.max()),
            },
        }
    out["four_bit"] = four_bit(space, ev, rng, repeats)
    return out


def four_bit(space, ev, rng: np.random.Generator, repeats: int, archs: int = 3) -> list[dict]:
    """Policies with 4-bit layers against their 8-bit twins: same kernels, same latency."""
    out = []
    shape = ev.task.input_shape
    calib = ev.data.train[0][:64]
    for _ in range(archs):
        base = space.sample(rng)
        model, policy, _ = ev._subnet(base)
        four = {n: int(rng.choice([4, 8, 32])) for n in policy}
        eight = {n: (8 if b == 4 else b) for n, b in four.items()}
        d4, d8 = deploy(model, four, calib), deploy(model, eight, calib)
        t4 = measure(d4, shape, BATCHES, 5, repeats)
        t8 = measure(d8, shape, BATCHES, 5, repeats)
        out.append(
            {
                "four_bit_layers": sum(b == 4 for b in four.values()),
                "kernel_of_4_bit_layers": kernel(4),
                "same_graph_as_8_bit": d4.code == d8.code
                and deployed_kernels(d4, four) == deployed_kernels(d8, eight),
                "latency_ratio_4_over_8": {str(b): t4[b] / t8[b] for b in BATCHES},
            }
        )
    return out


def side_by_side(ev, arch, base, rounds: int = 3, repeats: int = 15) -> dict[str, float]:
    """Latency ratio base / arch at batch 1 and 64, both deployed and timed alternately
    (``rounds`` times each, median of the per-round medians): a ratio of two timings taken at
    the same moment, so machine load affects both alike."""
    shape, calib = ev.task.input_shape, ev.data.train[0][:64]
    deployed = []
    for a in (arch, base):
        model, policy, _ = ev._subnet(a)
        deployed.append(deploy(model, policy, calib))
    times: list[list[dict[int, float]]] = [[], []]
    for _ in range(rounds):
        for k, d in enumerate(deployed):
            times[k].append(measure(d, shape, BATCHES, 5, repeats))
    med = [{b: float(np.median([t[b] for t in ts])) for b in BATCHES} for ts in times]
    return {f"latency_ratio_batch{b}": med[1][b] / med[0][b] for b in BATCHES}
