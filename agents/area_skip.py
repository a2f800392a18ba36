"""Area-skip: smallest predicted memory-time first, MC-SF's check, skipping misses."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.base import Agent, check_alpha
from agents.mcsf import SortedQueue, walk_skipping
from mcsf_gym.core.view import StateView


def doubled_area(view: StateView, ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """``2 (s + õ/2) õ = (2 s + õ) õ``: twice the predicted memory-time, an exact integer.

    ``õ`` is the look-ahead's length (``view.predicted_length``: clipped to ``M - s``, raised
    for a request seen to outlive its prediction).
    """
    length = view.predicted_length(ids)
    return (2 * view.prompt[ids] + length) * length


class AreaSkip(Agent):
    """Smallest predicted memory-time first, under MC-SF's look-ahead check, skipping misses.

    Rule: keep every running request; walk the waiting requests by predicted memory-time
    ``(s + õ/2) õ`` ascending (the token-rounds the request will hold: about ``s + j`` tokens
    during each of its ``õ`` rounds; ties by arrival, then id) and admit each one for which
    MC-SF's check holds with the requests admitted so far; pass over those that do not fit.
    It is shortest-first on the resource the memory constraint rations, so a short answer to
    a long prompt no longer jumps ahead of a slightly longer answer to a tiny prompt.

    Source: this project's issue 12 (a one-line change of MC-SF's order, "best or tied for
    best on every held-out workload measured so far"); the check is MC-SF's (Jaillet et al.,
    NeurIPS 2025, arXiv 2502.07115). The score is taken when a request joins the queue.

    Args:
        alpha: memory protection, in ``[0, 1)``: the check uses ``M (1 - alpha)``.
        eviction: the engine's eviction policy on overflow (default ``newest-first``, as
            :class:`agents.mcsf_skip.MCSFSkip`).
    """

    name = "area-skip"
    default_eviction = "newest-first"

    def __init__(self, alpha: float = 0.0, eviction: str | None = None) -> None:
        super().__init__()
        self.alpha = check_alpha(self.name, alpha)
        self.use_eviction(eviction)
        self._queue = SortedQueue(doubled_area)

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode: forget the queue."""
        super().reset(rng)
        self._queue.clear()

    def schedule(self, view: StateView) -> list[int]:
        """Admit, smallest predicted area first, every waiting request that passes the check."""
        self._queue.sync(view)
        return walk_skipping(view, self._queue.chunks(view), self.alpha)

    def __repr__(self) -> str:
        return f"AreaSkip(alpha={self.alpha}, eviction={self.default_eviction!r})"
