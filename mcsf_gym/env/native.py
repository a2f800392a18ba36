"""The compiled backend (``backend="compiled"``): many environment instances in flat arrays.

:class:`NativeBatch` holds the state of ``size`` instances of
:class:`~mcsf_gym.env.kv_cache_env.KVCacheSchedulingEnv` in numpy arrays and steps all of
them in one call of the numba kernel :func:`mcsf_gym.env.native_kernel.step_batch`. Scenarios
are drawn, checked and turned into results here, in Python, by the same code as the Python
backend; only the per-step work (engine rounds, boundary, masks, observation) is compiled.
The results are bit for bit those of the Python backend (``tests/test_env_native.py``).

Supported: ``"admit"`` and ``"priority"`` actions, ``"flat"`` and ``"dict"`` observations,
every ``order``, ``masking``, ``alpha`` and ``allow_idle``, ``clear-all`` and ``newest-first``
eviction, the ``unit`` and ``linear`` time models. :func:`unsupported` says why other settings
need ``backend="python"``. A ``render_mode`` is accepted (stable-baselines3's ``make_vec_env``
sets ``"rgb_array"`` on every environment it makes) but ``render()`` refuses: the compiled
state keeps no history to draw.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.eviction import ClearAll, NewestFirst, make_eviction
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.result import SimulationResult, compute_metrics
from mcsf_gym.core.time_models import LinearTime, TimeModel, UnitTime, make_time_model
from mcsf_gym.env.actions import AdmitAction, PriorityAction
from mcsf_gym.env.config import MASKINGS, EnvConfig
from mcsf_gym.env.observations import DictObservation, FlatObservation

#: The most a step limit can be (a larger ``max_steps`` never truncates in practice).
_LIMIT_CAP = 2**62


def numba_available() -> bool:
    """Whether numba can be imported (the compiled backend needs it)."""
    return importlib.util.find_spec("numba") is not None


def unsupported(config: EnvConfig) -> str | None:
    """Why the compiled backend cannot run ``config`` (``None`` when it can)."""
    if not numba_available():
        return "it needs numba (pip install 'mcsf-gym[fast]')"
    eviction = make_eviction(config.eviction)
    if not isinstance(eviction, (ClearAll, NewestFirst)):
        return f"it supports clear-all and newest-first eviction, not {eviction!r}"
    if type(config.make_action_type()) not in (AdmitAction, PriorityAction):
        return f"it supports the 'admit' and 'priority' actions, not {config.action!r}"
    if type(config.make_observation_type()) not in (FlatObservation, DictObservation):
        return f"it supports the 'flat' and 'dict' observations, not {config.observation!r}"
    if config.time_model is not None:
        return _unsupported_time_model(make_time_model(config.time_model))
    return None


def _unsupported_time_model(model: TimeModel) -> str | None:
    if type(model) not in (UnitTime, LinearTime):
        return f"it supports the unit and linear time models, not {model!r}"
    return None


def resolve_backend(config: EnvConfig, backend: str, *, replays: bool = False) -> bool:
    """Whether ``backend`` (``"python"``, ``"compiled"`` or ``"auto"``) runs compiled.

    ``"auto"`` runs compiled where the kernel supports the settings, except with a
    ``render_mode`` when the caller cannot move to the Python backend to render (``replays``:
    a single environment can, replaying its episode there; a vector environment cannot).

    Raises:
        ValueError: for ``"compiled"`` with settings it does not support (the message says
            why), or an unknown backend.
    """
    if backend == "python":
        return False
    reason = unsupported(config)
    if backend == "auto":
        return reason is None and (replays or config.render_mode is None)
    if backend == "compiled":
        if reason is not None:
            raise ValueError(f"backend='compiled' cannot run these settings: {reason}")
        return True
    raise ValueError(f"backend must be 'python', 'compiled' or 'auto', got {backend!r}")


_announced = False


def announce_compilation(kernel: ModuleType) -> bool:
    """Say on stderr, once per process, that the kernel compiles now (no disk cache yet).

    The first use in a fresh install takes about 15 s; without a word it looks like a hang.
    Returns whether it said so. Silent when numba's cache index cannot be read (an uncompiled
    kernel under ``NUMBA_DISABLE_JIT=1``, or a numba that keeps it elsewhere).
    """
    global _announced
    if _announced:
        return False
    _announced = True
    try:
        index = kernel.step_batch._cache._cache_file._index_path  # numba's on-disk cache index
    except AttributeError:
        return False
    if os.path.exists(index):
        return False
    print(
        "mcsf_gym: compiling the environment's kernel (first use: about 15 s; cached on disk "
        "for later runs; backend='python' skips it)",
        file=sys.stderr,
        flush=True,
    )
    return True


#: The named rows of :class:`NativeBatch`'s step outputs (views of three arrays).
_OUTPUT_ROWS = (
    "latency",
    "reward",
    "times",
    "rounds",
    "invalid_total",
    "invalid",
    "terminated",
    "truncated",
)


class NativeBatch:
    """The state of ``size`` environment instances, stepped together by the compiled kernel.

    Args:
        config: the environment's settings (the same for every instance; checked with
            :func:`unsupported` by the caller).
        size: the number of instances.
    """

    def __init__(self, config: EnvConfig, size: int) -> None:
        from mcsf_gym.env import native_kernel as kernel

        announce_compilation(kernel)
        self.kernel = kernel
        self.config = config
        self.size = size
        action_type = config.make_action_type()
        assert isinstance(action_type, (AdmitAction, PriorityAction))  # as unsupported() checks
        self.action_type = action_type
        encoder = config.make_observation_type().encoder
        self.priority = isinstance(action_type, PriorityAction)
        eviction = make_eviction(config.eviction)
        self.config_i = np.zeros(kernel.N_CONFIG_I, dtype=np.int64)
        self.config_i[kernel.C_WINDOW] = config.window
        self.config_i[kernel.C_BY_PREDICTION] = config.order == "prediction"
        self.config_i[kernel.C_MASKING] = MASKINGS.index(config.masking)
        self.config_i[kernel.C_ALLOW_IDLE] = config.allow_idle
        newest_first = isinstance(eviction, NewestFirst)
        self.config_i[kernel.C_EVICTION] = (
            kernel.EVICT_NEWEST_FIRST if newest_first else kernel.EVICT_CLEAR_ALL
        )
        self.config_i[kernel.C_BINS] = encoder.bins
        self.config_i[kernel.C_PRIORITY] = self.priority
        self.config_f = np.array([encoder.time_scale, config.reward_scale], dtype=np.float64)
        width = config.window if self.priority else config.window + 1
        #: The latest observation of every instance (flat features).
        self.observations = np.zeros((size, encoder.size), dtype=np.float32)
        #: The action masks of every instance's current state.
        self.masks = np.zeros((size, width), dtype=np.bool_)
        self.active = np.zeros(size, dtype=np.bool_)
        self.slots = np.zeros(size, dtype=np.int64)
        self.scores = np.zeros((size, config.window if self.priority else 1), dtype=np.float64)
        self._new_outputs()
        self.instances: list[Instance | None] = [None] * size
        self.time_models: list[str] = [""] * size
        self._allocate(capacity=1, horizon=1)

    def __getstate__(self) -> dict[str, Any]:
        """The state to copy or pickle: the arrays, without the kernel module (re-imported)."""
        state = dict(self.__dict__)
        for name in ("kernel", "_state", "_arguments", *_OUTPUT_ROWS):
            state.pop(name, None)  # the rows are views, which a copy would detach
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a copied or unpickled batch, binding the kernel's arguments again."""
        from mcsf_gym.env import native_kernel as kernel

        self.__dict__.update(state)
        self.kernel = kernel
        self._view_outputs()
        self._bind()

    # ----------------------------------------------------------------- state
    def _new_outputs(self) -> None:
        """New arrays for the steps' outputs (the vector environment hands out their rows)."""
        n = self.size
        self.step_reals = np.empty((3, n), dtype=np.float64)  # the kernel writes every entry
        self.step_ints = np.empty((2, n), dtype=np.int64)
        self.step_flags = np.empty((3, n), dtype=np.bool_)
        self._view_outputs()

    def _view_outputs(self) -> None:
        """The named rows of the step's output arrays."""
        k = self.kernel
        #: Each instance's latest step: latency accrued, reward, time after it, rounds run,
        #: invalid actions so far, whether the action was invalid, terminated, truncated.
        self.latency = self.step_reals[k.O_LATENCY]
        self.reward = self.step_reals[k.O_REWARD]
        self.times = self.step_reals[k.O_TIME]
        self.rounds = self.step_ints[k.O_ROUNDS]
        self.invalid_total = self.step_ints[k.O_INVALID_TOTAL]
        self.invalid = self.step_flags[k.O_INVALID]
        self.terminated = self.step_flags[k.O_TERMINATED]
        self.truncated = self.step_flags[k.O_TRUNCATED]

    def _bind(self) -> None:
        """The kernel's arguments, gathered once (arrays change only when they are replaced)."""
        self._state = (
            self.ints,
            self.floats,
            self.lists,
            self.memory,
            self.scalars,
            self.reals,
            self.config_i,
            self.config_f,
        )
        self._arguments = (
            *self._state,
            self.active,
            self.slots,
            self.scores,
            self.observations,
            self.masks,
            (self.step_reals, self.step_ints, self.step_flags),
        )

    def _allocate(self, capacity: int, horizon: int) -> None:
        """Arrays for up to ``capacity`` requests and profiles of ``horizon`` slots."""
        k = self.kernel
        n = self.size
        self.capacity = capacity
        self.horizon = horizon
        self.ints = np.zeros((n, k.N_INT_FIELDS, capacity), dtype=np.int64)
        self.floats = np.zeros((n, k.N_FLOAT_FIELDS, capacity), dtype=np.float64)
        self.lists = np.zeros((n, k.N_LISTS, capacity), dtype=np.int64)
        self.memory = np.zeros((n, 3, horizon), dtype=np.int64)
        self.scalars = np.zeros((n, k.N_SCALARS), dtype=np.int64)
        self.reals = np.zeros((n, k.N_REALS), dtype=np.float64)
        self._bind()

    def _grow(self, capacity: int, horizon: int) -> None:
        """Make room for an episode of ``capacity`` requests and a profile of ``horizon``."""
        if capacity <= self.capacity and horizon <= self.horizon:
            return
        old = (self.ints, self.floats, self.lists, self.memory, self.scalars, self.reals)
        old_capacity, old_horizon = self.capacity, self.horizon
        self._allocate(max(capacity, old_capacity), max(horizon, old_horizon))
        self.ints[:, :, :old_capacity] = old[0]
        self.floats[:, :, :old_capacity] = old[1]
        self.lists[:, :, :old_capacity] = old[2]
        self.memory[:, :, :old_horizon] = old[3]
        self.scalars[:] = old[4]
        self.reals[:] = old[5]

    def load(
        self,
        e: int,
        instance: Instance,
        memory: int,
        time_model: TimeModel,
        step_limit: int | None,
    ) -> None:
        """Start an episode of ``instance`` in instance ``e`` (observation and mask included).

        Raises:
            ValueError: as :class:`~mcsf_gym.core.engine.Engine` does (a request that can
                never fit, fractional arrivals under ``unit`` time), or for a time model the
                compiled backend does not support.
        """
        reason = _unsupported_time_model(time_model)
        if reason is not None:
            raise ValueError(f"backend='compiled' cannot run this scenario: {reason}")
        instance.check_memory(memory)
        if time_model.integer_arrivals:
            instance.check_integer_arrivals()
        k = self.kernel
        n = instance.n
        clipped = np.minimum(instance.prediction, memory - instance.prompt)
        horizon = max(int(clipped.max()), int(instance.output.max())) + 2
        self._grow(n, horizon)
        ints, floats, scalars, reals = self.ints[e], self.floats[e], self.scalars[e], self.reals[e]
        ints[k.I_PROMPT, :n] = instance.prompt
        ints[k.I_OUTPUT, :n] = instance.output
        ints[k.I_PREDICTION, :n] = instance.prediction
        ints[k.I_CLIPPED, :n] = clipped
        floats[k.F_ARRIVAL, :n] = instance.arrival
        scalars[k.S_N] = n
        scalars[k.S_MEMORY] = memory
        scalars[k.S_PROFILE_SIZE] = horizon
        scalars[k.S_STEP_LIMIT] = -1 if step_limit is None else min(step_limit, _LIMIT_CAP)
        reals[k.R_CAP] = memory * (1.0 - self.config.alpha)
        reals[k.R_IDLE] = time_model.idle_duration
        linear = isinstance(time_model, LinearTime)
        scalars[k.S_LINEAR] = linear
        if linear:
            reals[k.R_BASE] = time_model.base
            reals[k.R_PER_REQUEST] = time_model.per_request
            reals[k.R_PER_CONTEXT] = time_model.per_context
            reals[k.R_PER_PREFILL] = time_model.per_prefill
        self.instances[e] = instance
        self.time_models[e] = time_model.name
        k.start_episode(*self._state, e, self.observations, self.masks)

    def step(self, fresh: bool = False) -> int:
        """Step every instance marked in :attr:`active` with its :attr:`slots` or :attr:`scores`.

        The new observations, masks and the step's outputs (:attr:`latency`, :attr:`reward`,
        ...) are in the batch's arrays; with ``fresh``, the outputs are new arrays (not
        those of the previous step). Returns how many episodes ended.
        """
        if fresh:
            self._new_outputs()
            self._bind()
        return self.kernel.step_batch(*self._arguments)

    def set_action(self, e: int, action: Any) -> None:
        """Record instance ``e``'s action for the next :meth:`step`, read by its action type.

        Raises:
            ValueError: for an action of the wrong kind (a non-integer, a wrong shape).
        """
        action_type = self.action_type
        if isinstance(action_type, PriorityAction):
            self.scores[e] = action_type.parse(action)
            return
        slot = action_type.parse(action)
        self.slots[e] = slot if 0 <= slot <= self.config.window else -1

    def set_actions(self, actions: NDArray[Any], skip: NDArray[np.bool_]) -> None:
        """Record one action per instance (``actions[e]``) for the instances not in ``skip``.

        Only those are stepped by the next :meth:`step`.

        Raises:
            ValueError: for actions of the wrong kind or shape (as :meth:`set_action`).
        """
        window = self.config.window
        if self.priority:
            if actions.shape[1:] != (window,):
                raise ValueError(f"action must hold {window} scores, got shape {actions.shape[1:]}")
            self.scores[:] = actions
        elif actions.dtype.kind in "iub":
            self.slots[:] = actions  # the kernel treats any slot outside 0..K as invalid
        else:
            for e in np.flatnonzero(~skip).tolist():
                self.set_action(e, actions[e].item() if actions.dtype != object else actions[e])
        np.logical_not(skip, out=self.active)

    # ----------------------------------------------------------------- reading
    def time(self, e: int) -> float:
        """Instance ``e``'s current time."""
        return float(self.reals[e, self.kernel.R_TIME])

    def invalid_actions(self, e: int) -> int:
        """Invalid actions so far in instance ``e``'s episode."""
        return int(self.scalars[e, self.kernel.S_INVALID])

    def unfinished(self, e: int) -> int:
        """Requests of instance ``e`` that have not finished."""
        k = self.kernel
        return int(self.scalars[e, k.S_N] - self.scalars[e, k.S_FINISHED])

    def result(self, e: int) -> SimulationResult:
        """The result of instance ``e``'s finished episode (as ``Engine.result``)."""
        k = self.kernel
        instance = self.instances[e]
        assert instance is not None
        n = instance.n
        floats, scalars = self.floats[e], self.scalars[e]
        finish = floats[k.F_FINISH, :n].copy()
        first_token = floats[k.F_FIRST_TOKEN, :n].copy()
        return SimulationResult(
            instance=instance,
            memory=int(scalars[k.S_MEMORY]),
            time_model=self.time_models[e],
            start=floats[k.F_START_TIME, :n].copy(),
            finish=finish,
            first_token=first_token,
            evicted=self.ints[e, k.I_EVICTED, :n].copy(),
            metrics=compute_metrics(
                instance,
                finish,
                first_token,
                peak_memory=int(scalars[k.S_PEAK_MEMORY]),
                memory_sum=float(self.reals[e, k.R_MEMORY_SUM]),
                rounds=int(scalars[k.S_ROUND]),
                evictions=int(scalars[k.S_EVICTIONS]),
                tokens_discarded=int(scalars[k.S_DISCARDED]),
            ),
        )
