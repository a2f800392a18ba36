"""The environment's settings as one validated, frozen dataclass."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from mcsf_gym.core.checks import check_integer
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

#: Which implementation steps the environment (see ``mcsf_gym.env.native``): the Python
#: objects (engine, boundary, encoder), the compiled kernel, or the kernel where it supports
#: the settings.
BACKENDS = ("python", "compiled", "auto")

#: ``max_steps="auto"`` truncates after ``AUTO_STEPS_FACTOR * (n + sum(output)) +
#: AUTO_STEPS_MIN`` steps. ``n + sum(output)`` is what serving the requests one at a time takes
#: (one admission per request, one round per output token); evictions add rounds, and the rule
#: agents (MC-SF, MC-Benchmark, alpha-greedy) need up to about 4 times that on the built-in
#: workloads with ``noisy:eps=0.8`` predictions, so 10 leaves room for any sensible policy
#: while a policy that keeps evicting everything is cut off within seconds.
AUTO_STEPS_FACTOR = 10
AUTO_STEPS_MIN = 100

#: The largest ``window``: an observation holds ``6 window`` slot features, and a window far
#: beyond the queue lengths of the built-in workloads only makes resets slow (``window=10**7``
#: would take minutes per reset). 1024 slots are 6,168 features by default.
MAX_WINDOW = 1024


def _positive_int(name: str, value: Any) -> int:
    return check_integer(name, value, low=1)


def check_keywords(given: Iterable[str], known: Iterable[str], what: str) -> None:
    """Refuse keywords that are not in ``known``, with a "did you mean" for each.

    Args:
        given: the keywords passed.
        known: the keywords accepted.
        what: what takes them, for the message (e.g. ``"environment keyword"``).

    Raises:
        ValueError: one line naming each unknown keyword, the closest known one, and the
            known keywords.
    """
    known = sorted(known)
    unknown = sorted(set(given) - set(known))
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ValueError(f"unknown {what}(s) {', '.join(parts)}; known: {', '.join(known)}")


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
    allow_idle: bool = False
    backend: str = "auto"

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> EnvConfig:
        """Build from ``gym.make`` keyword arguments, refusing unknown ones (with a suggestion).

        Raises:
            ValueError: for an unknown keyword (e.g. ``windw``: "did you mean 'window'?") or a
                bad value.
        """
        check_keywords(kwargs, ENV_KEYWORDS, "environment keyword")
        return cls(**kwargs)

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
        if self.window > MAX_WINDOW:
            raise ValueError(f"window must be at most {MAX_WINDOW}, got {self.window!r}")
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
        if not isinstance(self.allow_idle, (bool, np.bool_)):
            raise ValueError(f"allow_idle must be True or False, got {self.allow_idle!r}")
        object.__setattr__(self, "allow_idle", bool(self.allow_idle))
        _choice("backend", self.backend, BACKENDS)

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
        """A :class:`Boundary` with these settings (window, order, masking, alpha, idling)."""
        return Boundary(
            view, self.window, self.order, self.masking, self.alpha, allow_idle=self.allow_idle
        )


#: The keyword arguments of the environment (``gym.make(env_id, **kwargs)``).
ENV_KEYWORDS: tuple[str, ...] = tuple(field.name for field in fields(EnvConfig))
