"""The markdown summary of ``results/benchmarks/simq.json`` (used by ``benchmarks/simq.py``)."""

from __future__ import annotations

import numpy as np


def _f(x, spec=".3f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def _latency(rec: dict) -> list[str]:
    lat = rec["latency_study"]
    lines = [
        "## Latency: measured end to end vs the per-layer table model",
        "",
        f"{lat['archs']} random architectures x {lat['policies_per_arch']} policies (all-FP32, "
        "all-INT8, random mixes). Measured: the deployed model, timed twice in two interleaved "
        "passes (A, B); B vs A is the noise ceiling of the measurement. Model: the per-layer "
        "conv/linear table (no BN, ReLU, adds, pooling or quantize/dequantize transitions).",
        "",
        "| batch | Spearman all points: model / repeat | Kendall across archs (all-INT8): "
        "model / repeat | mean Kendall within an arch: model / repeat | INT8 speed-up "
        "(full policy): measured vs FP32 BN-folded / vs FP32 eager / model | mixed / FP32 of "
        "the same arch: measured / model |",
        "|---|---|---|---|---|---|",
    ]
    for b, s in lat["batches"].items():
        a, x, w = s["all_points"], s["across_archs_int8"], s["within_arch_kendall"]
        sp, m = s["int8_speedup_full_policy"], s["mixed_over_fp32"]
        lines.append(
            f"| {b} | {_f(a['model_vs_measured']['spearman'], '.2f')} / "
            f"{_f(a['repeat_vs_measured']['spearman'], '.2f')} | "
            f"{_f(x['model_vs_measured']['kendall'], '.2f')} / "
            f"{_f(x['repeat_vs_measured']['kendall'], '.2f')} | "
            f"{_f(w['model_mean'], '.2f')} / {_f(w['repeat_mean'], '.2f')} | "
            f"{sp['measured_vs_fp32_bn_folded']:.2f}x / {sp['measured_vs_fp32_eager']:.2f}x / "
            f"{sp['model']:.2f}x | {m['measured']:.2f} / {m['model']:.2f} |"
        )
    fb = lat["four_bit"]
    lines += [
        "",
        f"4-bit layers run as {fb[0]['kernel_of_4_bit_layers']} kernels (no 4-bit CPU kernel): "
        f"deployed graph identical to the 8-bit twin in {sum(r['same_graph_as_8_bit'] for r in fb)}"
        f" of {len(fb)} cases; measured latency ratio 4-bit/8-bit twin at batch 64: "
        + ", ".join(f"{r['latency_ratio_4_over_8']['64']:.2f}" for r in fb)
        + " (timing noise only).",
        "",
    ]
    return lines


def _pair(pair: str, out: dict, rec: dict) -> list[str]:
    budget = rec["settings"]["budget"]
    lines = [f"## {pair}", ""]
    for ref in ("default", "baseline"):
        r = out["reach"][ref]
        lines += [
            f"Validation hypervolume, {ref} reference (accuracy "
            f"{out['references'][ref]['accuracy']:.4f}, {pair.split(',')[1]} "
            f"{out['references'][ref][pair.split(',')[1]]:.4f}):",
            "",
            f"| method | final (mean ± sd) | at {budget // 3} evaluations | test HV of the final"
            " front (mean) |",
            "|---|---|---|---|",
        ]
        for m in r["final_mean"]:
            test = np.mean([run["test_hv"][ref] for run in out["methods"][m]["runs"]])
            lines.append(
                f"| {m} | {r['final_mean'][m]:.4f} ± {r['final_std'][m]:.4f} | "
                f"{r['at_third_mean'][m]:.4f} | {test:.4f} |"
            )
        lines += [
            "",
            f"Evaluations to reach NSGA-II's final HV, per seed: LINAS {r['linas_to_nsga2_final']}"
            f", random {r['random_to_nsga2_final']}; NSGA-II to LINAS's final: "
            f"{r['nsga2_to_linas_final']} (None: not within {budget}).",
            "",
        ]
    lines += [
        "Chosen point per seed (selected on validation: smallest cost at or above the "
        "baseline's validation accuracy), reported on test: test accuracy (baseline "
        f"{rec['baseline_int8_full']['test_accuracy']:.4f}), latency ratio at batch 64 (batch 1) "
        "timed side by side with the baseline, size ratio vs the all-INT8 baseline:",
        "",
        "| method | per seed |",
        "|---|---|",
    ]
    for m, v in out["methods"].items():
        cells = []
        for run in v["runs"]:
            c = run["chosen"]
            cells.append(
                "none"
                if c is None
                else f"{c['test_accuracy']:.4f}, {c['latency_ratio_batch64']:.2f}x "
                f"(b1 {c['latency_ratio_batch1']:.2f}x), {c['size_ratio']:.2f}x"
            )
        lines.append(f"| {m} | {'; '.join(cells)} |")
    return lines + [""]


def _predictors(rec: dict) -> list[str]:
    p = rec["predictors"]
    lines = [
        "## Predictors: error over a mean predictor's error (1.0 = no better than the mean)",
        "",
        f"Held-out: {p['held_out']} random sub-networks (pool {p['pool']}, {p['repeats']} "
        "random splits).",
        "",
        "| training points | accuracy MAE ratio | log-latency MAE ratio | latency Spearman |",
        "|---|---|---|---|",
    ]
    for n, s in p["sizes"].items():
        lines.append(
            f"| {n} | {s['accuracy_ratio']['mean']:.2f} | {s['latency_ratio']['mean']:.2f} | "
            f"{s['latency_spearman']['mean']:.2f} |"
        )
    lines += [
        "",
        "Inside LINAS, accuracy predictor on the round it proposed (mean over seeds):",
        "",
    ]
    for pair, out in rec["pairs"].items():
        by_round: dict = {}
        for run in out["methods"]["linas"]["runs"]:
            for r in run["predictor_rounds"]:
                if r["ratio"] is not None:
                    by_round.setdefault(r["round"], []).append(r["ratio"])
        cells = ", ".join(f"round {k}: {np.mean(v):.2f}" for k, v in sorted(by_round.items()))
        lines.append(f"- {pair}: {cells}")
    return lines + [""]


def markdown(rec: dict) -> str:
    """The record as a markdown summary."""
    b, s = rec["baseline_int8_full"], rec["settings"]
    rep = rec["reproduce"]
    lines = [
        "# SimQ-NAS benchmark (simq-resnet, digits)",
        "",
        f"Split train/valid/test {rec['split']['train']}/{rec['split']['valid']}/"
        f"{rec['split']['test']} (fixed, stratified); search, selection and calibration use "
        "train/valid only; every accuracy of a chosen or front point below is on test. Budget "
        f"{s['budget']} evaluations per run, seeds {s['seeds']}, population {s['population']}, "
        f"LINAS inner loop {s['inner_evals']}. Super-network {s['epochs']} epochs, trained once. "
        f"Latency: {rec['latency_source']} ({rec['latency_protocol']}). "
        f"Total {rec['total_seconds']} s; load average (1/5/15 min) "
        + "; ".join(
            f"{k} {tuple(round(x, 1) for x in v)}"
            for k, v in rec["load_average_1_5_15min"].items()
        )
        + ". Latency figures vary with machine load; accuracies and sizes do not.",
        "",
        f"Reproducibility: a second training from scratch gives identical weights: "
        f"{rep['weights_identical']}; identical accuracies on {len(rep['accuracies'])} "
        f"sub-networks: {rep['accuracies_identical']}.",
        "",
        f"All-INT8 full network (baseline): valid accuracy {b['accuracy']:.4f}, test accuracy "
        f"{b['test_accuracy']:.4f}, {b['latency_ms']:.3f} ms/batch 64, "
        f"{b['latency_ms_batch1']:.3f} ms/batch 1, {b['size_mb'] * 1e3:.1f} kB. FP32 full: "
        f"{rec['fp32_full']['latency_ms']:.3f} ms/batch 64, test accuracy "
        f"{rec['fp32_full']['test_accuracy']:.4f}.",
        "",
        "Hypervolume references: default = (accuracy 0, the worst cost of the pair over the FP32 "
        "full network and every evaluated point: one reference for all runs of a pair, so no "
        "point is cut off by a latency measured under another load); baseline = (all-INT8 "
        f"baseline's accuracy - {rec['margin']}, same cost). Test HV uses the baseline's test "
        "accuracy. Points below the reference add nothing.",
        "",
    ]
    lines += _latency(rec)
    for pair, out in rec["pairs"].items():
        lines += _pair(pair, out, rec)
    lines += _predictors(rec)
    return "\n".join(lines) + "\n"
