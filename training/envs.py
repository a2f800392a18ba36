"""Vectorised training environments, with optional observation and reward normalisation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

import mcsf_gym  # noqa: F401  (registers the environments)
from training.config import TrainConfig

VECNORMALIZE_FILE = "vecnormalize.pkl"


def make_env_fn(env_id: str, env_kwargs: dict[str, Any]) -> Any:
    """A picklable factory of one monitored environment (for SubprocVecEnv)."""
    from stable_baselines3.common.monitor import Monitor

    def build() -> gym.Env:

        return Monitor(gym.make(env_id, **env_kwargs))

    return build


def make_vec_env(config: TrainConfig, *, n_envs: int | None = None, training: bool = True) -> Any:
    """The vectorised environments of a run, wrapped in VecNormalize if configured.

    Each environment is seeded from ``config.seed`` (SB3 seeds them ``seed + rank``), so
    training scenarios never coincide with the held-out evaluation seeds as long as those are
    drawn from a different range (the default ``eval_seeds`` start at 10000).
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    count = n_envs or config.n_envs
    factories = [make_env_fn(config.env_id, config.env_kwargs) for _ in range(count)]
    vec_cls = SubprocVecEnv if config.vec_env == "subproc" and count > 1 else DummyVecEnv
    venv = vec_cls(factories)
    venv.seed(config.seed)
    if config.normalize_obs or config.normalize_reward:
        venv = VecNormalize(
            venv,
            norm_obs=config.normalize_obs,
            norm_reward=config.normalize_reward,
            training=training,
        )
    return venv


def load_normalizer(path: Path, venv: Any) -> Any:
    """Restore VecNormalize statistics saved beside a model, frozen for evaluation."""
    from stable_baselines3.common.vec_env import VecNormalize

    normalizer = VecNormalize.load(str(path), venv)
    normalizer.training = False
    normalizer.norm_reward = False
    return normalizer
