"""Registration of the environments with Gymnasium, by string entry point (nothing heavy loads)."""

from __future__ import annotations

import gymnasium

ENTRY_POINT = "mcsf_gym.env.kv_cache_env:KVCacheSchedulingEnv"
#: The native vector environment (``gymnasium.make_vec(..., vectorization_mode=
#: "vector_entry_point")``; ``make_vec`` without a mode uses it too).
VECTOR_ENTRY_POINT = "mcsf_gym.env.vector:KVCacheSchedulingVectorEnv"

#: Registered ids and the keyword arguments each one fixes.
ENV_IDS: dict[str, dict[str, str]] = {
    "mcsf_gym/KVCacheScheduling-v0": {"action": "admit"},
    "mcsf_gym/KVCacheSchedulingPriority-v0": {"action": "priority"},
}


def register_envs() -> None:
    """Register every id of :data:`ENV_IDS` (ids already registered are left alone)."""
    for env_id, kwargs in ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point=ENTRY_POINT,
                vector_entry_point=VECTOR_ENTRY_POINT,
                kwargs=dict(kwargs),
            )
