"""A native vectorised environment: many :class:`KVCacheSchedulingEnv` instances per call.

``gymnasium.make_vec(env_id, num_envs=8, vectorization_mode="vector_entry_point", **kwargs)``
builds a :class:`KVCacheSchedulingVectorEnv` (both registered ids have this vector entry
point). Each instance is a :class:`~mcsf_gym.env.kv_cache_env.KVCacheSchedulingEnv` with the
same keyword arguments, so an instance's trajectory is exactly that of a single environment
with the same seed and actions (``tests/test_env_vector.py`` checks observations, rewards,
masks and infos against ``SyncVectorEnv``). What the vector environment saves is the work
around the instances: Gymnasium's per-instance wrappers, the per-instance ``info`` dicts and
their batching (the batch arrays are filled in place), and a Python call per instance.

Autoreset follows ``SyncVectorEnv``'s default, :attr:`AutoresetMode.NEXT_STEP
<gymnasium.vector.AutoresetMode>`: the step after an instance terminated or was truncated
resets it (its action is ignored, its reward is 0, and the observation and ``info`` are those
of the new episode's start).

``infos`` are in Gymnasium's vector format (a dict of arrays, each key ``k`` with a boolean
``"_k"`` saying which instances hold it): ``"latency"``, ``"rounds"``, ``"invalid_action"``,
``"invalid_actions"``, ``"time"`` and ``"action_mask"`` (``(num_envs, n)`` booleans) for
every instance, ``"result"``, ``"metrics"`` and ``"truncation"`` for the instances whose
episode ended in the step. :meth:`KVCacheSchedulingVectorEnv.action_masks` gives the masks
of the current states, ``(num_envs, n)``.

``gymnasium.make_vec`` without a ``vectorization_mode`` uses this class too (as for
CartPole-v1, whose id also has a vector entry point); Gymnasium refuses ``wrappers=`` in this
mode, so wrap instances (e.g. :class:`~mcsf_gym.env.wrappers.ActionMaskObservation`) with
``vectorization_mode="sync"``.

Stable-Baselines3 does not take Gymnasium vector environments (it has its own ``VecEnv``
with same-step autoreset): with SB3 or sb3-contrib's ``MaskablePPO`` use
``make_vec_env("mcsf_gym/KVCacheScheduling-v0", n_envs=8)`` on the single environment, which
exposes ``action_masks()`` per instance.
"""

from __future__ import annotations

import operator
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array
from numpy.typing import NDArray

from mcsf_gym.core.checks import check_integer
from mcsf_gym.env.config import RENDER_MODES, EnvConfig
from mcsf_gym.env.kv_cache_env import KVCacheSchedulingEnv
from mcsf_gym.env.native import NativeBatch, resolve_backend
from mcsf_gym.env.observations import FlatObservation

#: Keys of every step's ``info``, with the dtype of their batch arrays (as ``SyncVectorEnv``
#: batches the single environment's values).
_STEP_KEYS: tuple[tuple[str, type], ...] = (
    ("latency", np.float64),
    ("rounds", np.int64),
    ("invalid_action", np.bool_),
    ("invalid_actions", np.int64),
    ("time", np.float64),
)
#: The ``"_k"`` keys of the compiled backend's ``infos`` (every instance holds every key).
_PRESENT_KEYS = (*(f"_{key}" for key, _ in _STEP_KEYS), "_action_mask")


