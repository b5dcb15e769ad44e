#!/usr/bin/env bash
# One-shot GPU measurement for issue 11: timm's own benchmark.py beside our `profile` (five paper models,
# fp32 and bf16, inference and training), our protocol vs a plain timing loop (`perf` part profile) and the
# training loop vs a bare loop (`perf` part loop).  Writes JSON (and log.txt) into $OUT.
#
#   OUT=/some/dir bash scripts/gpu_measure.sh            # the GPU run (about 8 minutes on one H100/H200)
#   OUT=/tmp/gm bash scripts/gpu_measure.sh --tiny       # the same path, CPU-sized (minutes): proves it works
#   extra arguments go to scripts/gpu_measure.py (--batch, --steps, --rounds, --parts timm,ours,...)
#
# Needs, beside the repository (all optional; each missing one is reported and its part skipped or failed):
#   TIMM_BENCHMARK  timm's benchmark.py (default .cache/timm/benchmark.py).  It is not in the timm wheel nor in
#                   its sdist: take it from the repository at the tag of the installed timm, e.g.
#                   https://github.com/huggingface/pytorch-image-models/blob/v1.0.31/benchmark.py
#   WHEELS          a folder of wheels for what the machine lacks (default .cache/whl): fvcore, iopath, yacs,
#                   termcolor, torch-fidelity and timm==1.0.31; installed offline with --no-index into /tmp/site.
#                   Make them here with:  pip download --no-deps --only-binary=:all: --python-version 3.12
#                   --platform manylinux2014_x86_64 -d .cache/whl timm==1.0.31 yacs termcolor torch-fidelity==0.4.0
#                   && pip wheel --no-deps -w .cache/whl fvcore==0.1.5.post20221221 iopath==0.1.10
#   FASHION_MNIST_DIR  the Fashion-MNIST IDX files for the loop part (default .cache/fmnist if it exists)
#   PYTHON          the interpreter (default: .venv/bin/python if it imports torch, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${OUT:?set OUT to the folder for the results}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ] && .venv/bin/python -c "import torch" 2>/dev/null; then PYTHON=.venv/bin/python
  else PYTHON=python3; fi
fi
WHEELS="${WHEELS:-.cache/whl}"
TIMM_BENCHMARK="${TIMM_BENCHMARK:-.cache/timm/benchmark.py}"
if [ -z "${FASHION_MNIST_DIR:-}" ] && [ -d .cache/fmnist ]; then export FASHION_MNIST_DIR="$PWD/.cache/fmnist"; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

# Install, offline, the wheels of whatever does not import (or is not the timm version the tests pin).
missing=$("$PYTHON" - <<'EOF'
import importlib.metadata as md, importlib.util as iu
need = {"fvcore": "fvcore", "iopath": "iopath", "yacs": "yacs", "termcolor": "termcolor",
        "torch_fidelity": "torch-fidelity", "timm": "timm"}
out = [dist for mod, dist in need.items() if iu.find_spec(mod) is None]
if "timm" not in out and md.version("timm") != "1.0.31":
    out.append("timm")
print(" ".join(out))
EOF
)
if [ -n "$missing" ]; then
  echo "[gpu_measure] missing or other version: $missing"
  if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    wheels=()
    for dist in $missing; do
      w=$(ls "$WHEELS"/"${dist//-/_}"-*.whl 2>/dev/null | head -1 || true)
      if [ -n "$w" ]; then wheels+=("$w"); else echo "[gpu_measure] no wheel for $dist in $WHEELS"; fi
    done
    if [ ${#wheels[@]} -gt 0 ]; then
      "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "${wheels[@]}"
      export PYTHONPATH="/tmp/site:$PYTHONPATH"
    fi
  else
    echo "[gpu_measure] no wheels in $WHEELS: parts that need $missing may fail"
  fi
fi

"$PYTHON" -c "import torch, timm; print('[gpu_measure] torch', torch.__version__, 'timm', timm.__version__, \
'cuda' if torch.cuda.is_available() else 'no cuda', torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
[ -f "$TIMM_BENCHMARK" ] || echo "[gpu_measure] no timm benchmark.py at $TIMM_BENCHMARK: the timm part is skipped"
"$PYTHON" scripts/gpu_measure.py --out "$OUT" --timm-benchmark "$TIMM_BENCHMARK" "$@"
echo "[gpu_measure] done: $(ls "$OUT" | tr '\n' ' ')"
