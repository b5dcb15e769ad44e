#!/usr/bin/env bash
# Command 2 of the quick start: set up, lint, and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check benchmark baselines sase tests
.venv/bin/python -m pytest -q "$@"