class KVCacheSchedulingVectorEnv(VectorEnv):
    """``num_envs`` KV-cache scheduling environments stepped together (NEXT_STEP autoreset).

    Args:
        num_envs: the number of instances (at least 1).
        backend: ``"auto"`` (default): the compiled kernel steps every instance in one call
            where it supports the settings and numba is installed, else the Python backend;
            ``"compiled"`` or ``"python"`` to choose (see :mod:`mcsf_gym.env.native`).
        **kwargs: the keyword arguments of :class:`KVCacheSchedulingEnv`, the same for every
            instance (``workload``, ``window``, ``action``, ...).

    Raises:
        ValueError: for a bad ``num_envs`` or a bad environment keyword or value, or
            ``backend="compiled"`` with settings it does not support.

    Example:
        >>> import gymnasium as gym
        >>> import mcsf_gym
        >>> envs = gym.make_vec("mcsf_gym/KVCacheScheduling-v0", num_envs=4,
        ...                     vectorization_mode="vector_entry_point")
        >>> obs, infos = envs.reset(seed=0)
        >>> obs.shape, envs.action_masks().shape
        ((4, 72), (4, 9))
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": list(RENDER_MODES),
        "render_fps": 4,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(self, num_envs: int = 1, backend: str = "auto", **kwargs: Any) -> None:
        self.num_envs = check_integer("num_envs", num_envs, low=1)
        config = EnvConfig.from_kwargs({**kwargs, "backend": backend})
        #: The instances, each a plain (unwrapped) :class:`KVCacheSchedulingEnv`.
        self.envs = [KVCacheSchedulingEnv(backend="python", **kwargs) for _ in range(self.num_envs)]
        #: The compiled state of every instance (``None`` under the Python backend).
        self.native: NativeBatch | None = None
        if resolve_backend(config, backend):
            self.native = NativeBatch(config, self.num_envs)
            for slot, env in enumerate(self.envs):
                env.use_batch(self.native, slot)
        first = self.envs[0]
        self.render_mode = first.render_mode
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)
        self._resets = 0  # how many instances the next step resets
        # The compiled backend's "_k" entries: every instance holds every key (shared, read-only).
        self._present = np.ones(self.num_envs, dtype=np.bool_)
        self._present.flags.writeable = False

    def reset(
        self,
        *,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Reset every instance (seeds: ``None``, an int ``s`` for ``s, s+1, ...``, or a list).

        ``options`` go to every instance's ``reset`` (``{"scenario": ...}``); Gymnasium's
        ``"reset_mask"`` (resetting some instances only) is not supported.

        Raises:
            ValueError: for a seed list of the wrong length, or a bad reset option.
        """
        seeds = self._seeds(seed)
        batch = _Batch(self)
        for i, (env, env_seed) in enumerate(zip(self.envs, seeds, strict=True)):
            batch.put_reset(i, *env.reset(seed=env_seed, options=options))
        self._autoreset[:] = False
        self._resets = 0
        return batch.finish()

    def _seeds(self, seed: Any) -> list[int | None]:
        """One seed (a Python int or ``None``) per instance."""
        n = self.num_envs
        if seed is None:
            return [None] * n
        if isinstance(seed, (int, np.integer)):
            return [int(seed) + i for i in range(n)]
        seeds = list(seed)
        if len(seeds) != n:
            raise ValueError(f"seed must list {n} seeds (num_envs), got {len(seeds)}")
        try:
            return [None if s is None else operator.index(s) for s in seeds]
        except TypeError:
            raise ValueError(f"seed must hold integers or None, got {seed!r}") from None

    def step(
        self, actions: Any
    ) -> tuple[Any, NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """Step every instance with its action (an instance whose episode ended resets).

        Raises:
            ValueError: for actions of the wrong shape or kind.
        """
        actions = np.asarray(actions)
        if actions.shape[:1] != (self.num_envs,):
            raise ValueError(
                f"actions must hold one action per instance ({self.num_envs}), "
                f"got shape {actions.shape}"
            )
        if self.native is not None:
            return self._step_native(actions)
        # Python ints for a discrete space (the single environment's fast path; a float still
        # fails its integer check), one array per instance otherwise.
        per_instance = actions.tolist() if actions.ndim == 1 else actions
        batch = _Batch(self)
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminations = np.zeros(self.num_envs, dtype=np.bool_)
        truncations = np.zeros(self.num_envs, dtype=np.bool_)
        for i, env in enumerate(self.envs):
            if self._autoreset[i]:
                batch.put_reset(i, *env.reset())
                continue
            latency, rounds, invalid = env.transition(per_instance[i])
            terminated = env.engine.done  # type: ignore[union-attr]
            truncated = env.truncated(terminated)
            rewards[i] = -latency / env.config.reward_scale
            terminations[i] = terminated
            truncations[i] = truncated
            batch.put(i, env, (latency, rounds, invalid, env.invalid_actions))
            if terminated or truncated:
                batch.add_final(i, env.final_info(terminated))
        np.logical_or(terminations, truncations, out=self._autoreset)
        observations, infos = batch.finish()
        return observations, rewards, terminations, truncations, infos

    def _step_native(
        self, actions: NDArray[Any]
    ) -> tuple[Any, NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """:meth:`step` under the compiled backend: one kernel call for every instance."""
        native: NativeBatch = self.native  # type: ignore[assignment]
        resetting = self._autoreset
        native.set_actions(actions, resetting)
        ended = native.step(fresh=True)
        terminations, truncations = native.terminated, native.truncated
        finished = terminations | truncations
        infos: dict[str, Any] = {
            "latency": native.latency,
            "rounds": native.rounds,
            "invalid_action": native.invalid,
            "invalid_actions": native.invalid_total,
            "time": native.times,
        }
        if ended:
            for i in np.flatnonzero(finished).tolist():
                infos = self._add_info(infos, self.envs[i].final_info(bool(terminations[i])), i)
        if self._resets:
            for i in np.flatnonzero(resetting).tolist():
                self.envs[i].reset()
                native.times[i] = native.time(i)
                native.invalid_total[i] = 0
        self._resets = ended
        self._autoreset = finished
        for key in _PRESENT_KEYS:
            infos[key] = self._present
        infos["action_mask"] = native.masks.copy()
        return self._native_observations(), native.reward, terminations, truncations, infos

    def _native_observations(self) -> Any:
        """The batched observations under the compiled backend (a fresh array or dict)."""
        native: NativeBatch = self.native  # type: ignore[assignment]
        if isinstance(self.envs[0].observation_type, FlatObservation):
            return native.observations.copy()
        space = self.single_observation_space
        rows = [env.native_observation() for env in self.envs]
        return concatenate(space, rows, create_empty_array(space, self.num_envs))

    def action_masks(self) -> NDArray[np.bool_]:
        """The action masks of the current states, one row per instance.

        Raises:
            RuntimeError: if called before ``reset``.
        """
        if self.native is not None:
            if self.native.instances[-1] is None:
                raise RuntimeError("call reset() before action_masks()")
            return self.native.masks.copy()
        return np.array([env.shared_action_masks() for env in self.envs])

    def render(self) -> tuple[Any, ...]:
        """Each instance's :meth:`KVCacheSchedulingEnv.render`."""
        return tuple(env.render() for env in self.envs)

    def close_extras(self, **kwargs: Any) -> None:
        """Close every instance."""
        for env in self.envs:
            env.close()


class _Batch:
    """The observations and ``info`` arrays of one vector step, filled instance by instance.

    Flat observations and masks are written straight into their batch arrays (no array per
    instance); other observation types are batched with Gymnasium's ``concatenate``.
    """

    def __init__(self, vector: KVCacheSchedulingVectorEnv) -> None:
        self.vector = vector
        n = vector.num_envs
        space = vector.single_observation_space
        self.flat = isinstance(vector.envs[0].observation_type, FlatObservation)
        self.observations: Any = (
            np.empty((n, *space.shape), dtype=np.float32)  # type: ignore[misc]
            if self.flat
            else [None] * n
        )
        action_space = vector.single_action_space
        if isinstance(action_space, spaces.Discrete):
            width = int(action_space.n)
        else:
            width = action_space.shape[0]  # type: ignore[index]
        self.masks = np.empty((n, width), dtype=np.bool_)
        self.values: list[tuple[Any, ...]] = [()] * n
        self.extra: dict[str, Any] = {}

    def put(self, i: int, env: KVCacheSchedulingEnv, values: tuple[Any, ...]) -> None:
        """Record instance ``i``'s new observation, mask and ``info`` values (time added here)."""
        boundary = env.boundary
        if self.flat:
            self.observations[i] = env.observation_type.encoder.values(boundary)  # type: ignore[arg-type]
        else:
            self.observations[i] = env.observation_type.observe(boundary)  # type: ignore[arg-type]
        self.masks[i] = env.shared_action_masks()
        self.values[i] = (*values, boundary.view.time)  # type: ignore[union-attr]

    def put_reset(self, i: int, observation: Any, info: dict[str, Any]) -> None:
        """Record what ``reset`` returned for instance ``i``."""
        self.observations[i] = observation
        self.masks[i] = info["action_mask"]
        self.values[i] = tuple(info[key] for key, _ in _STEP_KEYS)

    def add_final(self, i: int, entries: dict[str, Any]) -> None:
        """Add instance ``i``'s end-of-episode entries (``result``, ``metrics``, ``truncation``)."""
        self.extra = self.vector._add_info(self.extra, entries, i)

    def finish(self) -> tuple[Any, dict[str, Any]]:
        """The batched observations (a fresh array or dict) and the vector ``infos``."""
        vector = self.vector
        n = vector.num_envs
        observations = self.observations
        if not self.flat:
            space = vector.single_observation_space
            observations = concatenate(space, observations, create_empty_array(space, n))
        # Every instance holds these keys: one row of ``present`` per key (one allocation).
        present = np.ones((len(_STEP_KEYS) + 1, n), dtype=np.bool_)
        infos: dict[str, Any] = {}
        columns = zip(*self.values, strict=True)
        for row, (column, (key, dtype)) in enumerate(zip(columns, _STEP_KEYS, strict=True)):
            infos[key] = np.array(column, dtype=dtype)
            infos[f"_{key}"] = present[row]
        infos["action_mask"] = self.masks
        infos["_action_mask"] = present[-1]
        infos.update(self.extra)
        return observations, infos
