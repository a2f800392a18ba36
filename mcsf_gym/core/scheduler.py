"""The one scheduler interface shared by ``simulate``, the environment and every agent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from mcsf_gym.core.view import StateView


@runtime_checkable
class Scheduler(Protocol):
    """Decides, at each round boundary, which waiting requests to admit for the coming round.

    ``reset`` is called once before an episode with a generator for any randomness the
    scheduler needs; ``schedule`` gets a read-only :class:`StateView` and returns the ids of
    waiting requests to admit, in priority order (if the round overflows, the engine first
    evicts running requests by its policy, then defers admissions from the end of this list).
    It is called only when some request is waiting.
    """

    def reset(self, rng: np.random.Generator) -> None:
        """Prepare for a new episode."""
        ...

    def schedule(self, view: StateView) -> Sequence[int]:
        """Return the ids of waiting requests to admit now."""
        ...
