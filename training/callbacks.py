"""Periodic evaluation against MC-SF on held-out seeds, keeping the best model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from training.evaluate import score_against_mcsf, summarize_scores

BEST_MODEL = "best_model"
BEST_NORMALIZER = "best_vecnormalize.pkl"


class EvalAgainstMCSF(BaseCallback):
    """Every ``eval_freq`` environment steps, play the held-out seeds and compare with MC-SF.

    Logs ``eval/ratio_to_mcsf`` (the model's mean latency over MC-SF's, on the same
    scenarios), ``eval/mean_latency`` and ``eval/mcsf_mean_latency`` to TensorBoard, and saves
    the model (and its VecNormalize statistics) whenever the ratio improves.

    Args:
        env_id: the environment id of the run.
        env_kwargs: its ``gymnasium.make`` arguments.
        seeds: held-out scenario seeds.
        eval_freq: environment steps between evaluations (counted over all parallel envs).
        out: the run folder (``best_model.zip`` and ``eval.jsonl`` go there).
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any],
        seeds: tuple[int, ...],
        eval_freq: int,
        out: Path,
    ) -> None:
        super().__init__()
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        self.seeds = seeds
        self.eval_freq = eval_freq
        self.out = Path(out)
        self.best_ratio = float("inf")
        self._next = eval_freq

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._next += self.eval_freq
            self.evaluate()
        return True

    def evaluate(self) -> dict[str, float]:
        """Score the current model now; log it; save it if it is the best so far."""
        normalizer = self.model.get_vec_normalize_env()
        scores = score_against_mcsf(
            self.model, self.env_id, self.env_kwargs, self.seeds, normalizer=normalizer
        )
        summary = summarize_scores(scores)
        self.logger.record("eval/ratio_to_mcsf", summary["ratio_to_mcsf"])
        self.logger.record("eval/mean_latency", summary["model_mean_latency"])
        self.logger.record("eval/mcsf_mean_latency", summary["mcsf_mean_latency"])
        with (self.out / "eval.jsonl").open("a") as handle:
            handle.write(json.dumps({"timesteps": self.num_timesteps, **summary}) + "\n")
        if summary["ratio_to_mcsf"] < self.best_ratio:
            self.best_ratio = summary["ratio_to_mcsf"]
            self.model.save(self.out / BEST_MODEL)
            if normalizer is not None:
                normalizer.save(str(self.out / BEST_NORMALIZER))
        return summary
