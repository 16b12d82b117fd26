"""Published NASNet-A counts rebuilt from the genotype through the nasnet space.

Zoph et al., CVPR 2018, Tables 1-3: NASNet-A 6 @ 768 and 7 @ 2304 on CIFAR-10, 4 @ 1056
(mobile, 224 px) and 6 @ 4032 (large, 331 px) on ImageNet. For each model this records the
analytic count of the space, the trainable parameters of the built model (on the ``meta``
device, no memory), fvcore's conv + linear multiply-adds of a real model (``--no-fvcore`` skips
it) and the relative difference to the published figure. Counts are deterministic; only the
seconds column depends on the machine.

    python benchmarks/nasnet_counts.py [--out results/benchmarks/nasnet_counts.json]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from archsearch.spaces.nasnet import PUBLISHED, NASNetSpace, Published, genotype

from archsearch.complexity import count
from archsearch.space import Task


def _fvcore_macs(space: NASNetSpace, task: Task) -> int:
    model = space.build(genotype("nasnet-a"), task)
    return int(count(model, task.input_shape)["flops"])


def measure(row: Published, fvcore: bool) -> dict:
    """Counts of one published model."""
    t0 = time.perf_counter()
    space, task = NASNetSpace(row.config), Task((3, row.resolution, row.resolution), row.classes)
    cx = space.complexity(genotype("nasnet-a"), task)
    with torch.device("meta"):
        built = sum(p.numel() for p in space.build(genotype("nasnet-a"), task).parameters())
    rec = {
        "model": row.name,
        "config": asdict(row.config),
        "input": [3, row.resolution, row.resolution],
        "classes": row.classes,
        "params_published": row.params,
        "params_analytic": cx["params"],
        "params_built": built,
        "params_rel_diff": round(cx["params"] / row.params - 1, 4),
        "mult_adds_published": row.mult_adds,
        "mult_adds_analytic": cx["flops"],
        "mult_adds_rel_diff": (
            None if row.mult_adds is None else round(cx["flops"] / row.mult_adds - 1, 4)
        ),
    }
    if fvcore:
        rec["mult_adds_fvcore_conv_linear"] = _fvcore_macs(space, task)
    rec["within_3_percent"] = abs(rec["params_rel_diff"]) < 0.03 and (
        rec["mult_adds_rel_diff"] is None or abs(rec["mult_adds_rel_diff"]) < 0.03
    )
    rec["seconds"] = round(time.perf_counter() - t0, 2)
    return rec


def main() -> None:
    """Measure every published model and write the JSON record."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("results/benchmarks/nasnet_counts.json"))
    ap.add_argument("--no-fvcore", action="store_true", help="skip building real models")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = [measure(r, not args.no_fvcore) for r in PUBLISHED]
    # The 7 @ 2304 count is off; the same cells with N = 6 land within 3 % (see docs/nasnet.md).
    probe = replace(PUBLISHED[1], name="cifar10 6@2304 (probe, not published)")
    probe = replace(probe, config=replace(probe.config, cells=6))
    rows.append(measure(probe, False))
    record = {
        "benchmark": "nasnet_counts",
        "source": "Zoph et al. 2018 Tables 1-3; genotype NASNet-A, concat rule 'released'",
        "note": "params = trainable parameters (no auxiliary head); mult-adds = conv + linear "
        "multiply-adds of one forward pass (the paper's figure and archsearch.complexity's one "
        "FLOP convention). Counts are exact and machine-independent; seconds were measured on a "
        "shared, busy 2-core CPU.",
        "torch": torch.__version__,
        "models": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    for r in rows:
        print(
            f"{r['model']:<40} params {r['params_analytic']:>12,} ({r['params_rel_diff']:+.1%})"
            f"  mult-adds {r['mult_adds_analytic']:>15,}"
            + ("" if r["mult_adds_rel_diff"] is None else f" ({r['mult_adds_rel_diff']:+.1%})")
        )


if __name__ == "__main__":
    main()
