#!/usr/bin/env bash
# The core-v1 generalist of docs/learned_policy.md (design C): 3 training seeds of the shipped
# config (a clone of each task's best heuristic, then MaskablePPO fine-tuning on every core-v1
# task's training stream; selection on 4 validation seeds per task), two at a time; then the
# scorecard of every seed's best_model.zip on the suite's evaluation scenarios against every
# heuristic of the leaderboard, shipping the seed with the best validation score as
# models/core-v1-generalist; then the shipped models on the leaderboard. The Azure and arXiv
# traces are read from $MCSF_GYM_DATA, or fetched into ~/.cache/mcsf_gym (docs/benchmark.md,
# "Datasets"). The teacher table in the config comes from the first command.
set -euo pipefail
python scripts/pick_teachers.py --out results/learned/teachers.csv
python -m training --config core-v1-generalist --seeds 0 1 2 --jobs 2 \
  --out runs/core-v1-generalist --no-progress
python scripts/learned_scorecard.py --runs runs/core-v1-generalist \
  --out results/learned/core-v1-generalist --jobs 2 --ship models/core-v1-generalist
python scripts/leaderboard.py --learned-only
# Design B (area-skip clone, window 32), the generalist shipped before; run with commit 9f01c7c:
#   python -m training --config training/experiments/generalist/area_skip_clone.toml \
#     --seeds 0 1 2 --jobs 2 --out runs/generalist-area-skip-clone --no-progress
# Design A (random start), stopped at 90k steps:
#   python -m training --config training/experiments/generalist/pure_ppo.toml --seeds 0 1 \
#     --jobs 2 --out runs/generalist-pure-ppo --no-progress
