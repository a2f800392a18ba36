"""A_min: plan with the lower ends of interval predictions, refined as tokens are produced."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from agents.a_max import require_intervals
from agents.base import Agent, check_alpha
from agents.estimates import clip_lengths, estimate_check, walk
from agents.mcsf import SortedQueue
from mcsf_gym.core.view import StateView


class AMin(Agent):
    """A_min: the adaptive interval algorithm: start from ``l``, raise it as tokens appear.

    Rule: every request's length estimate is its lower end ``l`` of the predicted interval
    ``[l, u]``, raised to the tokens it has been seen to produce + 1 once it outlives it
    (while running, and after an eviction: a restarted request keeps what was learnt). At
    each round boundary, keep the running requests, walk the waiting ones by current
    estimate ascending (ties by arrival, then id) and admit while MC-SF's look-ahead check
    holds under the estimates (running requests included); stop at the first miss. Since the
    estimates are optimistic, memory can overflow; the engine then evicts by the eviction
    policy, by default ``newest-first``: the requests admitted last, which have produced the
    fewest tokens, so the least work is lost. ``u`` is never used.

    Source: Chen, Ye, Zhou, "Adaptively Robust LLM Inference Optimization under Prediction
    Uncertainty", arXiv 2508.14544, algorithm A_min ("initially treats the predicted lower
    bound as the output length and dynamically refines this estimate during inferencing";
    O(log(1/α)) competitive). Only the abstract and summaries could be read here; the
    refinement (estimate = max(l, produced + 1)), the shortest-estimate order and the
    stop-at-first-miss walk are reconstructed, and the evict-on-overflow choice is the
    engine's ``newest-first`` (the abstract does not say whom A_min evicts).

    Args:
        alpha: memory protection, in ``[0, 1)``.
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "a-min"
    default_eviction = "newest-first"

    def __init__(self, alpha: float = 0.0, eviction: str | None = None) -> None:
        super().__init__()
        self.alpha = check_alpha(self.name, alpha)
        self.use_eviction(eviction)
        self._queue = SortedQueue(self._estimate)
        self._seen = np.zeros(0, dtype=np.int64)
        self._view: StateView | None = None

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode: forget the queue and what was seen."""
        super().reset(rng)
        self._queue.clear()
        self._view = None

    def _estimate(self, view: StateView, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """``max(l, seen + 1)`` clipped to ``M - s``."""
        lower = view.prediction if view.lower is None else view.lower  # None refused earlier
        return clip_lengths(view, ids, np.maximum(lower[ids], self._seen[ids] + 1))

    def schedule(self, view: StateView) -> list[int]:
        """Admit by smallest current estimate while the check under the estimates holds."""
        require_intervals(self.name, view)
        if view is not self._view:
            self._view = view
            self._seen = np.zeros(view.prompt.size, dtype=np.int64)
        running = view.running
        if running.size:
            self._seen[running] = np.maximum(self._seen[running], view.produced(running))
        check = estimate_check(view, self._estimate(view, running), self.alpha)
        self._queue.sync(view)
        return walk(view, check, self._candidates(view), skip=False)

    def _candidates(self, view: StateView) -> Iterator[tuple[int, int, int]]:
        for ids in self._queue.chunks(view):
            if ids:
                lengths = self._estimate(view, np.array(ids, dtype=np.int64)).tolist()
                prompts = view.prompts
                yield from ((i, prompts[i], length) for i, length in zip(ids, lengths, strict=True))

    def __repr__(self) -> str:
        return f"AMin(alpha={self.alpha}, eviction={self.default_eviction!r})"
