"""Wrappers for libraries that read the action mask from the observation.

SB3's MaskablePPO asks the environment (``env.action_masks()``); RLlib, TorchRL and Tianshou
examples expect the mask inside a ``Dict`` observation instead. :class:`ActionMaskObservation`
gives them that::

    import gymnasium as gym
    import mcsf_gym
    from mcsf_gym.env.wrappers import ActionMaskObservation

    env = ActionMaskObservation(gym.make("mcsf_gym/KVCacheScheduling-v0"))
    obs, info = env.reset(seed=0)
    obs["observation"]   # the environment's own observation (flat Box by default)
    obs["action_mask"]   # int8, 1 = allowed: env.unwrapped.action_masks() as 0/1
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mcsf_gym.env.kv_cache_env import KVCacheSchedulingEnv


class ActionMaskObservation(gym.ObservationWrapper):
    """Observations ``{"observation": obs, "action_mask": mask}`` (a ``Dict`` space).

    ``"action_mask"`` is a ``Box(0, 1, (n,), int8)`` holding ``action_masks()`` of the state
    the observation describes (``K + 1`` entries in admit mode, ``K`` in priority mode), as
    0/1 integers, which is the form RLlib's and Tianshou's masked models take. Rewards,
    terminations and ``info`` (which also holds ``"action_mask"`` as booleans) are
    unchanged.

    Args:
        env: a (wrapped) :class:`KVCacheSchedulingEnv`.

    Raises:
        ValueError: if ``env`` is not a :class:`KVCacheSchedulingEnv`.
    """

    def __init__(self, env: gym.Env) -> None:
        if not isinstance(env.unwrapped, KVCacheSchedulingEnv):
            raise ValueError(f"env must be a KVCacheSchedulingEnv, got {env.unwrapped!r}")
        super().__init__(env)
        base = env.unwrapped
        window = base.config.window
        n = window + 1 if isinstance(base.action_space, spaces.Discrete) else window
        self.observation_space = spaces.Dict(
            {
                "observation": env.observation_space,
                "action_mask": spaces.Box(0, 1, shape=(n,), dtype=np.int8),
            }
        )

    def observation(self, observation: Any) -> dict[str, Any]:
        """The observation with the current action mask beside it."""
        mask = self.env.unwrapped.action_masks().astype(np.int8)
        return {"observation": observation, "action_mask": mask}
