"""Play a model and MC-SF on the same held-out scenarios of a training environment.

The model acts through :class:`~mcsf_gym.env.policy.PolicyScheduler`, exactly as the shipped
agent (``agents.learned``) does, and both schedulers run under ``simulate`` with the engine
configuration (memory, time model, eviction, seed) of the environment's episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EpisodeScore:
    """Mean latency of one held-out scenario under the model and under MC-SF.

    Attributes:
        seed: the scenario seed (``env.reset(seed=...)``).
        model_mean_latency: the model's mean latency.
        mcsf_mean_latency: MC-SF's mean latency on the same scenario and engine settings.
    """

    seed: int
    model_mean_latency: float
    mcsf_mean_latency: float


class HeldOutScenarios:
    """The scenarios an environment draws for fixed seeds, with MC-SF's results cached.

    Args:
        env_id: the environment id of the run.
        env_kwargs: its ``gymnasium.make`` arguments.
        seeds: scenario seeds (use seeds the training never resets with).
    """

    def __init__(self, env_id: str, env_kwargs: dict[str, Any], seeds: Sequence[int]) -> None:
        import gymnasium as gym

        import mcsf_gym  # noqa: F401  (registers the environments)
        from training.envs import make_kwargs

        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        # Only the drawn scenarios are read: the Python backend, which keeps them as objects.
        env = gym.make(env_id, **{**make_kwargs(env_kwargs), "backend": "python"})
        self.problems = []
        try:
            for seed in seeds:
                env.reset(seed=int(seed))
                engine = env.unwrapped.engine
                self.problems.append((int(seed), engine.instance, engine.config))
        finally:
            env.close()
        self._mcsf: list[float] | None = None

    @classmethod
    def from_problems(
        cls, env_id: str, env_kwargs: dict[str, Any], problems: Sequence[tuple[int, Any, Any]]
    ) -> HeldOutScenarios:
        """Held-out scenarios given as ``(seed, instance, engine config)`` triples.

        For instance a suite's validation scenarios
        (:func:`training.suite_tasks.validation_problems`).
        """
        held = cls.__new__(cls)
        held.env_id, held.env_kwargs = env_id, dict(env_kwargs)
        held.problems, held._mcsf = list(problems), None
        return held

    def mcsf_latencies(self) -> list[float]:
        """MC-SF's mean latency on each scenario (computed once)."""
        if self._mcsf is None:
            from agents.mcsf import MCSF
            from mcsf_gym.core.simulate import simulate

            self._mcsf = [
                simulate(instance, MCSF(), config).mean_latency
                for _, instance, config in self.problems
            ]
        return self._mcsf

    def score(self, policy: Any) -> list[EpisodeScore]:
        """Run ``policy(observation, mask) -> action`` and MC-SF on every scenario."""
        from mcsf_gym.core.simulate import simulate
        from mcsf_gym.env.policy import PolicyScheduler

        scheduler = PolicyScheduler(policy, self.env_kwargs, env_id=self.env_id)
        return [
            EpisodeScore(seed, simulate(instance, scheduler, config).mean_latency, reference)
            for (seed, instance, config), reference in zip(
                self.problems, self.mcsf_latencies(), strict=True
            )
        ]


def summarize_scores(scores: Sequence[EpisodeScore]) -> dict[str, float]:
    """Mean latencies over the scenarios, their ratio (model / MC-SF), and the mean ratio.

    ``ratio_to_mcsf`` is the ratio of the mean latencies (scenarios with long latencies weigh
    more); ``mean_ratio`` the mean of the per-scenario ratios (each scenario weighs the same,
    which suits a mixture of workloads with different latency scales).
    """
    model = np.array([s.model_mean_latency for s in scores])
    mcsf = np.array([s.mcsf_mean_latency for s in scores])
    return {
        "model_mean_latency": float(model.mean()),
        "mcsf_mean_latency": float(mcsf.mean()),
        "ratio_to_mcsf": float(model.mean() / mcsf.mean()),
        "mean_ratio": float(np.mean(model / mcsf)),
    }


def evaluate_against_mcsf(
    path: str | Path,
    *,
    seeds: int | Sequence[int] = 30,
    first_seed: int = 20_000,
    env_kwargs: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Compare a saved model with MC-SF on held-out scenarios, in one call.

    The scenarios are those the model's training environment draws for the given seeds
    (``env.reset(seed=s)``), so the comparison is paired; both schedulers run under
    ``simulate`` with the episode's memory, time model and eviction.

    Args:
        path: a model folder or ``.zip`` (as written by :func:`agents.learned.save_model` or
            ``mcsf-train``).
        seeds: a number of scenarios (seeds ``first_seed, first_seed + 1, ...``) or the seeds.
        first_seed: the first seed when ``seeds`` is a number; keep clear of the training
            streams (``0 .. n_envs - 1`` with SB3's ``make_vec_env(seed=0)``).
        env_kwargs: environment settings that replace the saved ones (e.g. another
            ``workload``); the observation settings must stay those of training.

    Returns:
        ``model_mean_latency``, ``mcsf_mean_latency``, ``ratio_to_mcsf`` (ratio of the means),
        ``mean_ratio`` (mean of per-scenario ratios), ``difference`` (model minus MC-SF, mean
        latency per scenario) with its paired 95% interval ``difference_low`` /
        ``difference_high``, and ``n``.

    Raises:
        ValueError: for a missing or unloadable model, or bad settings.
    """
    from agents.learned import load_learned, read_run_config, resolve_model_path
    from evaluation.stats import mean_ci

    if isinstance(seeds, int):
        if seeds < 2:
            raise ValueError(f"seeds must be at least 2 (for an interval), got {seeds!r}")
        seed_list = list(range(first_seed, first_seed + seeds))
    else:
        seed_list = [int(s) for s in seeds]
    model_path = resolve_model_path(path)
    config = read_run_config(model_path)
    scheduler = load_learned(model_path, config["algo"])
    kwargs = {**config["env_kwargs"], **(env_kwargs or {})}
    scenarios = HeldOutScenarios(config["env_id"], kwargs, seed_list)
    scores = scenarios.score(scheduler.policy)
    summary = summarize_scores(scores)
    differences = [s.model_mean_latency - s.mcsf_mean_latency for s in scores]
    mean, low, high = mean_ci(differences)
    summary.update(difference=mean, difference_low=low, difference_high=high, n=len(scores))
    return summary
