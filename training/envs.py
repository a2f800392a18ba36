"""Vectorised training environments, with optional observation and reward normalisation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents.learned import restrict_advance, restrict_scores
from training.config import TrainConfig


@dataclass(frozen=True)
class MixtureWorkload:
    """Each episode draws its scenario from one of several workloads, chosen uniformly.

    Args:
        specs: workload specs (``mcsf_gym.workloads.make_workload``).

    Raises:
        ValueError: for an empty list or a bad spec.
    """

    specs: tuple[str, ...]
    _workloads: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from mcsf_gym.workloads import make_workload

        if not self.specs:
            raise ValueError("env_kwargs.workload must list at least one workload spec")
        object.__setattr__(self, "_workloads", tuple(make_workload(s) for s in self.specs))

    def sample(self, rng: np.random.Generator) -> Any:
        """Pick a workload with ``rng``, then draw its scenario with ``rng``."""
        return self._workloads[int(rng.integers(len(self._workloads)))].sample(rng)


def make_kwargs(env_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``gymnasium.make`` arguments from a config's ``env_kwargs``.

    A list of workload specs becomes a :class:`MixtureWorkload`; the rest is passed as is.
    """
    kwargs = dict(env_kwargs)
    workload = kwargs.get("workload")
    if isinstance(workload, (list, tuple)):
        kwargs["workload"] = MixtureWorkload(tuple(workload))
    return kwargs


class AdvanceRule(gym.Wrapper):
    """Applies an advance rule (:func:`agents.learned.restrict_advance`) to an environment.

    Admit mode: :meth:`action_masks` drops "advance" where the rule forbids it. Priority
    mode: :meth:`step` changes the scores as :func:`agents.learned.restrict_scores` does. The
    shipped agent applies the same rule, so training and use agree.

    Args:
        env: the environment.
        rule: ``"idle"`` or ``"greedy"``.
    """

    def __init__(self, env: gym.Env, rule: str) -> None:
        super().__init__(env)
        self.rule = rule
        self._last: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the environment and remember the observation."""
        self._last, info = self.env.reset(**kwargs)
        return self._last, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Step, with a priority action changed by the rule first."""
        if np.ndim(action) > 0:
            masks = self.env.unwrapped.action_masks()
            action = restrict_scores(self._last, action, masks, self.rule)
        result = self.env.step(action)
        self._last = result[0]
        return result

    def action_masks(self) -> np.ndarray:
        """The environment's masks, without "advance" where the rule forbids it."""
        masks = self.env.unwrapped.action_masks()
        if masks.size == self.env.unwrapped.config.window + 1:  # admit mode
            masks = restrict_advance(self._last, masks, self.rule)
        return masks


class EnvFactory:
    """A picklable factory of one monitored environment (what ``SubprocVecEnv`` runs).

    Args:
        env_id: a registered environment id.
        env_kwargs: its ``gymnasium.make`` arguments.
        advance_rule: ``"free"``, or a rule applied by :class:`AdvanceRule`.
        suite: draw episodes from this suite's tasks (``training.suite_tasks``), or ``""``.
        tasks: the suite's tasks (empty: all).
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any],
        advance_rule: str,
        suite: str = "",
        tasks: tuple[str, ...] = (),
    ) -> None:
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        self.advance_rule = advance_rule
        self.suite = suite
        self.tasks = tuple(tasks)

    def __call__(self) -> gym.Env:
        """Build the environment, wrapped in SB3's ``Monitor`` (episode returns and lengths)."""
        from stable_baselines3.common.monitor import Monitor

        import mcsf_gym  # noqa: F401  (registers the environments)

        kwargs = make_kwargs(self.env_kwargs)
        if self.suite:
            from training.suite_tasks import TaskRewardScale, TaskStream

            kwargs["workload"] = TaskStream(self.suite, self.tasks)
        env = gym.make(self.env_id, **kwargs)
        if self.suite:
            env = TaskRewardScale(env, str(env.unwrapped.config.eviction))
        if self.advance_rule != "free":
            env = AdvanceRule(env, self.advance_rule)
        return Monitor(env)


def make_vec_env(config: TrainConfig, normalizer: Path | None = None) -> Any:
    """The vectorised training environments of a run, wrapped in VecNormalize if configured.

    Environment ``i`` is seeded ``config.seed + i``; its later episodes continue that
    generator, so they never coincide with scenarios drawn by an explicit held-out seed.

    Args:
        config: the run's configuration.
        normalizer: VecNormalize statistics to continue from (resuming a run), or ``None``.

    Raises:
        ValueError: if the environment settings are invalid (raised by the first build).
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    factory = EnvFactory(
        config.env_id, config.env_kwargs, config.advance_rule, config.suite, config.tasks
    )
    factory().close()  # fail here, with the environment's own message, on bad settings
    factories = [factory] * config.n_envs
    if config.vec_env == "subproc" and config.n_envs > 1:
        venv = SubprocVecEnv(factories)
    else:
        venv = DummyVecEnv(factories)
    venv.seed(config.seed)
    if normalizer is not None:
        venv = VecNormalize.load(str(normalizer), venv)
        venv.training = True
        return venv
    if config.normalize_obs or config.normalize_reward:
        venv = VecNormalize(
            venv, norm_obs=config.normalize_obs, norm_reward=config.normalize_reward
        )
    return venv
