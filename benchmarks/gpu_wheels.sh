#!/usr/bin/env bash
# Fetch into .whl/ the wheels that benchmarks/gpu_device.sh needs on an offline CUDA machine.
#
# Run it on a machine that reaches PyPI. The target is an offline machine whose Python (3.12,
# x86-64) already holds a CUDA build of torch and the scientific stack, but not Ray Tune and
# the few pure-Python packages below. The wheels are for that interpreter, not this one.
# Ray's wheel (79 MB) is slimmed to 44 MB: its Java jar and the dashboard's prebuilt web
# client are dropped (Java workers and the dashboard UI are never used here), so everything
# travels in under 64 MiB. Versions are the ones the project was tested with.
#
#     bash benchmarks/gpu_wheels.sh          # writes .whl/*.whl (git-ignored)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DEST=.whl
rm -rf "$DEST" && mkdir -p "$DEST"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
    manylinux1_x86_64; do
    platforms+=(--platform "$p")
done
# --isolated: the package index itself, not a local mirror of this machine's own builds.
binary() {
    "$PY" -m pip download --isolated -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp "${platforms[@]}" -d "$DEST" "$@"
}
# Ray Tune and what it needs that the CUDA image lacks.
binary ray==2.60.0 jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 \
    rpds-py==2026.9.1 tensorboardX==2.6.5 pydantic==2.14.4 pydantic-core==2.50.5 \
    annotated-types==0.8.0 typing-inspection==0.4.5
# fvcore (measured counts) and its helpers; fvcore and iopath are published as sources only.
binary yacs==0.1.8 termcolor==3.3.0
"$PY" -m pip wheel --isolated -q --no-deps -w "$DEST" fvcore==0.1.5.post20221221 iopath==0.1.10
"$PY" - "$DEST" <<'EOF'
"""Rewrite Ray's wheel without its Java jar and web client, and without their RECORD lines."""
import sys
import zipfile
from pathlib import Path

(src,) = Path(sys.argv[1]).glob("ray-*.whl")
drop = ("ray/jars/", "ray/dashboard/client/build/")
slim = src.with_suffix(".slim")
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(slim, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        if info.filename.startswith(drop):
            continue
        data = zin.read(info)
        if info.filename.endswith(".dist-info/RECORD"):
            lines = data.decode().splitlines(keepends=True)
            data = "".join(line for line in lines if not line.startswith(drop)).encode()
        zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
slim.replace(src)
EOF
du -ch "$DEST"/*.whl | tail -1
