#!/usr/bin/env bash
# Create .venv (if missing) and install mcsf-gym with the extras named as arguments.
#   bash scripts/setup.sh            -> the package, agents, evaluation, plotting and numba
#                                       (the compiled environment backend)
#   bash scripts/setup.sh dev        -> everything the tests need (training, solvers, dev tools)
# torch is pinned to the CPU wheel (torch==2.13.0) before anything can pull a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
extras="eval,plot,fast"
if [ "${1:-}" = "dev" ]; then
  .venv/bin/python -m pip install -q torch==2.13.0
  extras="all"
fi
.venv/bin/python -m pip install -q -e ".[${extras}]"
echo "mcsf-gym installed in .venv (extras: ${extras})"
