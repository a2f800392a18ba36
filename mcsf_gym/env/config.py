"""The environment's settings as one validated, frozen dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mcsf_gym.core.config import resolve_memory
from mcsf_gym.core.eviction import EvictionPolicy, make_eviction
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.predictions import Predictor, make_predictor
from mcsf_gym.core.time_models import TimeModel, make_time_model
from mcsf_gym.core.view import StateView
from mcsf_gym.env.actions import ACTIONS, ActionType
from mcsf_gym.env.boundary import Boundary
from mcsf_gym.env.observations import OBSERVATIONS, ObservationType

#: The workload drawn from when none is given: the paper's synthetic arrival model 2 (online
#: stochastic arrivals, ``M`` in [30, 50], about 50 requests, unit time). Small and fast.
DEFAULT_WORKLOAD = "paper-model2"

#: Orders of the waiting requests in the observation window.
ORDERS = ("prediction", "arrival")

#: Which admissions the action mask allows.
MASKINGS = ("lookahead", "next-round", "none")

RENDER_MODES = ("ansi", "rgb_array")

#: ``max_steps="auto"`` truncates after ``AUTO_STEPS_FACTOR * (n + sum(output)) +
#: AUTO_STEPS_MIN`` steps. ``n + sum(output)`` is what serving the requests one at a time takes
#: (one admission per request, one round per output token); evictions add rounds, and the rule
#: agents (MC-SF, MC-Benchmark, alpha-greedy) need up to about 4 times that on the built-in
#: workloads with ``noisy:eps=0.8`` predictions, so 10 leaves room for any sensible policy
#: while a policy that keeps evicting everything is cut off within seconds.
AUTO_STEPS_FACTOR = 10
AUTO_STEPS_MIN = 100


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _choice(name: str, value: Any, choices: tuple[str | None, ...]) -> None:
    if value not in choices:
        known = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {known}, got {value!r}")


@dataclass(frozen=True)
class EnvConfig:
    """Everything :class:`~mcsf_gym.env.kv_cache_env.KVCacheSchedulingEnv` is built from.

    See the environment's docstring for the meaning of each field. Validation happens here:
    a bad value raises ``ValueError`` naming the field and the value. ``workload``, ``action``
    and ``observation`` are resolved by the environment (their registries list known names).
    """

    workload: Any = DEFAULT_WORKLOAD
    memory: int | str | None = None
    time_model: str | TimeModel | None = None
    prediction: str | Predictor | None = None
    eviction: str | EvictionPolicy = "clear-all"
    window: int = 8
    order: str = "prediction"
    masking: str = "lookahead"
    alpha: float = 0.0
    action: str = "admit"
    observation: str = "flat"
    max_steps: int | str | None = "auto"
    reward_scale: float = 1.0
    render_mode: str | None = None

    def __post_init__(self) -> None:
        if self.workload is None:
            raise ValueError("workload must be a spec, a Workload, a Scenario or an Instance")
        if self.memory is not None:
            object.__setattr__(self, "memory", resolve_memory(self.memory))
        if self.time_model is not None:
            make_time_model(self.time_model)
        if self.prediction is not None:
            make_predictor(self.prediction)
        make_eviction(self.eviction)
        object.__setattr__(self, "window", _positive_int("window", self.window))
        _choice("order", self.order, ORDERS)
        _choice("masking", self.masking, MASKINGS)
        alpha = self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
            raise ValueError(f"alpha must be a number in [0, 1), got {alpha!r}")
        object.__setattr__(self, "alpha", float(alpha))
        for name in ("action", "observation"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty spec string, got {value!r}")
        if self.max_steps is not None and self.max_steps != "auto":
            try:
                object.__setattr__(self, "max_steps", _positive_int("max_steps", self.max_steps))
            except ValueError:
                raise ValueError(
                    f"max_steps must be a positive integer, 'auto' or None, got {self.max_steps!r}"
                ) from None
        scale = self.reward_scale
        if (
            isinstance(scale, bool)
            or not isinstance(scale, (int, float))
            or not math.isfinite(scale)
            or scale <= 0
        ):
            raise ValueError(f"reward_scale must be a finite number > 0, got {scale!r}")
        object.__setattr__(self, "reward_scale", float(scale))
        _choice("render_mode", self.render_mode, (None, *RENDER_MODES))

    def step_limit(self, instance: Instance) -> int | None:
        """The step after which an episode on ``instance`` is truncated (``None``: never)."""
        if self.max_steps == "auto":
            total = instance.n + int(instance.output.sum())
            return AUTO_STEPS_FACTOR * total + AUTO_STEPS_MIN
        return self.max_steps  # type: ignore[return-value]

    def make_action_type(self) -> ActionType:
        """The action type named by ``action``.

        Raises:
            ValueError: for an unknown name or parameter (the error lists the known names).
        """
        return ACTIONS.make(self.action, window=self.window)

    def make_observation_type(self) -> ObservationType:
        """The observation type named by ``observation``.

        Raises:
            ValueError: for an unknown name or a bad parameter.
        """
        return OBSERVATIONS.make(self.observation, window=self.window)

    def make_boundary(self, view: StateView) -> Boundary:
        """A :class:`Boundary` with these window, order, masking and alpha, opened on ``view``."""
        return Boundary(view, self.window, self.order, self.masking, self.alpha)
