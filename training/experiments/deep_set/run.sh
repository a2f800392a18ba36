#!/usr/bin/env bash
# The deep-set experiment of docs/learned_policy.md: 4 configurations x 3 seeds, 60,000 steps
# each (about 1-3 minutes of one core per run), then a paired held-out comparison of every
# run's best_model.zip (selected on eval_seeds 10000-10009) with the registered heuristics on
# 30 scenarios (seeds 20000-20029) never used in training or selection.
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
agents=()
for cfg in mlp8 mlp32 set8 set32; do
  for seed in 0 1 2; do agents+=("maskable-ppo:runs/deep_set/$cfg-s$seed/best_model.zip"); done
done
python -m training.heldout --workload \
  "heavy-tail:n=60,memory=3000,rate=40,extreme=prompt,frac=0.1,long_min=300,long_max=1500" \
  --seeds 30 --seed 20000 --workers "${JOBS:-2}" \
  --agents mcsf mcsf-skip area-skip sf-no-lookahead mc-benchmark alpha-greedy vllm-fcfs "${agents[@]}"
