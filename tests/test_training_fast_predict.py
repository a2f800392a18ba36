"""The learned agent's direct forward pass picks exactly MaskablePPO.predict's actions."""

from __future__ import annotations

import pytest

pytest.importorskip("sb3_contrib")

import gymnasium as gym

import mcsf_gym  # noqa: F401
from agents.learned import load_learned, restrict_advance
from training.envs import make_kwargs


@pytest.mark.parametrize("model", ["models/heavy-prompt", "models/mixed-prompt"])
def test_fast_masked_mode_equals_predict(model: str) -> None:
    scheduler = load_learned(model, "maskable-ppo")
    policy = scheduler.policy
    env = gym.make("mcsf_gym/KVCacheScheduling-v0", **make_kwargs(scheduler_kwargs(model)))
    steps = 0
    for seed in (20_000, 20_001):
        observation, info = env.reset(seed=seed)
        done = False
        while not done:
            mask = info["action_mask"]
            action = policy(observation, mask)
            normalized = policy.normalizer.normalize_obs(observation)
            restricted = restrict_advance(observation, mask, policy.advance_rule)
            expected, _ = policy.model.predict(
                normalized, deterministic=True, action_masks=restricted
            )
            assert action == int(expected)
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            steps += 1
    assert steps > 100


def scheduler_kwargs(model: str) -> dict:
    """The saved environment settings of a shipped model."""
    from agents.learned import read_run_config, resolve_model_path

    return dict(read_run_config(resolve_model_path(model))["env_kwargs"])
