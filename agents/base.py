"""Shared pieces of the reference agents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mcsf_gym.core.view import StateView


class Agent:
    """Base class of the reference agents: a scheduler with a name and an optional rng.

    Subclasses implement :meth:`schedule`; those that draw random numbers use ``self.rng``,
    which :meth:`reset` replaces at the start of every episode.
    """

    name: str = "agent"

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
