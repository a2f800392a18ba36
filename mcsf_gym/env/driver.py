"""Run any core scheduler (``agents``) as a policy of the environment.

At every boundary the policy asks the scheduler which waiting requests to admit (the same
``schedule(view)`` call ``simulate`` makes) and turns the answer into actions: in admit mode
the slot of each chosen request in turn, then "advance"; in priority mode one score vector
(the chosen requests scored in their order, the others held back). The result equals
``simulate`` with the same scheduler whenever every chosen request is in the window (always
true for MC-SF under the default ``order="prediction"``) and the masking rule allows the
choices (MC-SF's choices pass ``"lookahead"``; use ``masking="none"`` for rules that admit
without the look-ahead check). Chosen requests outside the window are skipped and counted in
:attr:`SchedulerPolicy.skipped`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from mcsf_gym.core.result import SimulationResult
from mcsf_gym.core.scheduler import Scheduler
from mcsf_gym.env.actions import AdmitAction
from mcsf_gym.env.boundary import Boundary
from mcsf_gym.env.kv_cache_env import KVCacheSchedulingEnv


class SchedulerPolicy:
    """A core scheduler acting in a :class:`KVCacheSchedulingEnv` (admit or priority mode).

    Args:
        scheduler: any object with ``reset(rng)`` and ``schedule(view)``.

    Example:
        >>> import gymnasium as gym
        >>> from agents.mcsf import MCSF
        >>> env = gym.make("mcsf_gym/KVCacheScheduling-v0")
        >>> policy = SchedulerPolicy(MCSF())
        >>> obs, info = env.reset(seed=0)
        >>> policy.reset(np.random.default_rng(0))
        >>> obs, reward, terminated, truncated, info = env.step(policy(env))
    """

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        #: Chosen requests that were outside the window, so could not be admitted.
        self.skipped = 0
        self._boundary: Boundary | None = None
        self._epoch = -1
        self._plan: list[int] = []

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode: reset the scheduler with ``rng`` and forget the plan."""
        self.scheduler.reset(rng)
        self.skipped = 0
        self._boundary = None
        self._plan = []

    def __call__(self, env: gym.Env) -> Any:
        """The action for the current state of ``env`` (a wrapped or bare environment).

        Raises:
            ValueError: if ``env`` is not a :class:`KVCacheSchedulingEnv` with a running
                episode.
        """
        base = env.unwrapped
        if not isinstance(base, KVCacheSchedulingEnv) or base.boundary is None:
            raise ValueError(f"expected a KVCacheSchedulingEnv after reset(), got {env!r}")
        boundary = base.boundary
        window = base.config.window
        if boundary is not self._boundary or boundary.epoch != self._epoch:
            self._boundary = boundary
            self._epoch = boundary.epoch
            self._plan = [int(i) for i in self.scheduler.schedule(boundary.view)]
            self._plan.reverse()
        if isinstance(base.action_type, AdmitAction):
            return self._next_slot(boundary, window)
        return self._scores(boundary, window)

    def _next_slot(self, boundary: Boundary, window: int) -> int:
        visible = boundary.window()
        while self._plan:
            request = self._plan.pop()
            if request in visible:
                return visible.index(request)
            self.skipped += 1
        return window

    def _scores(self, boundary: Boundary, window: int) -> np.ndarray:
        visible = boundary.window()
        scores = np.full(window, -1.0, dtype=np.float32)
        rank = 0
        while self._plan:
            request = self._plan.pop()
            if request in visible:
                scores[visible.index(request)] = 1.0 - rank / window
                rank += 1
            else:
                self.skipped += 1
        return scores


@dataclass(frozen=True)
class EpisodeSummary:
    """One episode of a scheduler in the environment.

    Attributes:
        total_reward: the sum of the rewards.
        steps: the number of steps taken.
        terminated: whether every request finished (else the episode was truncated).
        invalid_actions: actions the environment treated as "advance".
        skipped: chosen requests outside the window.
        result: the simulation result (``None`` if truncated).
    """

    total_reward: float
    steps: int
    terminated: bool
    invalid_actions: int
    skipped: int
    result: SimulationResult | None


def run_scheduler(
    env: gym.Env,
    scheduler: Scheduler,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
) -> EpisodeSummary:
    """Reset ``env`` and run one episode with ``scheduler`` choosing the actions.

    Args:
        env: a (wrapped) :class:`KVCacheSchedulingEnv`.
        scheduler: any core scheduler, e.g. ``agents.make_agent("mcsf")``.
        seed: the seed of ``env.reset`` and of the scheduler's generator.
        options: passed to ``env.reset`` (e.g. ``{"scenario": instance}``).

    Returns:
        The episode's total reward, step count and simulation result.
    """
    policy = SchedulerPolicy(scheduler)
    env.reset(seed=seed, options=options)
    policy.reset(np.random.default_rng(seed))
    total = 0.0
    steps = 0
    info: dict[str, Any] = {}
    terminated = truncated = False
    while not (terminated or truncated):
        _, reward, terminated, truncated, info = env.step(policy(env))
        total += float(reward)
        steps += 1
    return EpisodeSummary(
        total_reward=total,
        steps=steps,
        terminated=terminated,
        invalid_actions=int(info.get("invalid_actions", 0)),
        skipped=policy.skipped,
        result=info.get("result"),
    )
