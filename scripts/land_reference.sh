#!/usr/bin/env bash
# Land the completed deciding runs of a results folder in the committed reference, and bring everything that
# is rendered from the reference up to date:
#
#   bash scripts/land_reference.sh /work/decide      # the folder decide.sh wrote to (DECIDE_RESULTS)
#
# 1. scripts/collect_reference.py copies the completed records (clean commits only) and their pictures;
# 2. the reference report is rendered again (results/reference/report/);
# 3. the notebooks are executed again against it (tests/test_notebooks.py fails when they are stale);
# 4. the README's headline table is printed (scripts/headline.py): paste it over the README's table, and
#    bring the bullets under it to the same figures.
# Then review `git status` and commit the records, report and notebooks together (never checkpoints).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: bash scripts/land_reference.sh RESULTS_DIR" >&2; exit 2; }
source=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
python=.venv/bin/python
[ -x "$python" ] || { echo "no .venv: run 'bash scripts/setup.sh' first" >&2; exit 2; }
"$python" scripts/collect_reference.py "$source"
"$python" -m benchmark report --results-dir results/reference
"$python" scripts/make_notebooks.py --execute
"$python" scripts/headline.py
