"""Train a scheduling policy with stable-baselines3 (or sb3-contrib's MaskablePPO)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcsf_gym
from training.config import TrainConfig
from training.envs import VECNORMALIZE_FILE, make_vec_env

FINAL_MODEL = "model"
CONFIG_FILE = "config.json"


def algorithm_class(algo: str) -> Any:
    """The SB3 class of an algorithm name."""
    if algo == "maskable-ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    if algo == "ppo":
        from stable_baselines3 import PPO

        return PPO
    if algo == "a2c":
        from stable_baselines3 import A2C

        return A2C
    raise ValueError(f"unknown algo {algo!r}")


def save_run_config(config: TrainConfig, out: Path) -> Path:
    """Write the resolved configuration beside the model (what the agent adapter reads)."""
    path = out / CONFIG_FILE
    document = {"mcsf_gym_version": mcsf_gym.__version__, **config.to_dict()}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def train(config: TrainConfig, *, resume: str | Path | None = None) -> Path:
    """Train per ``config``; return the path of the final model (``<out>/model.zip``).

    The run folder receives ``config.json``, TensorBoard logs (``tb/``), checkpoints
    (``checkpoints/``), ``best_model.zip`` (by the ratio to MC-SF on the held-out seeds),
    ``eval.jsonl``, ``model.zip`` and the VecNormalize statistics.

    Args:
        config: the run's configuration.
        resume: a checkpoint (``.zip``) to continue from; its VecNormalize statistics are
            restored if saved beside it (``<checkpoint>_vecnormalize.pkl``).
    """
    from agents.learned import normalizer_path_for
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback

    from training.callbacks import EvalAgainstMCSF
    from training.envs import load_normalizer

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    save_run_config(config, out)
    venv = make_vec_env(config)
    cls = algorithm_class(config.algo)
    if resume is not None:
        resume = Path(resume)
        if not resume.is_file():
            raise ValueError(f"no such checkpoint: {resume}")
        stats = normalizer_path_for(resume)
        if stats.is_file():
            venv = load_normalizer(stats, venv.venv if hasattr(venv, "venv") else venv)
            venv.training = True
            venv.norm_reward = config.normalize_reward
        model = cls.load(resume, env=venv, device=config.device)
    else:
        model = cls(
            "MultiInputPolicy" if config.env_kwargs.get("observation") == "dict" else "MlpPolicy",
            venv,
            seed=config.seed,
            device=config.device,
            tensorboard_log=str(out / "tb"),
            policy_kwargs={"net_arch": list(config.net_arch)},
            verbose=0,
            **config.algo_kwargs,
        )
    callbacks: list[Any] = []
    if config.checkpoint_freq:
        callbacks.append(
            CheckpointCallback(
                save_freq=max(1, config.checkpoint_freq // config.n_envs),
                save_path=str(out / "checkpoints"),
                name_prefix="model",
                save_vecnormalize=True,
            )
        )
    if config.eval_freq:
        callbacks.append(
            EvalAgainstMCSF(
                config.env_id, config.env_kwargs, config.eval_seeds, config.eval_freq, out
            )
        )
    model.learn(
        total_timesteps=config.total_timesteps,
        callback=CallbackList(callbacks),
        progress_bar=config.progress_bar,
        reset_num_timesteps=resume is None,
        tb_log_name="run",
    )
    path = out / f"{FINAL_MODEL}.zip"
    model.save(path)
    normalizer = model.get_vec_normalize_env()
    if normalizer is not None:
        normalizer.save(str(out / VECNORMALIZE_FILE))
    venv.close()
    return path
