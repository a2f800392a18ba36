"""The shipped learned policy loads through the registry and schedules held-out scenarios."""

from pathlib import Path

import numpy as np
import pytest

from agents import make_agent, run_agent
from mcsf_gym.workloads import make_workload

pytest.importorskip("sb3_contrib")

# The shipped model, found from this file (the tests may run from any working directory).
MIXED_PROMPT = f"maskable-ppo:{Path(__file__).resolve().parents[1] / 'models' / 'mixed-prompt'}"
HEAVY_PROMPT = (
    "heavy-tail:n=60,memory=3000,rate=40,extreme=prompt,frac=0.1,long_min=300,long_max=1500"
)


@pytest.mark.parametrize("workload", [HEAVY_PROMPT, "paper-model2"])
def test_shipped_policy_completes_held_out_scenarios(workload: str) -> None:
    policy = make_agent(MIXED_PROMPT)
    for seed in (20000, 20001):
        scenario = make_workload(workload).sample(np.random.default_rng(seed))
        kwargs = {"memory": scenario.memory, "time_model": scenario.time_model}
        learned = run_agent(scenario.instance, policy, **kwargs)
        again = run_agent(scenario.instance, make_agent(MIXED_PROMPT), **kwargs)
        assert (
            np.all(np.isfinite(learned.finish))
            and learned.metrics["peak_memory"] <= scenario.memory
        )
        np.testing.assert_array_equal(learned.finish, again.finish)  # deterministic
        mcsf = run_agent(scenario.instance, "mcsf", **kwargs)
        # Acting under MC-SF's look-ahead mask, it never strays far from MC-SF.
        assert learned.total_latency <= 1.5 * mcsf.total_latency
