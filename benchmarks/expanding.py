"""Benchmark: one growing run on digits against fixed networks of the same sizes.

For each seed, one growing training (``archsearch.spaces.expanding``) leaves a checkpoint at
every size it passed through. Each of those architectures is then trained from scratch as a
fixed network for the same number of epochs as the whole growing run, with the same optimizer,
schedule and training examples (the growing run's held-out scoring examples are left out of
both). Recorded: accuracy against parameters for both, and the training compute of the growing
run (analytic FLOPs, training plus scoring, and measured seconds) against training every fixed
size separately.

Run: ``python benchmarks/expanding.py [--epochs 20] [--seeds 0 1]``; writes
``results/benchmarks/expanding.json`` and ``.md``. Single-threaded torch; a few minutes.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from archsearch.spaces.expanding.grow import grow
from archsearch.spaces.expanding.net import ExpandableCNN
from archsearch.spaces.expanding.settings import GrowthSettings
from archsearch.spaces.expanding.spec import NetSpec

from archsearch.data import load_data

OUT = Path(__file__).resolve().parent.parent / "results" / "benchmarks"
SETTINGS = GrowthSettings(tau=0.15, alpha=0.01, cooldown=2, max_params=30_000, fisher="exact")
SEED_NET = {"blocks": 3, "width": 4}


def _growing(data, epochs: int, seed: int, tmp: Path) -> dict:
    spec = NetSpec.seed(data.task.input_shape, data.task.num_classes, **SEED_NET)
    model = ExpandableCNN(spec, torch.Generator().manual_seed(seed))
    run = grow(model, data.train, data.valid, SETTINGS, epochs=epochs, seed=seed, out=tmp)
    return {
        "seconds": run.seconds,
        "train_flops": run.train_flops,
        "score_flops": run.score_flops,
        "trajectory": [
            {k: r.get(k) for k in ("epoch", "params", "arch", "val_accuracy", "eta", "growth")}
            for r in run.history
        ],
        "checkpoints": [
            {k: c[k] for k in ("epoch", "params", "val_accuracy", "spec", "next_growth")}
            for c in run.checkpoints
        ],
    }


def _fixed(data, spec_json: dict, epochs: int, seed: int) -> dict:
    """Train one architecture from scratch: the growing loop with growth switched off."""
    spec = NetSpec.from_json(spec_json)
    model = ExpandableCNN(spec, torch.Generator().manual_seed(seed))
    never = replace(SETTINGS, cooldown=epochs + 1)
    run = grow(model, data.train, data.valid, never, epochs=epochs, seed=seed)
    last = run.history[-1]
    return {
        "params": last["params"],
        "arch": last["arch"],
        "val_accuracy": last["val_accuracy"],
        "seconds": run.seconds,
        "train_flops": run.train_flops,
    }


def main() -> None:
    """Run the benchmark and write the JSON and Markdown records."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--render", action="store_true", help="only rewrite the .md from the existing .json"
    )
    args = ap.parse_args()
    if args.render:
        record = json.loads((args.out / "expanding.json").read_text())
        (args.out / "expanding.md").write_text(_markdown(record))
        return
    torch.set_num_threads(1)
    data = load_data("digits")
    runs = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            growing = _growing(data, args.epochs, seed, Path(tmp))
        fixed = [_fixed(data, c["spec"], args.epochs, seed) for c in growing["checkpoints"]]
        runs.append({"seed": seed, "growing": growing, "fixed": fixed})
        print(f"seed {seed}: {len(fixed)} sizes, growing {growing['seconds']:.1f}s", flush=True)
    record = {
        "benchmark": "expanding",
        "dataset": "digits (scikit-learn, 1,437 train / 360 validation, 8x8x1)",
        "epochs": args.epochs,
        "seed_net": SEED_NET,
        "settings": asdict(SETTINGS),
        "flop_convention": "one fused multiply-add = one FLOP; training = 3 x forward per "
        "example; scoring = (1 + backward passes) x forward per held-out example per scored "
        "network (K-FAC factor algebra not counted)",
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip()
        + ", torch threads = 1, shared machine: timings are noisy",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "expanding.json").write_text(json.dumps(record, indent=2) + "\n")
    (args.out / "expanding.md").write_text(_markdown(record))
    print((args.out / "expanding.md").read_text())


def _summary_row(run: dict) -> str:
    g, fixed = run["growing"], run["fixed"]
    total = g["train_flops"] + g["score_flops"]
    return (
        f"| {run['seed']} | {len(fixed)} | {fixed[-1]['params']:,} | "
        f"{g['checkpoints'][-1]['val_accuracy']:.4f} | {fixed[-1]['val_accuracy']:.4f} | "
        f"{total / sum(f['train_flops'] for f in fixed):.2f} | "
        f"{total / fixed[-1]['train_flops']:.2f} |"
    )


def _markdown(rec: dict) -> str:
    s = rec["settings"]
    lines = [
        "# Self-expanding CNN on digits: one growing run vs fixed networks",
        "",
        f"Generated by `benchmarks/expanding.py` ({rec['created']}). {rec['dataset']}; "
        f"{rec['epochs']} epochs; seed net {rec['seed_net']['blocks']} blocks x "
        f"{rec['seed_net']['width']} channels; tau={s['tau']}, alpha={s['alpha']}, "
        f"cooldown={s['cooldown']}, widen_by={s['widen_by']}, layer_init={s['layer_init']}, "
        f"layer_cost={s['layer_cost']}, max_params={s['max_params']}, select={s['select']}, "
        f"fisher={s['fisher']}, "
        f"score_size={s['score_size']} held-out training examples. {rec['machine']}.",
        "",
        "| seed | sizes | final params | growing final acc | fixed acc, same arch | "
        "growing FLOPs / all fixed sizes | growing FLOPs / largest fixed alone |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *[_summary_row(run) for run in rec["runs"]],
        "",
        "Growing FLOPs include scoring the candidates at every gate.",
        "",
        "Checkpoint k is the network just before growth k (and the final one): it was trained "
        "for the epochs shown. The fixed network of the same architecture was trained from "
        f"scratch for all {rec['epochs']} epochs on the same examples.",
        "",
    ]
    for run in rec["runs"]:
        g = run["growing"]
        lines += [
            f"## Seed {run['seed']}",
            "",
            "| checkpoint | arch | params | epochs trained | growing val acc | "
            "fixed val acc | fixed seconds |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for i, (c, f) in enumerate(zip(g["checkpoints"], run["fixed"])):
            lines.append(
                f"| {i} | {f['arch']} | {c['params']:,} | {c['epoch']} | "
                f"{c['val_accuracy']:.4f} | {f['val_accuracy']:.4f} | {f['seconds']:.1f} |"
            )
        fixed_flops = sum(f["train_flops"] for f in run["fixed"])
        fixed_secs = sum(f["seconds"] for f in run["fixed"])
        grow_flops = g["train_flops"] + g["score_flops"]
        lines += [
            "",
            "| training compute | FLOPs | seconds |",
            "|---|---:|---:|",
            f"| growing run, training | {g['train_flops']:.3g} | |",
            f"| growing run, scoring candidates | {g['score_flops']:.3g} | |",
            f"| growing run, total | {grow_flops:.3g} | {g['seconds']:.1f} |",
            f"| all {len(run['fixed'])} fixed sizes, separately | {fixed_flops:.3g} | "
            f"{fixed_secs:.1f} |",
            f"| the largest fixed size alone | {run['fixed'][-1]['train_flops']:.3g} | "
            f"{run['fixed'][-1]['seconds']:.1f} |",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
