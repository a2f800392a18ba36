#!/usr/bin/env bash
# The deep-set experiment of docs/learned_policy.md: 4 configurations x 3 seeds, 60,000 steps
# each (100-550 s wall per run, two at a time, on 2 shared cores), then heldout.py: a paired
# held-out comparison of every run's best_model.zip (selected on eval_seeds 10000-10009) with
# MC-SF, mcsf-skip and area-skip on 30 scenarios (seeds 20000-20029) never used before.
set -euo pipefail
mkdir -p runs/deep_set
here=training/experiments/deep_set
for seed in 0 1 2; do
  for cfg in mlp8 mlp32 set8 set32; do
    python -m training --config "$here/$cfg.toml" --seed "$seed" \
      --out "runs/deep_set/$cfg-s$seed" --no-progress > "runs/deep_set/$cfg-s$seed.log" 2>&1 &
    while (( $(jobs -r | wc -l) >= ${JOBS:-2} )); do sleep 5; done
  done
done
wait
python training/experiments/deep_set/heldout.py
