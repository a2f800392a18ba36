"""Shared pieces of the reference agents: the base class and the plain memory-budget walk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.eviction import make_eviction
from mcsf_gym.core.view import StateView


class NotApplicableError(ValueError):
    """An agent's rule does not apply to this instance (an interval rule without intervals).

    A ``ValueError``, so bad input stays a ``ValueError``; benchmark code can catch this
    subclass to mark a task "not applicable" for an agent instead of failing.
    """


def check_eviction(owner: str, eviction: str) -> str:
    """``eviction`` as a valid eviction spec, or a ``ValueError`` naming ``owner`` and the value.

    Any spec :func:`mcsf_gym.core.eviction.make_eviction` accepts (``"clear-all"``,
    ``"newest-first"``, ``"random:beta=0.2"``); the spec string is kept, the engine builds the
    policy.
    """
    if not isinstance(eviction, str):
        raise ValueError(f"{owner} eviction must be an eviction policy name, got {eviction!r}")
    try:
        make_eviction(eviction)
    except ValueError as error:
        raise ValueError(f"{owner} eviction={eviction!r}: {error}") from None
    return eviction


def check_alpha(owner: str, alpha: float) -> float:
    """``alpha`` as a float in ``[0, 1)``, or a ``ValueError`` naming ``owner`` and the value."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner} alpha must be a number in [0, 1), got {alpha!r}")
    if not 0 <= alpha < 1:
        raise ValueError(f"{owner} alpha must be in [0, 1), got {alpha!r}")
    return float(alpha)


class Agent:
    """Base class of the reference agents: a scheduler with a name and an optional rng.

    Subclasses implement :meth:`schedule`; those that draw random numbers use ``self.rng``,
    which :meth:`reset` replaces at the start of every episode. ``default_eviction`` is the
    engine eviction policy the agent's rule assumes when a round overflows ``M`` (docs/model.md
    section 4); :func:`agents.run_agent` and ``simulate`` use it unless told otherwise. An
    agent built with ``eviction=`` (``"mcsf:eviction=newest-first"``) replaces it with
    :meth:`use_eviction`.
    """

    name: str = "agent"
    default_eviction: str = "clear-all"

    def __init__(self) -> None:
        self.rng = np.random.default_rng()

    def use_eviction(self, eviction: str | None) -> None:
        """Set ``default_eviction`` to the spec ``eviction`` (``None`` keeps the class default).

        Raises:
            ValueError: for a spec that names no eviction policy, or a bad parameter.
        """
        if eviction is not None:
            self.default_eviction = check_eviction(self.name, eviction)

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode with the generator ``rng``."""
        self.rng = rng

    def schedule(self, view: StateView) -> Sequence[int]:
        """Return the ids of waiting requests to admit for the coming round."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def admit_within(
    view: StateView, order: Iterable[int] | NDArray[np.int64], budget: float
) -> list[int]:
    """Admit the longest prefix of ``order`` whose first-round footprint fits in ``budget``.

    A request admitted for the coming round holds ``s_i + 1`` tokens after it (its prompt and
    its first output token). The walk stops at the first request that does not fit (no
    skipping), so a lazy ``order`` (``view.iter_waiting()``) is read only that far. If
    nothing runs and not even the first request fits, it is admitted anyway: every servable
    request fits in ``M`` on its own, and waiting would never change the budget, so the rule
    would otherwise wait forever.

    Args:
        view: the state at the round boundary.
        order: waiting ids in priority order.
        budget: tokens available to the admitted requests' first-round footprint.

    Returns:
        The admitted ids, in priority order.
    """
    prompts = view.prompts
    admitted: list[int] = []
    used = 0
    for request in order.tolist() if isinstance(order, np.ndarray) else order:
        used += prompts[request] + 1
        if used > budget:
            if not admitted and view.n_running == 0:
                admitted.append(request)
            break
        admitted.append(request)
    return admitted
