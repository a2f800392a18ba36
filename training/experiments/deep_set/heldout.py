"""Held-out comparison of the deep-set experiment's models with the strongest heuristics.

Run from the repository root after ``run.sh``: ``python training/experiments/deep_set/heldout.py``.
Prints a Markdown table: mean latency on 30 heavy-prompt scenarios (seeds 20000-20029), the
change against MC-SF, and the paired difference to the best skipping heuristic with its 95%
Student-t interval.
"""

from __future__ import annotations

import numpy as np
import torch

from agents import make_agent
from agents.learned import load_learned
from evaluation.stats import mean_ci
from mcsf_gym.core.simulate import simulate
from training.evaluate import HeldOutScenarios

WORKLOAD = "heavy-tail:n=60,memory=3000,rate=40,extreme=prompt,frac=0.1,long_min=300,long_max=1500"


def main() -> None:
    """Score the heuristics and the 12 runs' ``best_model.zip`` on the held-out scenarios."""
    torch.set_num_threads(1)
    held_out = HeldOutScenarios(
        "mcsf_gym/KVCacheScheduling-v0", {"workload": WORKLOAD}, list(range(20000, 20030))
    )
    problems = held_out.problems
    results = {}
    for name in ("mcsf", "mcsf-skip", "area-skip"):
        agent = make_agent(name)
        results[name] = np.array([simulate(i, agent, c).mean_latency for _, i, c in problems])
    for config in ("mlp8", "mlp32", "set8", "set32"):
        for seed in range(3):
            path = f"runs/deep_set/{config}-s{seed}/best_model.zip"
            agent = load_learned(path, "maskable-ppo")
            latencies = [simulate(i, agent, c).mean_latency for _, i, c in problems]
            results[f"{config}-s{seed}"] = np.array(latencies)
    mcsf = results["mcsf"]
    best = min(results["area-skip"], results["mcsf-skip"], key=lambda v: float(v.mean()))
    print("| agent | mean latency (s) | vs MC-SF | paired difference to best heuristic [95% CI] |")
    print("|---|---|---|---|")
    for name, values in results.items():
        mean, low, high = mean_ci(values - best)
        change = 100 * (values.mean() / mcsf.mean() - 1)
        print(
            f"| {name} | {values.mean():.3f} | {change:+.1f}% | "
            f"{mean:+.3f} [{low:+.3f}, {high:+.3f}] |"
        )


if __name__ == "__main__":
    main()
