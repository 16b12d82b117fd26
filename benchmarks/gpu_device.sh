#!/usr/bin/env bash
# On a CUDA machine: install, run the GPU tests and benchmarks/gpu.py; everything lands in $OUT.
#
# Two kinds of machine:
# * online (reaches PyPI): installed as the README says, with `--isolated` so that no local
#   mirror of CPU builds is used: `pip install --isolated torch==2.13.0 -e ".[dev]"`. On Linux
#   x86-64, PyPI's torch 2.13.0 *is* the CUDA build (CUDA 13.0, from the cuda-toolkit and
#   nvidia-* wheels it depends on; it needs an NVIDIA driver of the 580 series or newer). The
#   CPU-only build is not on PyPI: a venv that got `+cpu` took it from a local wheel mirror.
# * offline, with a CUDA torch already installed (for instance an image whose python3 holds
#   torch 2.11+cu130): that torch is used (pyproject allows torch 2.2 to 2.13) and the missing
#   packages come as wheels in .whl/, fetched beforehand by `bash benchmarks/gpu_wheels.sh` on a
#   machine that reaches PyPI, then archsearch is installed editable without dependencies.
#
#     bash benchmarks/gpu_device.sh     # OUT=folder (default results/gpu-device)
#
# Writes $OUT/install.log, $OUT/gpu_tests.log, $OUT/gpu_bench.log and $OUT/gpu.json (the
# record: copy it to results/benchmarks/gpu.json and commit it). Sized for under 10 minutes on
# one H200 (not yet run there); each step has its own time limit, so a hang cannot eat the
# whole lease.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/gpu-device}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
PY=${PYTHON:-python3}
SITE="$(mktemp -d)"  # carried wheels are installed here (the checkout stays as it came)
say() { echo "[gpu_device.sh $(date -u +%H:%M:%S)] $*"; }

have_cuda_torch() {
    "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null
}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
    if have_cuda_torch; then
        say "using the installed CUDA torch: $("$PY" -c 'import torch; print(torch.__version__)')"
        if compgen -G ".whl/*.whl" >/dev/null; then
            "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
                --target "$SITE" .whl/*.whl || exit 1
            export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
        fi
        "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
    else
        say "no CUDA torch here: installing torch 2.13.0 (CUDA build) from PyPI"
        "$PY" -m pip install -q --isolated torch==2.13.0 -e ".[dev]" || exit 1
    fi
    "$PY" -c 'import torch, ray, ray.tune, archsearch; print("torch", torch.__version__,
        "cuda", torch.version.cuda, torch.cuda.get_device_name(0), "ray", ray.__version__)'
} 2>&1 | tee "$OUT/install.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || { say "install failed (see $OUT/install.log)"; exit 1; }
# Carried wheels sit on PYTHONPATH; Ray's workers inherit it from this shell.
if compgen -G "$SITE/*" >/dev/null; then export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}; fi

say "GPU tests"
timeout 240 "$PY" -m pytest -p no:cacheprovider -m gpu tests/test_gpu.py -v -rs 2>&1 |
    tee "$OUT/gpu_tests.log"
tests=${PIPESTATUS[0]}

say "benchmarks/gpu.py"
timeout 420 "$PY" benchmarks/gpu.py --out "$OUT/gpu.json" 2>&1 | tee "$OUT/gpu_bench.log"
bench=${PIPESTATUS[0]}

say "tests exit $tests, benchmark exit $bench; record: $OUT/gpu.json"
[ "$tests" -eq 0 ] && [ "$bench" -eq 0 ]
