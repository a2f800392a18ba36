"""Training on a benchmark suite's tasks: their training streams, validation seeds and scales.

A config with ``suite = "core-v1"`` (and optionally ``tasks = [...]``) trains on those tasks:

- every training episode picks a task uniformly, then a scenario of the task's *training*
  stream, ``task.scenario(task.train_seed(k))`` with ``k`` drawn from the environment's
  generator (:class:`TaskStream`); the scenario carries the task's workload, memory, time
  model and predictions, so only the eviction policy comes from ``env_kwargs``;
- rewards are divided per task by MC-SF's mean total latency on a few training scenarios of
  the task (:class:`TaskRewardScale`), so an episode's return is about minus its total
  latency relative to MC-SF, whatever the task's latency scale: every task weighs alike;
- the periodic evaluation (model selection) plays the first ``valid_per_task`` *validation*
  seeds of every task (:func:`validation_problems`); evaluation seeds are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import gymnasium as gym
import numpy as np

#: Training scenarios per task on which MC-SF's mean total latency sets the reward scale.
SCALE_SCENARIOS = 4
#: Episode return of a schedule as good as MC-SF's on an average scenario (before the
#: running normalisation of VecNormalize, if configured).
RETURN_SCALE = 100.0
_SEED_RANGE = 2**31


def suite_tasks(suite: str, names: Sequence[str] = ()) -> tuple[Any, ...]:
    """The tasks of ``suite`` named by ``names`` (all of them when empty).

    Raises:
        ValueError: for an unknown suite or task (the suite's message lists the known ones).
    """
    from mcsf_gym.suites import load_suite

    return load_suite(suite).select(list(names) or None)


class TaskStream:
    """A workload drawing each episode from one task's training stream (task chosen uniformly).

    Args:
        suite: the suite name.
        names: task names (all of the suite's when empty).

    Raises:
        ValueError: for an unknown suite or task.
    """

    def __init__(self, suite: str, names: Sequence[str] = ()) -> None:
        self.suite = suite
        self.tasks = suite_tasks(suite, names)
        #: The task of the scenario drawn last (read by :class:`TaskRewardScale`).
        self.last_task: str = self.tasks[0].name

    def sample(self, rng: np.random.Generator) -> Any:
        """A scenario of a training seed ``task.train_seed(k)``; ``task`` and ``k`` from ``rng``."""
        task = self.tasks[int(rng.integers(len(self.tasks)))]
        self.last_task = task.name
        return task.scenario(task.train_seed(int(rng.integers(_SEED_RANGE))))


@lru_cache(maxsize=64)
def mcsf_total_latency(suite: str, task_name: str, eviction: str) -> float:
    """MC-SF's mean total latency on the first training scenarios of a task (the scale)."""
    from agents.mcsf import MCSF
    from mcsf_gym.core.simulate import simulate

    (task,) = suite_tasks(suite, (task_name,))
    totals = []
    for k in range(SCALE_SCENARIOS):
        scenario = task.scenario(task.train_seed(k))
        result = simulate(
            scenario.instance,
            MCSF(),
            memory=scenario.memory,
            time_model=scenario.time_model,
            eviction=eviction,
            seed=task.train_seed(k),
        )
        totals.append(result.total_latency)
    return float(np.mean(totals))


class TaskRewardScale(gym.Wrapper):
    """Divides rewards by the episode's task scale, so returns are comparable across tasks.

    The scale makes an MC-SF-like schedule return about ``-RETURN_SCALE`` per episode
    (:func:`mcsf_total_latency`); the environment's own ``reward_scale`` is undone first.

    Args:
        env: an environment whose workload is a :class:`TaskStream`.
        eviction: the eviction policy of the environment (MC-SF's scale is measured under it).
    """

    def __init__(self, env: gym.Env, eviction: str) -> None:
        super().__init__(env)
        self.stream: TaskStream = env.unwrapped.source.workload
        self.eviction = eviction
        self._factor = 1.0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset, then set the factor of the drawn task."""
        observation, info = self.env.reset(**kwargs)
        task = self.stream.last_task
        total = mcsf_total_latency(self.stream.suite, task, self.eviction)
        self._factor = RETURN_SCALE * self.env.unwrapped.config.reward_scale / max(total, 1e-9)
        info["task"] = task
        return observation, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Step, with the reward rescaled."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        return observation, float(reward) * self._factor, terminated, truncated, info


def validation_problems(
    env_id: str,
    env_kwargs: dict[str, Any],
    suite: str,
    names: Sequence[str],
    per_task: int,
) -> list[tuple[int, Any, Any]]:
    """``(seed, instance, engine config)`` of the first ``per_task`` validation seeds per task.

    The engine configuration is the one the environment builds for that scenario (its
    eviction policy, the scenario's memory and time model; the engine is seeded with the
    scenario seed, as ``evaluation.evaluate`` does).

    Raises:
        ValueError: if ``per_task`` exceeds a task's validation seeds.
    """
    from dataclasses import replace

    import mcsf_gym  # noqa: F401  (registers the environments)

    problems = []
    kwargs = {key: value for key, value in env_kwargs.items() if key != "workload"}
    kwargs["backend"] = "python"  # only the drawn scenarios are read
    for task in suite_tasks(suite, names):
        if per_task > len(task.valid_seeds):
            raise ValueError(
                f"valid_per_task must be at most {len(task.valid_seeds)} (the validation "
                f"seeds of {task.name}), got {per_task}"
            )
        for seed in task.valid_seeds[:per_task]:
            env = gym.make(env_id, workload=task.scenario(seed), **kwargs)
            try:
                env.reset(seed=seed)
                engine = env.unwrapped.engine
                problems.append((seed, engine.instance, replace(engine.config, seed=seed)))
            finally:
                env.close()
    return problems
