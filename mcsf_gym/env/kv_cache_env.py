"""The Gymnasium environment: KV-cache scheduling as a reinforcement-learning task."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.engine import Engine
from mcsf_gym.core.eviction import EvictionPolicy
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.predictions import Predictor
from mcsf_gym.core.time_models import TimeModel
from mcsf_gym.env.actions import ActionType
from mcsf_gym.env.boundary import Boundary
from mcsf_gym.env.config import (
    DEFAULT_WORKLOAD,
    ENV_KEYWORDS,
    RENDER_MODES,
    EnvConfig,
    check_keywords,
)
from mcsf_gym.env.native import NativeBatch, resolve_backend
from mcsf_gym.env.observations import ObservationType
from mcsf_gym.env.rendering import render_ansi, render_rgb
from mcsf_gym.env.scenarios import ScenarioSource, resolve_workload
from mcsf_gym.env.stepping import Snapshot, run_to_decision, snapshot


class KVCacheSchedulingEnv(gym.Env):
    r"""Online LLM-inference scheduling under a KV-cache limit (Jaillet et al. 2025).

    ## Description

    One worker with a KV cache of ``M`` tokens serves requests that arrive over time. Before
    each round the scheduler (the agent) chooses which waiting requests to admit; every
    request in a round produces one token and holds ``prompt + produced`` tokens of KV
    cache, and running requests are never paused. The agent sees each request's prompt
    size and a *prediction* of its output length, never the true length; a request that
    outlives its prediction can overflow memory, and the engine then evicts running
    requests (they restart from scratch). The goal is the smallest total end-to-end latency
    ``TEL = sum_i (c_i - a_i)``. The rules are those of ``docs/model.md``, applied
    by the simulator core (:class:`~mcsf_gym.core.engine.Engine`); the environment adds
    observations, actions, masks and rewards, never rules. MC-SF, the paper's algorithm,
    is the reference policy: in admit mode (default ``order`` and ``masking``) it is "take
    slot 0 while its mask holds, then advance", and the episode's result equals
    ``simulate(instance, MCSF())``.

    Two bridges connect the environment with the core scheduler interface:
    :class:`~mcsf_gym.env.driver.SchedulerPolicy` plays any core scheduler (``agents``) in
    the environment, and :class:`~mcsf_gym.env.policy.PolicyScheduler` turns a policy of
    the environment (a trained model's ``policy(obs, mask) -> action``) into a core scheduler
    that runs under ``simulate``, with this class's own observation, mask and action code.

    ## Action Space

    ``action="admit"`` (``mcsf_gym/KVCacheScheduling-v0``): ``Discrete(K + 1)``. The agent
    sees a window of ``K`` waiting requests. Action ``k < K`` admits the request in slot
    ``k`` for the coming round (it becomes *pending*; the window shifts up). Action ``K``
    ("advance") closes admission: the round runs with the pending requests. An invalid
    action (an empty slot, a slot the mask forbids, or an integer outside ``0..K``) is
    harmless: it is treated as "advance" and counted in ``info["invalid_actions"]``.
    ``env.unwrapped.action_masks()`` gives ``K + 1`` booleans. A slot is allowed when it
    holds a request and, by ``masking``:

    - ``"lookahead"`` (default): MC-SF's memory check still holds with it added to the
      running and pending requests (predicted memory within ``M (1 - alpha)`` at every
      future predicted completion);
    - ``"next-round"``: the coming round fits in ``M`` with it;
    - ``"none"``: always.

    When nothing runs and nothing is pending every waiting request is allowed (each fits in
    ``M`` alone; MC-SF does the same).

    The environment is *work-conserving* by default (``allow_idle=False``): while nothing runs,
    nothing is pending and a request waits, "advance" is masked, and "advance" or an invalid
    action admits slot 0 instead (flagged invalid). An idle worker gains nothing by waiting
    and every reference agent admits then; without this rule an untrained policy that presses
    "advance" makes the worker idle one empty round per step, and off-the-shelf algorithms
    learn to do just that. With ``allow_idle=True`` "advance" is always allowed and, with
    nothing running or pending, makes the worker idle until the next arrival or for one empty
    round (deliberate waiting, e.g. to batch with requests about to arrive).

    ``action="priority"`` (``mcsf_gym/KVCacheSchedulingPriority-v0``): ``Box(-1, 1, (K,))``,
    one score per slot, one round per step, so at most ``K`` admissions per round. Slots
    scored below 0 (or NaN) are held back; the others are admitted in descending score order
    (ties by slot) while the masking rule allows the next one (the first refusal stops
    admission), then the round runs. Scores outside ``[-1, 1]`` are accepted as they are; an
    array of the wrong shape raises ``ValueError``. ``action_masks()`` gives ``K`` booleans:
    which slots the masking rule would allow as the first admission. Work-conserving
    (default): a step that would admit nothing while the worker idles admits the best-scored
    slot.

    Every ``info`` (of ``reset`` and ``step``) holds ``"action_mask"``: the same booleans as
    ``action_masks()`` for the new state. :class:`~mcsf_gym.env.wrappers.ActionMaskObservation`
    wraps the environment into a ``Dict`` observation ``{"observation", "action_mask"}``
    for libraries that read masks from the observation (RLlib, TorchRL, Tianshou).

    The window order (``order``): ``"prediction"`` (default): predicted output length
    ascending, ties by arrival, then id (MC-SF's order); ``"arrival"``: first come, first
    served (MC-Benchmark's order). Requests beyond the first ``K`` are counted but not shown.

    ## Observation Space

    ``observation="flat"`` (default): ``Box(0, 1, (8 + 6 K + 2 B,), float32)``, ``K`` =
    ``window`` (8), ``B`` = bins (8), so 72 entries by default. ``x`` below is a time in
    base rounds (rounds for ``unit``; multiples of an empty round, 44.6 ms, for ``linear``),
    ``T`` the observation's ``time_scale`` (64), ``õ`` the predicted length the look-ahead
    uses (the prediction clipped to ``M - s``; raised when a request outlives it).

    | Index           | Feature                                                  | Range  |
    |-----------------|----------------------------------------------------------|--------|
    | 0               | memory in use / M                                        | [0, 1] |
    | 1               | memory of the coming round (running + pending) / M, clip | [0, 1] |
    | 2               | predicted peak (running + pending, look-ahead) / M, clip | [0, 1] |
    | 3               | waiting, not pending ``w``: ``w / (w + K)``              | [0, 1) |
    | 4               | pending ``p``: ``p / (p + K)``                           | [0, 1) |
    | 5               | running ``r``: ``r / (r + K)``                           | [0, 1) |
    | 6               | time since the first arrival: ``x / (x + T)``            | [0, 1) |
    | 7               | latest round (or idle wait) duration ``x / (x + 1)``     | [0, 1) |
    | 8 + 6k          | slot k occupied                                          | {0, 1} |
    | 8 + 6k + 1      | slot k prompt ``log(1 + s) / log(1 + M)``                | [0, 1) |
    | 8 + 6k + 2      | slot k prediction ``log(1 + õ) / log(1 + M)``            | [0, 1) |
    | 8 + 6k + 3      | slot k time waited ``x / (x + T)``                       | [0, 1) |
    | 8 + 6k + 4      | slot k passes the look-ahead check                       | {0, 1} |
    | 8 + 6k + 5      | slot k fits the coming round                             | {0, 1} |
    | 8 + 6K + b      | running requests with ``2^b..2^(b+1)-1`` predicted       | [0, 1] |
    |                 | tokens left (last bin open), fraction of running         |        |
    | 8 + 6K + B + b  | memory those requests hold / M                           | [0, 1] |

    "Coming round" and "predicted peak" count the running and the pending requests; the
    look-ahead feature (``8 + 6k + 4``) is MC-SF's check against ``M (1 - alpha)`` whatever
    the ``masking``, the next-round feature (``8 + 6k + 5``) the check against ``M``.
    Features that can pass 1 (memory, when predictions are too short or admissions are
    unmasked) are clipped at 1. Empty slots are all zero.

    ``observation="dict"`` gives the same numbers as 1-D boxes: ``"global"`` (8,), one
    ``(K,)`` array per slot feature (``"occupied"``, ``"prompt"``, ``"prediction"``,
    ``"waited"``, ``"fits_lookahead"``, ``"fits_next_round"``), ``"running_count"`` (B,)
    and ``"running_memory"`` (B,). Parameters go in the spec:
    ``observation="flat:bins=6,time_scale=128"``. ``env.unwrapped.feature_names()`` names
    every flat index. New observation types register in
    :data:`mcsf_gym.env.observations.OBSERVATIONS`.

    ## Rewards

    Minus the latency accrued during the step, divided by ``reward_scale``: every request
    that has arrived and not finished accrues the time that passes (a round, an idle wait,
    or the part of a round after a request arrived). An admission step runs no round and
    gives 0. Over a finished episode the rewards sum to ``-TEL / reward_scale``: exactly in
    the ``unit`` time model when ``reward_scale`` is a power of 2 (1 included), up to float
    rounding otherwise. ``info["latency"]`` holds the step's latency unscaled.

    ## Starting State

    ``reset`` draws a scenario (requests, ``M``, time model) from the workload with the
    environment's generator (``reset(seed=...)``), applies ``memory`` / ``time_model`` /
    ``prediction`` overrides, and moves to the first arrival. The seed of the engine's
    eviction randomness (``random:beta=...``) is drawn from the same generator, so a seed
    fixes the whole episode given the actions. ``reset(options={"scenario": problem})``
    runs a given ``Instance`` or ``Scenario`` for one episode instead.

    ## Episode End

    The environment stops only at round boundaries where some request waits: rounds in
    which nobody waits run inside the step that led to them. The episode *terminates* when
    every request has finished, and is *truncated* after ``env.unwrapped.step_limit``
    steps. With ``max_steps="auto"`` (default) that is ``10 (n + sum(output)) + 100`` for
    an instance of ``n`` requests (set at ``reset``, from the true lengths; the agent does
    not observe it): serving the requests one at a time takes ``n + sum(output)``
    steps, and the rule agents need at most about 4 times that even with poor predictions.
    It matters for policies that keep overflowing the memory: with ``masking="none"`` or
    ``"next-round"`` and ``clear-all`` eviction, a random policy evicts everything again and
    again and would not finish for a very long time (hundreds of thousands of steps on the
    default workload); the limit cuts such episodes off after about 10,000 steps. An
    integer sets a fixed limit, ``None`` none. A truncation is never silent: the last
    ``info`` holds ``"truncation"`` (``{"step_limit", "unfinished", "time"}``), and the first
    truncation of an environment warns (``UserWarning``). The last
    ``info`` of a terminated episode holds ``"result"`` (the
    :class:`~mcsf_gym.core.result.SimulationResult`) and ``"metrics"`` (its metrics dict).
    Every ``info`` holds ``"latency"`` (accrued in the step), ``"rounds"`` (run in the
    step), ``"invalid_action"``, ``"invalid_actions"`` (so far) and ``"time"``.

    ## Arguments

    ```python
    import gymnasium as gym
    import mcsf_gym

    env = gym.make(
        "mcsf_gym/KVCacheScheduling-v0", workload="paper-model2", window=8, masking="lookahead"
    )
    ```

    | Parameter      | Default          | Description                                          |
    |----------------|------------------|------------------------------------------------------|
    | `workload`     | `"paper-model2"` | a spec for ``mcsf_gym.workloads.make_workload``, an  |
    |                |                  | object with ``sample(rng) -> Scenario``, a fixed     |
    |                |                  | ``Scenario``, or a fixed ``Instance`` (then ``M`` =  |
    |                |                  | 16492 and ``unit`` time unless overridden)           |
    | `memory`       | `None`           | ``M`` (int or preset name) overriding the scenario's |
    | `time_model`   | `None`           | ``"unit"``, ``"linear"``, ... overriding the         |
    |                |                  | scenario's                                           |
    | `prediction`   | `None`           | a prediction model spec (``"noisy:eps=0.5"``) whose  |
    |                |                  | draws replace the workload's predictions; ``None``   |
    |                |                  | keeps them                                           |
    | `eviction`     | `"clear-all"`    | ``"clear-all"``, ``"random:beta=0.2"``,              |
    |                |                  | ``"newest-first"``                                   |
    | `window`       | `8`              | ``K``, the number of waiting requests shown          |
    | `order`        | `"prediction"`   | window order: ``"prediction"`` or ``"arrival"``      |
    | `masking`      | `"lookahead"`    | ``"lookahead"``, ``"next-round"`` or ``"none"``      |
    | `alpha`        | `0.0`            | memory protection of the look-ahead check, [0, 1)    |
    | `action`       | `"admit"`        | ``"admit"`` or ``"priority"`` (set by the id)        |
    | `observation`  | `"flat"`         | ``"flat"`` or ``"dict"`` (optionally with parameters |
    |                |                  | ``bins`` and ``time_scale``)                         |
    | `max_steps`    | `"auto"`         | truncate after this many steps: ``"auto"`` (see      |
    |                |                  | Episode End), an integer, or ``None`` (never)        |
    | `reward_scale` | `1.0`            | rewards are ``-latency / reward_scale``              |
    | `render_mode`  | `None`           | ``"ansi"`` (text) or ``"rgb_array"`` (a chart of     |
    |                |                  | memory use and queue length over time, with axes and |
    |                |                  | labels when matplotlib is installed)                 |
    | `allow_idle`   | `False`          | let "advance" idle the worker while requests wait    |
    |                |                  | (see Action Space); default: work-conserving         |
    | `backend`      | `"auto"`         | ``"auto"`` (compiled where it applies),              |
    |                |                  | ``"compiled"`` (numba kernel, 3-4x faster, same      |
    |                |                  | numbers) or ``"python"`` (see Backends)              |

    A bad value raises ``ValueError`` naming the parameter and the value; an unknown keyword
    (``windw=4``) raises ``ValueError`` listing the known ones, with a "did you mean".
    ``window`` is at most :data:`~mcsf_gym.env.config.MAX_WINDOW` (1024).

    ## Backends

    ``backend="auto"`` (default) runs the compiled backend where it applies, else the Python
    one. ``backend="python"`` steps the Python objects: the core
    :class:`~mcsf_gym.core.engine.Engine`, a :class:`~mcsf_gym.env.boundary.Boundary` and
    the encoder, which :attr:`engine` and :attr:`boundary` expose (schedulers, rendering and
    the policy bridge read them). ``backend="compiled"`` keeps the state in arrays and steps
    it with a numba kernel (:mod:`mcsf_gym.env.native`) that gives the same observations,
    rewards, masks and results, bit for bit (``tests/test_env_native.py`` checks them side
    by side), several times faster. It needs numba (the ``fast`` extra) and supports every
    setting except ``random`` eviction and custom time models (``"compiled"`` raises a
    ``ValueError`` that says which; ``"auto"`` then runs the Python backend). Whatever needs
    the Python objects (reading :attr:`engine` or :attr:`boundary`, a
    :class:`~mcsf_gym.env.driver.SchedulerPolicy`, :meth:`render`) moves the environment to
    the Python backend for good: the episode so far is replayed there from its scenario and
    its actions, and goes on from the same state (with ``backend="compiled"`` a warning says
    so). The first use in a fresh install compiles the kernel (about 15 s, cached on disk);
    later processes load it in about a second. Under either backend an environment can be
    copied (``copy.deepcopy``) or pickled mid-episode; the copy goes on as the original would.

    ## Vector Environment

    ``gymnasium.make_vec(env_id, num_envs=8, vectorization_mode="vector_entry_point",
    **kwargs)`` (or ``make_vec`` without a mode) builds
    :class:`~mcsf_gym.env.vector.KVCacheSchedulingVectorEnv`: ``num_envs`` instances of this
    class stepped in one call, with batched observations, rewards and vector-format ``infos``
    (``"action_mask"`` of shape ``(num_envs, n)``), ``action_masks()`` for all instances and
    NEXT_STEP autoreset (as ``SyncVectorEnv``). Each instance's trajectory is exactly that of
    a single environment with the same seed. Its ``backend`` defaults to ``"auto"``: one
    kernel call steps every instance. ``vectorization_mode="sync"`` still gives
    Gymnasium's ``SyncVectorEnv``; SB3 users use SB3's ``make_vec_env`` on the single id.

    ## Version History

    * v0: initial version (``Box`` observations of ``8 + 6 K + 2 B`` features, admit and
      priority modes, look-ahead masks); work-conserving by default (``allow_idle``),
      ``info["action_mask"]`` and ``info["truncation"]``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(
        self,
        workload: Any = DEFAULT_WORKLOAD,
        *,
        memory: int | str | None = None,
        time_model: str | TimeModel | None = None,
        prediction: str | Predictor | None = None,
        eviction: str | EvictionPolicy = "clear-all",
        window: int = 8,
        order: str = "prediction",
        masking: str = "lookahead",
        alpha: float = 0.0,
        action: str = "admit",
        observation: str = "flat",
        max_steps: int | str | None = "auto",
        reward_scale: float = 1.0,
        render_mode: str | None = None,
        allow_idle: bool = False,
        backend: str = "auto",
        **unknown: Any,
    ) -> None:
        check_keywords(unknown, ENV_KEYWORDS, "environment keyword")
        self.config = EnvConfig(
            workload=workload,
            memory=memory,
            time_model=time_model,
            prediction=prediction,
            eviction=eviction,
            window=window,
            order=order,
            masking=masking,
            alpha=alpha,
            action=action,
            observation=observation,
            max_steps=max_steps,
            reward_scale=reward_scale,
            render_mode=render_mode,
            allow_idle=allow_idle,
            backend=backend,
        )
        config = self.config
        self.render_mode = render_mode
        self.source = ScenarioSource(
            resolve_workload(workload),
            memory=config.memory,  # type: ignore[arg-type]
            time_model=time_model,
            prediction=prediction,
        )
        self.action_type: ActionType = config.make_action_type()
        self.observation_type: ObservationType = config.make_observation_type()
        self.action_space = self.action_type.space()
        self.observation_space = self.observation_type.space()
        self._engine: Engine | None = None
        self._boundary: Boundary | None = None
        self._history: list[Snapshot] | None = None
        self._steps = 0
        self._invalid = 0
        self._warned_truncation = False
        self._mask: NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)
        self._mask_key: tuple[Boundary | None, int] = (None, -1)
        #: The step count at which the current episode is truncated (``None``: never).
        self.step_limit: int | None = None
        #: The compiled backend's state (``None`` under the Python backend).
        self.native: NativeBatch | None = (
            NativeBatch(config, 1) if resolve_backend(config, backend, replays=True) else None
        )
        #: This environment's row in :attr:`native`.
        self.native_slot = 0
        self._native_running = False
        # Under its own compiled state: the episode's settings and actions, replayed on the
        # Python backend when something asks for the engine (None in a vector env's batch).
        self._episode: tuple[Instance, SimConfig] | None = None
        self._actions: list[Any] | None = [] if self.native is not None else None

    # ----------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start an episode on a freshly drawn scenario (or ``options["scenario"]``).

        Raises:
            ValueError: for unknown option keys, or a scenario that does not fit the settings.
        """
        super().reset(seed=seed)
        options = options or {}
        unknown = set(options) - {"scenario"}
        if unknown:
            raise ValueError(f"unknown reset option(s) {sorted(unknown)}; known: ['scenario']")
        rng = self.np_random
        instance, memory, time_model = self.source.sample(rng, options.get("scenario"))
        config = SimConfig(
            memory=memory,
            time_model=time_model,
            eviction=self.config.eviction,
            seed=int(rng.integers(2**31)),
        )
        if self.native is not None:
            return self._reset_native(instance, config)
        self._start_python(instance, config)
        self.step_limit = self.config.step_limit(instance)
        info = {
            "latency": 0.0,
            "rounds": 0,
            "invalid_action": False,
            "invalid_actions": 0,
            "time": self._boundary.view.time,
            "action_mask": self.action_masks(),
        }
        return self.observation_type.observe(self._boundary), info

    def _start_python(self, instance: Instance, config: SimConfig) -> None:
        """Start an episode of ``instance`` on the Python backend: engine, boundary, counts."""
        self._engine = Engine(instance, config)
        self._history = [snapshot(self._engine.view)] if self.render_mode == "rgb_array" else None
        self._boundary = self.config.make_boundary(self._engine.view)
        self._steps = 0
        self._invalid = 0

    def _reset_native(self, instance: Instance, config: SimConfig) -> tuple[Any, dict[str, Any]]:
        """:meth:`reset` under the compiled backend, from the drawn scenario."""
        native: NativeBatch = self.native  # type: ignore[assignment]
        slot = self.native_slot
        self._native_running = False
        self.step_limit = self.config.step_limit(instance)
        native.load(slot, instance, config.capacity, config.resolved_time_model, self.step_limit)
        self._native_running = True
        if self._actions is not None:
            self._episode = (instance, config)
            self._actions = []
        info = {
            "latency": 0.0,
            "rounds": 0,
            "invalid_action": False,
            "invalid_actions": 0,
            "time": native.time(slot),
            "action_mask": native.masks[slot].copy(),
        }
        return self.native_observation(), info

    def use_batch(self, native: NativeBatch, slot: int) -> None:
        """Keep this environment's compiled state in row ``slot`` of a shared ``native`` batch.

        The vector environment's instances share one batch, so that one kernel call steps
        them all; the vector environment then sets their actions and steps the batch itself
        (this environment resets its row and reports its episode's end). Call it before
        ``reset``.
        """
        self.native = native
        self.native_slot = slot
        self._native_running = False
        self._actions = None  # the batch is the vector environment's: no replay

    def native_observation(self) -> Any:
        """The current observation under the compiled backend (a fresh array or dict)."""
        native: NativeBatch = self.native  # type: ignore[assignment]
        return self.observation_type.from_flat(native.observations[self.native_slot].copy())

    def _transition_native(self, action: Any) -> tuple[float, int, bool]:
        """:meth:`transition` under the compiled backend."""
        native: NativeBatch = self.native  # type: ignore[assignment]
        if not self._native_running:
            raise RuntimeError("call reset() before step(): no episode is running")
        slot = self.native_slot
        native.set_action(slot, action)
        active = native.active
        active[slot] = True
        native.step()
        active[slot] = False
        self._native_running = not native.terminated[slot]
        if self._actions is not None:
            self._actions.append(action.copy() if hasattr(action, "copy") else action)
        return native.latency.item(slot), native.rounds.item(slot), native.invalid.item(slot)

    def _step_native(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """:meth:`step` under the compiled backend."""
        latency, rounds, invalid = self._transition_native(action)
        native: NativeBatch = self.native  # type: ignore[assignment]
        slot = self.native_slot
        terminated = native.terminated.item(slot)
        truncated = native.truncated.item(slot)
        info: dict[str, Any] = {
            "latency": latency,
            "rounds": rounds,
            "invalid_action": invalid,
            "invalid_actions": native.invalid_total.item(slot),
            "time": native.times.item(slot),
            "action_mask": native.masks[slot].copy(),
        }
        if terminated or truncated:
            info.update(self.final_info(terminated))
        reward = -latency / self.config.reward_scale
        return self.native_observation(), reward, terminated, truncated, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Apply ``action`` (see the class docstring).

        Raises:
            RuntimeError: if called before ``reset`` or after the episode terminated.
            ValueError: for an action of the wrong kind (a non-integer, a wrong shape).
        """
        if self.native is not None:
            return self._step_native(action)
        latency, rounds, invalid = self.transition(action)
        boundary: Boundary = self._boundary  # type: ignore[assignment]
        terminated = self._engine.done  # type: ignore[union-attr]
        truncated = self.truncated(terminated)
        info: dict[str, Any] = {
            "latency": latency,
            "rounds": rounds,
            "invalid_action": invalid,
            "invalid_actions": self._invalid,
            "time": boundary.view.time,
            "action_mask": self.action_masks(),
        }
        if terminated or truncated:
            info.update(self.final_info(terminated))
        reward = -latency / self.config.reward_scale
        return self.observation_type.observe(boundary), reward, terminated, truncated, info

    def transition(self, action: Any) -> tuple[float, int, bool]:
        """The state change of :meth:`step`, without the observation and the ``info``.

        Returns:
            The latency accrued (unscaled), the number of rounds run and whether the action
            was invalid. The new state is in :attr:`boundary`.

        Raises:
            RuntimeError: if called before ``reset`` or after the episode terminated.
            ValueError: for an action of the wrong kind (a non-integer, a wrong shape).
        """
        if self.native is not None:
            return self._transition_native(action)
        boundary = self._boundary
        engine = self._engine
        if boundary is None or engine is None or engine.done:
            raise RuntimeError("call reset() before step(): no episode is running")
        decision = self.action_type.apply(action, boundary)
        latency, rounds = 0.0, 0
        if decision.advance:
            latency, rounds = run_to_decision(engine, boundary.pending, self._history)
            boundary.open()
        self._steps += 1
        self._invalid += decision.invalid
        return latency, rounds, decision.invalid

    def truncated(self, terminated: bool) -> bool:
        """Whether the episode is cut off now (not ``terminated`` and at the step limit)."""
        limit = self.step_limit
        return not terminated and limit is not None and self._steps >= limit

    def final_info(self, terminated: bool) -> dict[str, Any]:
        """The ``info`` entries of an episode's last step.

        ``result`` and ``metrics`` if it ``terminated``, else ``truncation`` (warning on the
        environment's first truncation).
        """
        if terminated:
            if self.native is None:
                result = self._engine.result()  # type: ignore[union-attr]
            else:
                result = self.native.result(self.native_slot)
            return {"result": result, "metrics": result.metrics}
        return {"truncation": self._truncation(self.step_limit)}  # type: ignore[arg-type]

    def _truncation(self, limit: int) -> dict[str, Any]:
        """The ``info["truncation"]`` entry, warning on the environment's first truncation."""
        native = self.native
        if native is None:
            view = self._engine.view  # type: ignore[union-attr]
            total, now = view.prompt.size, view.time
            unfinished = int(total - view.n_finished)
        else:
            slot = self.native_slot
            total = native.instances[slot].n  # type: ignore[union-attr]
            unfinished, now = native.unfinished(slot), native.time(slot)
        entry = {"step_limit": limit, "unfinished": unfinished, "time": now}
        if not self._warned_truncation:
            self._warned_truncation = True
            warnings.warn(
                f"episode truncated after {limit} steps with {entry['unfinished']} of "
                f"{total} requests unfinished (no metrics); a policy that keeps "
                "idling or evicting does not finish: see max_steps and allow_idle "
                "(warned once per environment; info['truncation'] marks every truncation)",
                stacklevel=4,
            )
        return entry

    def render(self) -> str | NDArray[np.uint8] | None:
        """Text (``"ansi"``) or an RGB chart (``"rgb_array"``) of the current state.

        Under the compiled backend it first moves the environment to the Python backend
        (:attr:`engine`), which renders.

        Raises:
            ValueError: in a vector environment's compiled batch (it does not render).
        """
        if self.render_mode is None:
            return None
        if self.native is not None and self._actions is None:
            raise ValueError(
                "the compiled vector environment does not render: make it with "
                "backend='python' to render it"
            )
        boundary = self.boundary
        if boundary is None:
            return None
        if self.render_mode == "ansi":
            return render_ansi(boundary)
        model = self._engine.config.resolved_time_model  # type: ignore[union-attr]
        unit = "rounds" if model.name == "unit" else "s"
        return render_rgb(self._history or [], boundary.memory, unit)

    @property
    def engine(self) -> Engine | None:
        """The episode's core :class:`~mcsf_gym.core.engine.Engine` (``None`` before ``reset``).

        Under the compiled backend, reading it moves the environment to the Python backend
        for good: the episode so far is replayed there from its scenario and its actions
        (the two backends agree bit for bit), and it goes on from the same state. A member of
        a compiled vector environment has none.
        """
        if self.native is not None and self._actions is not None:
            self._leave_native()
        return self._engine

    @property
    def boundary(self) -> Boundary | None:
        """The current round boundary's :class:`~mcsf_gym.env.boundary.Boundary`.

        ``None`` before ``reset``; under the compiled backend, as :attr:`engine`.
        """
        if self.native is not None and self._actions is not None:
            self._leave_native()
        return self._boundary

    def _leave_native(self) -> None:
        """Move to the Python backend, replaying the episode's actions there."""
        native: NativeBatch = self.native  # type: ignore[assignment]
        slot, actions, episode = self.native_slot, self._actions or [], self._episode
        self.native = None
        self._actions = None
        if self.config.backend == "compiled":
            warnings.warn(
                "reading the engine or rendering moved this environment from "
                "backend='compiled' to the Python backend (the episode so far was replayed)",
                stacklevel=3,
            )
        if episode is None:  # no episode yet: reset() will start one on the Python backend
            return
        self._start_python(*episode)
        for action in actions:
            if self._engine.done:
                break
            self.transition(action)
        replayed = (self._engine.done, self._boundary.view.time, self._invalid)
        compiled = (not self._native_running, native.time(slot), native.invalid_actions(slot))
        if replayed != compiled or not np.array_equal(
            self.shared_action_masks(), native.masks[slot]
        ):
            raise RuntimeError(
                f"internal error: the Python backend's replay {replayed} differs from the "
                f"compiled state {compiled}; please report it with the environment's settings"
            )

    # ----------------------------------------------------------------- extras
    def action_masks(self) -> NDArray[np.bool_]:
        """Which actions are allowed now (``K + 1`` in admit mode, ``K`` in priority mode).

        Raises:
            RuntimeError: if called before ``reset``.
        """
        if self.native is not None:
            if self.native.instances[self.native_slot] is None:
                raise RuntimeError("call reset() before action_masks()")
            return self.native.masks[self.native_slot].copy()
        return self.shared_action_masks().copy()

    def shared_action_masks(self) -> NDArray[np.bool_]:
        """:meth:`action_masks` without the copy: the environment's own array, read only.

        The mask of a state is computed once (``step`` puts it in ``info``, agents ask again,
        the vector environment batches it).

        Raises:
            RuntimeError: if called before ``reset``.
        """
        if self.native is not None:
            mask = self.action_masks()
            mask.flags.writeable = False
            return mask
        boundary = self._boundary
        if boundary is None:
            raise RuntimeError("call reset() before action_masks()")
        if self._mask_key != (boundary, boundary.version):
            self._mask = self.action_type.masks(boundary)
            self._mask.flags.writeable = False
            self._mask_key = (boundary, boundary.version)
        return self._mask

    @property
    def invalid_actions(self) -> int:
        """Invalid actions so far in the episode (``info["invalid_actions"]``)."""
        if self.native is not None:
            return self.native.invalid_actions(self.native_slot)
        return self._invalid

    def feature_names(self) -> list[str]:
        """The name of every entry of the flat observation vector."""
        return self.observation_type.encoder.names()
