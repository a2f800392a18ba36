#!/usr/bin/env bash
# A plain (non-editable) install ships the training configs and the trained models, and they
# resolve from outside the repository. Reuses .venv's dependencies (no download): the wheel is
# installed without dependencies into a fresh venv that sees .venv's site-packages through a
# .pth file (which does not load the editable install's hooks).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m pip wheel -q --no-deps --no-build-isolation . -w "$work/dist"
python=$(readlink -f .venv/bin/python)
"$python" -m venv "$work/venv"
# Install with the new venv's own pip, before it can see .venv (so nothing in .venv is touched).
"$work/venv/bin/python" -m pip install -q --no-deps --no-index "$work"/dist/*.whl
deps=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$deps" > "$site/mcsf_gym_ci_deps.pth"
cd "$work"
"$work/venv/bin/python" - "$repo" "$work/venv" <<'PY'
import sys
from pathlib import Path

repo, venv = Path(sys.argv[1]), Path(sys.argv[2]).resolve()
import training
from training.cli import resolve_config_path, shipped_configs

assert not Path(training.__file__).resolve().is_relative_to(repo), training.__file__
configs = shipped_configs()
assert {"smoke", "mixed-prompt", "heavy-prompt"} <= set(configs), configs
assert resolve_config_path("smoke").is_relative_to(venv)

import numpy as np
from agents import make_agent
from agents.learned import resolve_model_path
from mcsf_gym import Instance, simulate

for name in sorted(p.name for p in (repo / "models").iterdir() if p.is_dir()):
    path = resolve_model_path(f"models/{name}")
    assert path.is_relative_to(venv / "share" / "mcsf-gym" / "models"), path
policy = make_agent("maskable-ppo:models/mixed-prompt")
result = simulate(Instance([0, 0, 1], [2, 2, 3], [3, 2, 2]), policy, memory=12)
assert np.isfinite(result.total_latency)
print(f"non-editable install OK: configs {', '.join(configs)}; models load from {venv}/share")
PY
"$work/venv/bin/mcsf-train" --help | grep -q "smoke"
