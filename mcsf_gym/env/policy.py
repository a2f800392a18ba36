"""A policy of the environment acting as a core scheduler, so it runs under ``simulate``.

The bridge for trained models (``agents.learned``)::

    from mcsf_gym.env.policy import PolicyScheduler

    scheduler = PolicyScheduler(policy_fn, env_kwargs, env_id="mcsf_gym/KVCacheScheduling-v0")
    scheduler.check_spaces(model.observation_space, model.action_space)  # ValueError if not
    result = simulate(instance, scheduler, memory=M, time_model="linear")

- ``env_kwargs``: the keyword arguments given to ``gym.make`` when the policy was trained
  (``window``, ``order``, ``masking``, ``alpha``, ``action``, ``observation``, and any of
  ``workload``, ``memory``, ``time_model``, ``prediction``, ``eviction``, ``max_steps``,
  ``reward_scale``, ``render_mode``, ``allow_idle``). All are validated like ``gym.make``
  does; the first six and ``allow_idle`` shape the observations and actions. The others
  describe the training episodes and are ignored here (``simulate``'s arguments set the
  instance, memory and time model), except ``eviction``, which becomes
  :attr:`PolicyScheduler.default_eviction` (what ``agents.run_agent`` uses unless told
  otherwise). ``env_id`` (optional) adds the keyword
  arguments the id fixes (``action="priority"`` for ``mcsf_gym/KVCacheSchedulingPriority-v0``);
  ``env_kwargs`` wins where both set one, as in ``gym.make``.
- ``policy_fn(observation, action_mask) -> action``: ``observation`` is exactly what the
  environment would return at this state (a ``float32`` array for ``observation="flat"``, a
  dict of arrays for ``"dict"``), ``action_mask`` exactly ``env.unwrapped.action_masks()``
  (``K + 1`` booleans in admit mode, ``K`` in priority mode). It returns an ``int`` (admit
  mode: a slot ``k < K`` or ``K`` for "advance"; a 0-d integer array is fine) or an
  ``np.ndarray`` of ``K`` scores (priority mode). A model trained under ``VecNormalize`` needs
  its observation normalised inside ``policy_fn``. If ``policy_fn`` has a ``reset(rng)``
  method, :meth:`PolicyScheduler.reset` calls it (with ``simulate``'s generator) before each
  episode.

At every boundary where a request waits, ``schedule(view)`` opens the environment's own
:class:`~mcsf_gym.env.boundary.Boundary` on the view, asks ``policy_fn`` and applies each action
with the environment's own action type: in admit mode, repeatedly, until an action closes
admission ("advance", or an invalid action, which the environment also treats as "advance");
in priority mode once. The chosen requests are returned in the order chosen. Observations,
masks and action semantics are the environment's code, not a copy, so a deterministic policy
makes the same admissions here as in ``gym.make(env_id, **env_kwargs)`` on the same
scenario, and ``simulate`` gives the episode's result (see ``tests/test_env_policy.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from mcsf_gym.core.view import StateView
from mcsf_gym.env.boundary import Boundary
from mcsf_gym.env.config import EnvConfig
from mcsf_gym.env.observations import SLOT_FEATURES
from mcsf_gym.env.registration import ENV_IDS

#: ``policy_fn(observation, action_mask) -> action`` (see the module docstring).
PolicyFn = Callable[[Any, np.ndarray], Any]


def env_config(env_kwargs: Mapping[str, Any] | None = None, env_id: str | None = None) -> EnvConfig:
    """The validated settings ``gym.make(env_id, **env_kwargs)`` would build the environment with.

    Raises:
        ValueError: for an unknown ``env_id``, an unknown keyword or a bad value.
    """
    kwargs: dict[str, Any] = {}
    if env_id is not None:
        if env_id not in ENV_IDS:
            raise ValueError(f"env_id must be one of {sorted(ENV_IDS)}, got {env_id!r}")
        kwargs.update(ENV_IDS[env_id])
    kwargs.update(env_kwargs or {})
    return EnvConfig.from_kwargs(kwargs)


def _shape_hint(expected: tuple[int, ...], config: EnvConfig) -> str:
    """The settings (one changed at a time) that would give a flat observation ``expected``."""
    encoder = config.make_observation_type().encoder
    slots = len(SLOT_FEATURES)
    guesses = []
    if len(expected) == 1:
        rest = expected[0] - encoder.n_global - 2 * encoder.bins
        if rest > 0 and rest % slots == 0:
            guesses.append(f"window={rest // slots}")
        rest = expected[0] - encoder.n_global - slots * config.window
        if rest > 0 and rest % 2 == 0:
            guesses.append(f"observation bins={rest // 2}")
    if guesses:
        return f"was it trained with {' or '.join(guesses)}?"
    return f"check window and observation bins (these settings give {encoder.size} features)"


def check_observation_space(
    model_space: spaces.Space, config: EnvConfig, env_space: spaces.Space
) -> None:
    """Check that a model's observation space is the one the environment settings produce.

    Args:
        model_space: the space the model was trained on (``model.observation_space``).
        config: the environment settings (:func:`env_config`).
        env_space: the space those settings produce.

    Raises:
        ValueError: one line naming both shapes and the likely setting that differs.
    """
    if isinstance(env_space, spaces.Dict):
        if not isinstance(model_space, spaces.Dict):
            raise ValueError(
                f"model expects a {type(model_space).__name__} observation, the environment "
                "gives a Dict: was it trained with observation='flat'?"
            )
        got = {key: space.shape for key, space in model_space.spaces.items()}
        want = {key: space.shape for key, space in env_space.spaces.items()}
        if got != want:
            window = got.get("occupied", (None,))[0]
            hint = (
                f"was it trained with window={window}?"
                if window is not None and window != config.window
                else "check window and observation bins"
            )
            raise ValueError(
                f"model expects observation shapes {got}, the environment gives {want}: {hint}"
            )
        return
    if isinstance(model_space, spaces.Dict):
        raise ValueError(
            f"model expects a Dict observation, the environment gives {env_space}: was it "
            "trained with observation='dict'?"
        )
    if model_space.shape != env_space.shape:
        hint = _shape_hint(tuple(model_space.shape or ()), config)
        raise ValueError(
            f"model expects observation shape {model_space.shape}, the environment gives "
            f"{env_space.shape}: {hint}"
        )


def check_action_space(model_space: spaces.Space, env_space: spaces.Space) -> None:
    """Check that a model's action space is the environment's.

    Raises:
        ValueError: one line naming both spaces and the likely setting that differs.
    """
    if isinstance(env_space, spaces.Discrete):
        if not isinstance(model_space, spaces.Discrete):
            raise ValueError(
                f"model acts in {model_space}, the environment expects {env_space}: was it "
                "trained with action='priority'?"
            )
        if model_space.n != env_space.n:
            raise ValueError(
                f"model acts in {model_space}, the environment expects {env_space}: was it "
                f"trained with window={int(model_space.n) - 1}?"
            )
        return
    if isinstance(model_space, spaces.Discrete):
        raise ValueError(
            f"model acts in {model_space}, the environment expects {env_space}: was it "
            "trained with action='admit'?"
        )
    if model_space.shape != env_space.shape:
        window = model_space.shape[0] if model_space.shape else None
        raise ValueError(
            f"model acts in {model_space}, the environment expects {env_space}: was it "
            f"trained with window={window}?"
        )


class PolicyScheduler:
    """A policy of :class:`~mcsf_gym.env.kv_cache_env.KVCacheSchedulingEnv` as a scheduler.

    Implements the core scheduler protocol (``reset(rng)``, ``schedule(view)``), so it runs
    under ``simulate`` and ``agents.run_agent``. See the module docstring for the interface.

    Args:
        policy: ``policy(observation, action_mask) -> action``.
        env_kwargs: the keyword arguments of ``gym.make`` the policy was trained with.
        env_id: the registered id it was trained on (adds the arguments the id fixes).

    Raises:
        ValueError: for an unknown id, keyword or bad value (as ``gym.make`` would).

    Example:
        >>> from mcsf_gym import Instance, simulate
        >>> def first_fitting(observation, mask):  # MC-SF in admit mode
        ...     return 0 if mask[0] else len(mask) - 1
        >>> scheduler = PolicyScheduler(first_fitting, {"window": 4})
        >>> inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
        >>> simulate(inst, scheduler, memory=7).total_latency
        6.0
    """

    def __init__(
        self,
        policy: PolicyFn,
        env_kwargs: Mapping[str, Any] | None = None,
        *,
        env_id: str | None = None,
    ) -> None:
        if not callable(policy):
            raise ValueError(f"policy must be callable as policy(obs, mask), got {policy!r}")
        self.policy = policy
        self.config = env_config(env_kwargs, env_id)
        self.action_type = self.config.make_action_type()
        self.observation_type = self.config.make_observation_type()
        #: The environment's observation space under these settings.
        self.observation_space = self.observation_type.space()
        #: The environment's action space under these settings.
        self.action_space = self.action_type.space()
        eviction = self.config.eviction
        #: The eviction policy of the training environment (used by ``agents.run_agent``).
        self.default_eviction = eviction if isinstance(eviction, str) else "clear-all"
        #: Policy calls in the current episode.
        self.steps = 0
        #: Actions in the current episode that the environment would flag invalid.
        self.invalid_actions = 0
        self._boundary: Boundary | None = None

    def check_spaces(
        self, observation_space: spaces.Space, action_space: spaces.Space | None = None
    ) -> None:
        """Check that a model's spaces are those of these environment settings.

        Args:
            observation_space: the model's observation space.
            action_space: the model's action space, if it should be checked too.

        Raises:
            ValueError: one line naming what differs (e.g. "model expects observation shape
                (56,), the environment gives (62,): was it trained with window=7?").
        """
        check_observation_space(observation_space, self.config, self.observation_space)
        if action_space is not None:
            check_action_space(action_space, self.action_space)

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode (and call ``policy.reset(rng)`` if the policy has one)."""
        self._boundary = None
        self.steps = 0
        self.invalid_actions = 0
        reset = getattr(self.policy, "reset", None)
        if callable(reset):
            reset(rng)

    def schedule(self, view: StateView) -> list[int]:
        """Ask the policy, action by action, which waiting requests to admit now.

        Raises:
            ValueError: for an action of the wrong kind (as ``env.step`` would).
        """
        boundary = self._boundary
        if boundary is None or boundary.view is not view:
            boundary = self._boundary = self.config.make_boundary(view)
        else:
            boundary.open()
        observe = self.observation_type.observe
        masks = self.action_type.masks
        apply = self.action_type.apply
        while True:
            decision = apply(self.policy(observe(boundary), masks(boundary)), boundary)
            self.steps += 1
            self.invalid_actions += decision.invalid
            if decision.advance:
                return list(boundary.pending)

    def __repr__(self) -> str:
        return f"PolicyScheduler({self.policy!r}, action={self.config.action!r})"
