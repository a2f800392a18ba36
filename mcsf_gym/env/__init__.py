"""The Gymnasium environment: KV-cache scheduling as a reinforcement-learning task.

``import mcsf_gym`` registers ``mcsf_gym/KVCacheScheduling-v0`` (admit mode, discrete) and
``mcsf_gym/KVCacheSchedulingPriority-v0`` (one score per waiting request, continuous). The
environment class's docstring (:class:`KVCacheSchedulingEnv`) is the manual.
:class:`PolicyScheduler` runs a policy of the environment (e.g. a trained model) as a core
scheduler under ``simulate``; :class:`SchedulerPolicy` runs a core scheduler in the environment.
:class:`KVCacheSchedulingVectorEnv` is the native vector environment (``gymnasium.make_vec``).
"""

from mcsf_gym.env.actions import ACTIONS, ActionType
from mcsf_gym.env.driver import EpisodeSummary, SchedulerPolicy, run_scheduler
from mcsf_gym.env.kv_cache_env import KVCacheSchedulingEnv
from mcsf_gym.env.observations import OBSERVATIONS, ObservationType
from mcsf_gym.env.policy import PolicyScheduler, env_config
from mcsf_gym.env.registration import ENV_IDS, register_envs
from mcsf_gym.env.vector import KVCacheSchedulingVectorEnv

__all__ = [
    "ACTIONS",
    "ENV_IDS",
    "OBSERVATIONS",
    "ActionType",
    "EpisodeSummary",
    "KVCacheSchedulingEnv",
    "KVCacheSchedulingVectorEnv",
    "ObservationType",
    "PolicyScheduler",
    "SchedulerPolicy",
    "env_config",
    "register_envs",
    "run_scheduler",
]
