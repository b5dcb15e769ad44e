#!/usr/bin/env bash
# Command 1 of the quick start: set up, run the recognition suite (default preset), render the report.
# Extra arguments go to `benchmark run` (e.g. --preset smoke, --seeds 0,1,2). One seed by default: the 2-epoch
# demo gives no verdict with any number of seeds (it never passes the convergence test), and three seeds take
# three times as long (README, "What one seed gives").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m benchmark run --suite recognition "$@"
.venv/bin/python -m benchmark report
echo "open results/report/README.md"
