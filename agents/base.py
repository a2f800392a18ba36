"""Shared pieces of the reference agents: the base class and the plain memory-budget walk."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.view import StateView


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
    engine eviction policy the agent's rule assumes when a round overflows ``M`` (MODEL.md
    section 4); :func:`agents.run_agent` uses it unless told otherwise.
    """

    name: str = "agent"
    default_eviction: str = "clear-all"

    def __init__(self) -> None:
        self.rng = np.random.default_rng()

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode with the generator ``rng``."""
        self.rng = rng

    def schedule(self, view: StateView) -> Sequence[int]:
        """Return the ids of waiting requests to admit for the coming round."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def admit_within(view: StateView, order: NDArray[np.int64], budget: float) -> list[int]:
    """Admit the longest prefix of ``order`` whose first-round footprint fits in ``budget``.

    A request admitted for the coming round holds ``s_i + 1`` tokens after it (its prompt and
    its first output token). The walk stops at the first request that does not fit (no
    skipping). If nothing runs and not even the first request fits, it is admitted anyway:
    every servable request fits in ``M`` on its own, and waiting would never change the
    budget, so the rule would otherwise wait forever.

    Args:
        view: the state at the round boundary.
        order: waiting ids in priority order.
        budget: tokens available to the admitted requests' first-round footprint.

    Returns:
        The admitted ids, in priority order.
    """
    if order.size == 0:
        return []
    footprint = np.cumsum(view.prompt[order] + 1)
    count = int(np.searchsorted(footprint, budget, side="right"))
    if count == 0 and view.n_running == 0:
        count = 1
    return order[:count].tolist()
