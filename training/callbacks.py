"""Periodic evaluation against MC-SF on held-out seeds, keeping the best model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from agents.learned import ModelPolicy, normalizer_path_for
from training.evaluate import HeldOutScenarios, summarize_scores

BEST_MODEL = "best_model.zip"
EVAL_LOG = "eval.jsonl"


class EvalAgainstMCSF(BaseCallback):
    """Every ``eval_freq`` environment steps, play the held-out seeds and compare with MC-SF.

    Logs ``eval/ratio_to_mcsf`` (the model's mean latency over MC-SF's, on the same
    scenarios), ``eval/mean_ratio_to_mcsf`` (the mean of the per-scenario ratios),
    ``eval/mean_latency`` and ``eval/mcsf_mean_latency`` to TensorBoard, appends
    them to ``eval.jsonl``, and saves ``best_model.zip`` (with its VecNormalize statistics)
    whenever the ratio improves. The model acts exactly as the shipped agent will
    (:class:`agents.learned.ModelPolicy` inside a ``PolicyScheduler``). A resumed run starts
    from the best ratio recorded in ``eval.jsonl``.

    Args:
        scenarios: the held-out scenarios.
        eval_freq: environment steps between evaluations (counted over all environments).
        out: the run folder.
        masked: the model takes action masks (MaskablePPO).
        advance_rule: the advance rule the run trains with.
        log: called with one line per evaluation (``None``: silent).
        select_on: the summary key ``best_model.zip`` minimises (``"ratio_to_mcsf"`` or
            ``"mean_ratio"``).
        at_start: also evaluate before the first update (a cloned starting policy).
    """

    def __init__(
        self,
        scenarios: HeldOutScenarios,
        eval_freq: int,
        out: Path,
        masked: bool,
        advance_rule: str,
        log: Callable[[str], None] | None = None,
        select_on: str = "ratio_to_mcsf",
        at_start: bool = False,
    ) -> None:
        super().__init__()
        self.select_on = select_on
        self.at_start = at_start
        self.log = log
        #: The evaluations of this run, as written to ``eval.jsonl``.
        self.history: list[dict[str, Any]] = []
        self.scenarios = scenarios
        self.eval_freq = eval_freq
        self.out = Path(out)
        self.masked = masked
        self.advance_rule = advance_rule
        self.best_ratio = float("inf")
        log = self.out / EVAL_LOG
        if log.is_file():
            ratios = [json.loads(line)[select_on] for line in log.read_text().splitlines()]
            self.best_ratio = min(ratios, default=self.best_ratio)
        self._next = 0

    def _on_training_start(self) -> None:
        self._next = self.num_timesteps + self.eval_freq
        if self.at_start:
            self.evaluate()

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._next += self.eval_freq
            self.evaluate()
        return True

    def evaluate(self) -> dict[str, float]:
        """Score the current model now; log it; save it if it is the best so far."""
        normalizer = self.model.get_vec_normalize_env()
        policy = ModelPolicy(self.model, normalizer, self.masked, self.advance_rule)
        summary = summarize_scores(self.scenarios.score(policy))
        for key, name in (
            ("ratio_to_mcsf", "ratio_to_mcsf"),
            ("model_mean_latency", "mean_latency"),
            ("mcsf_mean_latency", "mcsf_mean_latency"),
            ("mean_ratio", "mean_ratio_to_mcsf"),
        ):
            self.logger.record(f"eval/{name}", summary[key])
        self.logger.dump(self.num_timesteps)
        entry = {"timesteps": self.num_timesteps, **summary}
        self.history.append(entry)
        with (self.out / EVAL_LOG).open("a") as handle:
            handle.write(json.dumps(entry) + "\n")
        improved = summary[self.select_on] < self.best_ratio
        if self.log is not None:
            self.log(
                f"step {self.num_timesteps}: mean latency {summary['model_mean_latency']:.4g} "
                f"vs MC-SF {summary['mcsf_mean_latency']:.4g} on "
                f"{len(self.scenarios.problems)} held-out scenarios (ratio "
                f"{summary['ratio_to_mcsf']:.3f}); mean per-scenario ratio "
                f"{summary['mean_ratio']:.3f}{'; new best' if improved else ''}"
            )
        if improved:
            self.best_ratio = summary[self.select_on]
            path = self.out / BEST_MODEL
            self.model.save(path)
            if normalizer is not None:
                normalizer.save(str(normalizer_path_for(path)))
        return summary


def make_callbacks(config: Any, out: Path, log: Callable[[str], None] | None = None) -> list[Any]:
    """The checkpoint and evaluation callbacks a run's configuration asks for.

    Args:
        config: the run's :class:`~training.config.TrainConfig`.
        out: the run folder.
        log: called with one line per evaluation (``None``: silent).
    """
    from stable_baselines3.common.callbacks import CheckpointCallback

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
        if config.suite:
            from training.suite_tasks import validation_problems

            problems = validation_problems(
                config.env_id, config.env_kwargs, config.suite, config.tasks,
                config.valid_per_task,
            )  # fmt: skip
            scenarios = HeldOutScenarios.from_problems(config.env_id, config.env_kwargs, problems)
        else:
            scenarios = HeldOutScenarios(config.env_id, config.env_kwargs, config.eval_seeds)
        masked = config.algo == "maskable-ppo"
        callbacks.append(
            EvalAgainstMCSF(
                scenarios,
                config.eval_freq,
                out,
                masked,
                config.advance_rule,
                log,
                select_on=config.select_on,
                at_start=bool(config.imitate),
            )
        )
    return callbacks
