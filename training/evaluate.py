"""Play a trained model and MC-SF on the same held-out scenarios of an environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

import mcsf_gym  # noqa: F401  (registers the environments)


@dataclass(frozen=True)
class EpisodeScore:
    """Mean latency of one held-out scenario under the model and under MC-SF."""

    seed: int
    model_mean_latency: float
    mcsf_mean_latency: float

    @property
    def ratio(self) -> float:
        """Model mean latency over MC-SF's on the same scenario."""
        return self.model_mean_latency / self.mcsf_mean_latency


def play_model(
    env: gym.Env,
    model: Any,
    seed: int,
    *,
    normalizer: Any = None,
    deterministic: bool = True,
) -> Any:
    """Run one episode of ``env`` (reset with ``seed``) choosing actions with ``model``.

    Args:
        env: an environment built like the training ones.
        model: a stable-baselines3 / sb3-contrib model.
        seed: the scenario seed.
        normalizer: the run's VecNormalize (its observation statistics are applied).
        deterministic: take the most likely action.

    Returns:
        The episode's :class:`~mcsf_gym.core.result.SimulationResult`.

    Raises:
        RuntimeError: if the episode was truncated (the step limit was hit).
    """
    masked = type(model).__name__ == "MaskablePPO"
    obs, _ = env.reset(seed=seed)
    terminated = truncated = False
    info: dict[str, Any] = {}
    while not (terminated or truncated):
        if normalizer is not None:
            obs = normalizer.normalize_obs(obs)
        if masked:
            mask = env.unwrapped.action_masks()
            action, _ = model.predict(obs, deterministic=deterministic, action_masks=mask)
        else:
            action, _ = model.predict(obs, deterministic=deterministic)
        obs, _, terminated, truncated, info = env.step(action)
    if truncated and not terminated:
        raise RuntimeError(f"episode with seed {seed} hit the step limit before finishing")
    return info["result"]


def score_against_mcsf(
    model: Any,
    env_id: str,
    env_kwargs: dict[str, Any],
    seeds: Sequence[int],
    *,
    normalizer: Any = None,
) -> list[EpisodeScore]:
    """Mean latency of the model and of MC-SF on each held-out seed (same scenarios).

    MC-SF runs through ``simulate`` on the episode's instance with the episode's engine
    configuration (memory, time model, eviction), so the comparison does not depend on the
    environment's window or masking.
    """
    from agents.mcsf import MCSF
    from mcsf_gym.core.simulate import simulate

    env = gym.make(env_id, **env_kwargs)
    scores = []
    try:
        for seed in seeds:
            result = play_model(env, model, seed, normalizer=normalizer)
            reference = simulate(result.instance, MCSF(), env.unwrapped.engine.config)
            scores.append(EpisodeScore(seed, result.mean_latency, reference.mean_latency))
    finally:
        env.close()
    return scores


def summarize_scores(scores: Sequence[EpisodeScore]) -> dict[str, float]:
    """Mean latencies and the ratio of their means (model / MC-SF)."""
    model = float(np.mean([s.model_mean_latency for s in scores]))
    mcsf = float(np.mean([s.mcsf_mean_latency for s in scores]))
    return {"model_mean_latency": model, "mcsf_mean_latency": mcsf, "ratio_to_mcsf": model / mcsf}
