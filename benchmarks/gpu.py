"""First contact with a GPU: the trainer and the Ray executor on CUDA, in one command (issue 16).

Four parts, each timed, on synthetic 3x32x32 data (10 classes) held on the device:

1. ``throughput``: the trainer's images/s against a plain PyTorch loop (:mod:`gpu_parts`) on the
   same model, data and settings (SGD, cosine schedule, AMP and channels-last on both), for
   NASNet-A at CIFAR size (6 @ 768 and a small one) and a deeparchitect candidate. Goal: the
   trainer at >= 0.95x the plain loop.
2. ``precision``: the trainer under bf16 and fp16 autocast (fp16 with a GradScaler) and in full
   precision, channels-last and contiguous.
3. ``oom``: a local search of three candidates, small, too big for memory, small, under a memory
   cap: the big one becomes a failed trial (out of memory), its memory is handed back, the next
   trains normally.
4. ``ray``: a search through the Ray executor, four trials sharing one GPU
   (``gpus_per_trial=0.25``): a barrier in the evaluator passes only when all four run at once;
   each trial's peak memory is checked against its allocator cap; GPU utilization is sampled.

On a machine without CUDA (or with ``--dry``) the same code paths run on the CPU at tiny sizes
(``"mode": "dry"``): bf16 autocast on the CPU, fp16 skipped (it needs CUDA), the memory cap a
real address-space limit (``RLIMIT_AS``) on a child process, and Ray given one logical GPU, so
the trials get GPU shares and ``CUDA_VISIBLE_DEVICES`` but train on the CPU.

    python benchmarks/gpu.py [--dry] [--out results/benchmarks/gpu.json] [--parts ray,oom]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gpu_oom  # noqa: E402
import gpu_parts as parts  # noqa: E402
import gpu_ray  # noqa: E402

from archsearch.evaluate.placement import native_bf16  # noqa: E402

RUNS = {
    "throughput": parts.throughput_part,
    "precision": parts.precision_part,
    "oom": gpu_oom.oom_part,
    "ray": gpu_ray.ray_part,
}
PARTS = tuple(RUNS)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line; a bad value is one line and exit code 2."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dry", action="store_true", help="CPU, tiny sizes (implied without CUDA)"
    )
    parser.add_argument("--out", default="results/benchmarks/gpu.json")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"of {', '.join(PARTS)}")
    parser.add_argument("--sizes", default=None, help=f"of {', '.join(parts.SIZES)}")
    parser.add_argument("--oom-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    chosen = [p for p in args.parts.split(",") if p]
    bad = [p for p in chosen if p not in PARTS]
    if bad or not chosen:
        parser.error(f"--parts {args.parts!r}: unknown part(s) {bad}; allowed: {', '.join(PARTS)}")
    if args.sizes is not None and args.sizes not in parts.SIZES:
        parser.error(f"--sizes {args.sizes!r} is not allowed; expected one of {list(parts.SIZES)}")
    args.parts = chosen
    return args


def machine(cuda: bool) -> dict:
    """What ran it: versions, the device and the host."""
    import torch

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cpus": os.cpu_count(),
    }
    try:
        import ray

        info["ray"] = ray.__version__
    except ImportError:
        info["ray"] = None
    if cuda:
        props = torch.cuda.get_device_properties(0)
        info.update(
            gpu=props.name,
            gpu_memory_bytes=props.total_memory,
            capability=f"{props.major}.{props.minor}",
            bf16_native=native_bf16(torch.device("cuda")),
            cudnn=torch.backends.cudnn.version(),
        )
    return info


def main(argv: list[str] | None = None) -> dict:
    """Run the chosen parts and write the record (the dry record says it is one)."""
    args = parse(argv)
    import torch

    if args.oom_child:  # the dry OOM part, in a child process under an address-space limit
        print(json.dumps(gpu_oom.oom_part(parts.SIZES[args.sizes or "dry"], "cpu", child=True)))
        return {}
    cuda = torch.cuda.is_available() and not args.dry
    mode = "gpu" if cuda else "dry"
    sizes = parts.SIZES[args.sizes or mode]
    device = "cuda" if cuda else "cpu"
    if not cuda:
        parts.say(f"dry mode: no CUDA{' (--dry)' if args.dry else ''}; CPU at {sizes.name} sizes")
    start = time.perf_counter()
    record: dict = {
        "benchmark": "the trainer and the Ray executor on a GPU (issue 16)",
        "mode": mode,
        "device": device,
        "sizes": sizes.as_json(),
        "machine": machine(cuda),
        "parts": {},
    }
    for name in args.parts:
        t0 = time.perf_counter()
        parts.say(f"part {name}: start")
        if name == "oom" and not cuda:
            result = gpu_oom.oom_in_child(sizes, Path(__file__).resolve())
        else:
            result = RUNS[name](sizes, device)
        result["seconds"] = round(time.perf_counter() - t0, 2)
        record["parts"][name] = result
        parts.say(f"part {name}: done in {result['seconds']} s")
    record["total_seconds"] = round(time.perf_counter() - start, 2)
    record["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    record["checks"] = parts.checks(record)
    if not cuda:
        record["note"] = (
            "dry mode: CPU only, tiny sizes; no GPU figure exists yet. The same code paths ran "
            "(trainer vs plain loop, bf16 autocast, channels-last, a real allocation limit, four "
            "Ray trials on 0.25 of one logical GPU); fp16 and CUDA memory caps need a GPU. "
            "Its timings come from a shared, loaded CPU at tiny sizes: the images/s ratios are "
            "noise, not a measurement; the equal losses of the trainer and the plain loop are."
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    parts.say(f"wrote {out} in {record['total_seconds']} s; checks: {record['checks']}")
    return record


if __name__ == "__main__":
    main()
