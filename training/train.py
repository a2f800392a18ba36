"""Train a scheduling policy with stable-baselines3 (or sb3-contrib's MaskablePPO)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.learned import CONFIG_FILE, MODEL_FILE, normalizer_path_for
from training.config import TrainConfig


def algorithm_class(algo: str) -> Any:
    """The SB3 class of an algorithm name (imported here: torch loads only when training).

    Raises:
        ImportError: naming the extra to install, if SB3 or sb3-contrib is missing.
    """
    try:
        if algo == "maskable-ppo":
            from sb3_contrib import MaskablePPO

            return MaskablePPO
        import stable_baselines3

        return {"ppo": stable_baselines3.PPO, "a2c": stable_baselines3.A2C}[algo]
    except ImportError as error:
        raise ImportError(
            f"training {algo} needs stable-baselines3 and sb3-contrib: "
            "pip install 'mcsf-gym[train]'"
        ) from error


def save_run_config(config: TrainConfig, out: Path) -> Path:
    """Write the resolved configuration as ``config.json`` (what the agent adapter reads)."""
    import mcsf_gym

    path = out / CONFIG_FILE
    document = {"mcsf_gym_version": mcsf_gym.__version__, **config.to_dict()}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def _new_model(config: TrainConfig, venv: Any, out: Path) -> Any:
    cls = algorithm_class(config.algo)
    policy: Any = (
        "MultiInputPolicy" if config.env_kwargs.get("observation") == "dict" else "MlpPolicy"
    )
    policy_kwargs: dict[str, Any] = {"net_arch": list(config.net_arch)}
    if config.policy == "slot-set":
        from training.policies import SlotScoringPolicy

        policy = SlotScoringPolicy
        window = int(venv.action_space.n) - 1
        policy_kwargs = {
            "window": window,
            "embed": config.net_arch[0],
            "positional": config.slot_positional,
            "pool": config.slot_pool,
        }
    try:
        return cls(
            policy,
            venv,
            seed=config.seed,
            device=config.device,
            tensorboard_log=str(out / "tb"),
            policy_kwargs=policy_kwargs,
            verbose=0,
            **config.algo_kwargs,
        )
    except TypeError as error:
        raise ValueError(f"algo_kwargs {config.algo_kwargs}: {error}") from error


def train(
    config: TrainConfig,
    *,
    resume: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    command: Sequence[str] | None = None,
) -> Path:
    """Train per ``config``; return the path of the final model (``<out>/model.zip``).

    The run folder receives ``config.json``, TensorBoard logs (``tb/``), checkpoints
    (``checkpoints/``, each with its VecNormalize statistics), ``best_model.zip`` (by the
    ratio to MC-SF on the held-out seeds), ``eval.jsonl``, ``model.zip`` and
    ``vecnormalize.pkl``.

    Args:
        config: the run's configuration.
        resume: a model or checkpoint ``.zip`` to continue from (its VecNormalize statistics
            are restored when saved beside it); ``total_timesteps`` more steps are trained.
        log: called with one line per evaluation against MC-SF and a closing summary
            (``mcsf-train`` prints them); ``None``: silent.
        command: the command line saved in ``run.json`` (default ``sys.argv``).

    Raises:
        ValueError: for a missing checkpoint or bad settings.
        ImportError: naming the extra to install, if torch or SB3 is missing.
    """
    try:
        import torch

        from training.callbacks import make_callbacks
    except ImportError as error:
        raise ImportError(
            f"training needs torch and stable-baselines3 ({error}): pip install 'mcsf-gym[train]'"
        ) from error

    from training.envs import make_vec_env
    from training.runs import write_run_record

    started = time.time()
    torch.set_num_threads(config.torch_threads)
    out = Path(config.out)
    checkpoint = None
    if resume is not None:
        checkpoint = Path(resume)
        if not checkpoint.is_file():
            raise ValueError(f"no checkpoint to resume from at {str(resume)!r}")
    out.mkdir(parents=True, exist_ok=True)
    save_run_config(config, out)
    stats = normalizer_path_for(checkpoint) if checkpoint is not None else None
    venv = make_vec_env(config, stats if stats is not None and stats.is_file() else None)
    try:
        if checkpoint is None:
            model = _new_model(config, venv, out)
            if config.imitate:
                _imitate(config, model, out, log)
        else:
            model = algorithm_class(config.algo).load(
                checkpoint, env=venv, device=config.device, tensorboard_log=str(out / "tb")
            )
        callbacks = make_callbacks(config, out, log)
        model.learn(
            total_timesteps=config.total_timesteps,
            callback=callbacks,
            progress_bar=config.progress_bar,
            reset_num_timesteps=checkpoint is None,
            tb_log_name="run",
        )
        path = out / MODEL_FILE
        model.save(path)
        normalizer = model.get_vec_normalize_env()
        if normalizer is not None:
            normalizer.save(str(normalizer_path_for(path)))
    finally:
        venv.close()
    timesteps = model.num_timesteps - (0 if checkpoint is None else model._num_timesteps_at_start)
    write_run_record(
        config, out, command=command, started=started, wall_s=time.time() - started,
        timesteps=int(timesteps),
    )  # fmt: skip
    if log is not None:
        log(closing_summary(callbacks, path))
    return path


def _imitate(config: TrainConfig, model: Any, out: Path, log: Callable[[str], None] | None) -> None:
    """Fit the new model to the heuristics ``config.imitate`` (``training.imitation``)."""
    from training.imitation import balanced_weights, clone, collect, matches

    started = time.time()
    data, labels, teachers = collect(config, config.imitation_steps)
    weights = balanced_weights(labels) if config.imitation_balance else None
    losses = clone(model, data, config.imitation_epochs, seed=config.seed, weights=weights)
    hits = matches(model, data)
    record = {
        "teacher": config.imitate,
        "teachers": teachers,
        "decisions": len(data[2]),
        "epochs": config.imitation_epochs,
        "balanced": config.imitation_balance,
        "losses": losses,
        "agreement": float(hits.mean()),
        "agreement_by_task": {
            str(task): float(hits[labels == task].mean()) for task in np.unique(labels)
        },
        "wall_s": round(time.time() - started, 1),
    }
    (out / "imitation.json").write_text(json.dumps(record, indent=2) + "\n")
    if log is not None:
        log(
            f"cloned {config.imitate} on {record['decisions']} decisions: loss "
            f"{losses[0]:.3f} -> {losses[-1]:.3f}, agreement {record['agreement']:.3f}"
        )


def closing_summary(callbacks: list[Any], path: Path) -> str:
    """One line: where the model is, and the best evaluation against MC-SF (if any ran)."""
    from training.callbacks import EvalAgainstMCSF

    line = f"done: model {path}"
    for callback in callbacks:
        if isinstance(callback, EvalAgainstMCSF) and callback.history:
            best = min(callback.history, key=lambda entry: entry[callback.select_on])
            line += (
                f"; best evaluation at {best['timesteps']} steps: mean latency "
                f"{best['model_mean_latency']:.4g} vs MC-SF {best['mcsf_mean_latency']:.4g} "
                f"(ratio {best['ratio_to_mcsf']:.3f}), saved as {callback.out / 'best_model.zip'}"
            )
    return line
