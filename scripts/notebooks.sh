#!/usr/bin/env bash
# Open the notebooks (notebooks/<task>.ipynb) in JupyterLab: prints the URL to open, with its token.
# Each notebook shows your runs of its task (results/) beside the committed reference, or the reference
# alone when you have none yet. Extra arguments go to `jupyter lab`, e.g. --port 8899, or
# --no-browser --ip 0.0.0.0 on a remote machine (then open the printed URL with that machine's name).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c "import jupyterlab" >/dev/null 2>&1; then
  bash scripts/setup.sh
fi
ROOT=()
[ "$(id -u)" -eq 0 ] && ROOT=(--allow-root)
exec .venv/bin/jupyter lab --ServerApp.root_dir="$PWD" --LabApp.default_url=/lab/tree/notebooks "${ROOT[@]}" "$@"
