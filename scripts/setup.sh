#!/usr/bin/env bash
# Set up everything sase-bench needs; safe to run again (each step is skipped when done).
#   - Debian's dataset-fashion-mnist (the embedded recognition data), when apt-get is there
#   - a virtual environment in .venv with torch, torchvision and the package (editable, with the test extras and
#     JupyterLab for the notebooks: scripts/notebooks.sh)
# Environment knobs:
#   TORCH_SPEC   pip requirement(s) for torch/torchvision (default: the builds this project is tested with)
#   PYTHON       the interpreter used to create .venv (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}"
FMNIST_DIR=/usr/share/datasets/fashion-mnist

if [ ! -f "$FMNIST_DIR/train-images-idx3-ubyte.gz" ] && [ -z "${FASHION_MNIST_DIR:-}" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "[setup] installing Debian's dataset-fashion-mnist" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "[setup] warning: no apt-get; set FASHION_MNIST_DIR to a folder with the Fashion-MNIST IDX files" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $PYTHON" >&2
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import torch, torchvision" >/dev/null 2>&1; then
  echo "[setup] installing $TORCH_SPEC (several GB; taken from the local disk where available)" >&2
  # shellcheck disable=SC2086
  .venv/bin/pip install -q $TORCH_SPEC
fi
if ! .venv/bin/python -c "import benchmark, sase, baselines, timm, fvcore, torch_fidelity, pytest, jupyterlab" >/dev/null 2>&1 \
   || [ pyproject.toml -nt .venv/.sase-bench-installed ]; then
  echo "[setup] installing sase-bench (editable) and its dependencies" >&2
  .venv/bin/pip install -q -e ".[test,notebooks]"
  touch .venv/.sase-bench-installed
fi
echo "[setup] ready: $(.venv/bin/python -c 'import torch; print("torch", torch.__version__)')" >&2
