"""Shortest predicted first without look-ahead: admit while the next round fits now."""

from __future__ import annotations

import numpy as np

from agents.base import Agent, admit_within
from agents.mcsf import ShortestFirstQueue
from mcsf_gym.core.view import StateView


class SFNoLookahead(Agent):
    """Shortest (predicted) first, checking only the coming round: MC-SF without look-ahead.

    Rule: sort the waiting requests by predicted output length (ties by arrival, then id) and
    admit them in that order while the coming round fits in memory now
    (``view.memory_next_round`` plus ``s_i + 1`` per admitted request at most ``M``); stop at
    the first request that does not fit. Running requests then grow into overflows, which the
    engine resolves by evicting the most recently admitted first (``newest-first``): it
    throws away the least work and keeps the oldest requests progressing, so every request
    eventually finishes (``clear-all`` could restart the same batch forever). In a round where
    the running requests alone overflow, the budget is negative and nothing is admitted. It
    isolates what MC-SF's look-ahead buys over plain shortest-first batching.

    Source: an ablation defined by this project: MC-SF (Jaillet et al., "Online Scheduling for
    LLM Inference with KV Cache Constraints", NeurIPS 2025, arXiv 2502.07115, Algorithm 1)
    with its look-ahead replaced by vLLM's check of the coming round only.

    Args:
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "sf-no-lookahead"
    default_eviction = "newest-first"

    def __init__(self, eviction: str | None = None) -> None:
        super().__init__()
        self.use_eviction(eviction)
        self._queue = ShortestFirstQueue()

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode: forget the queue."""
        super().reset(rng)
        self._queue.clear()

    def schedule(self, view: StateView) -> list[int]:
        """Admit the shortest-predicted waiting requests while the coming round fits now."""
        self._queue.sync(view)
        return admit_within(view, self._queue.ids(view), view.memory - view.memory_next_round)
