"""GBA and GSA (Feng, Yang, Zhang 2026): geometric length classes under the shared check."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from agents.base import Agent, check_alpha
from agents.estimates import clip_lengths, estimate_check, walk
from agents.mcsf import SortedQueue
from mcsf_gym.core.view import StateView


def check_base(owner: str, field: str, value: int, low: int) -> int:
    """``value`` as an integer ``>= low``, or a ``ValueError`` naming the field and the value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{owner} {field} must be an integer >= {low}, got {value!r}")
    return int(value)


def round_up(length: NDArray[np.int64], first: int) -> NDArray[np.int64]:
    """The smallest ``first * 2^k >= length`` (``k >= 0``), elementwise."""
    ratio = np.maximum(np.asarray(length, dtype=np.float64) / first, 1.0)
    classes = np.ceil(np.log2(ratio) - 1e-12).astype(np.int64)
    return first * (np.int64(1) << classes)


class _Geometric(Agent):
    """Shared rule of GBA and GSA: admit by geometric length class, planned at the class end.

    Subclasses give :meth:`_guess`, the length a request is taken to have before rounding
    (the prediction for GBA, what was seen for GSA).
    """

    default_eviction = "newest-first"

    def __init__(self, alpha: float = 0.0, first: int = 1, eviction: str | None = None) -> None:
        super().__init__()
        self.alpha = check_alpha(self.name, alpha)
        self.first = check_base(self.name, "first", first, 1)
        self.use_eviction(eviction)
        self._queue = SortedQueue(self._class_index)
        self._seen = np.zeros(0, dtype=np.int64)
        self._view: StateView | None = None

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode: forget the queue and what was seen."""
        super().reset(rng)
        self._queue.clear()
        self._view = None

    def _guess(self, view: StateView, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        raise NotImplementedError

    def _length(self, view: StateView, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """The planned length: the guess rounded up to its class end, clipped to ``M - s``."""
        guess = np.maximum(self._guess(view, ids), self._seen[ids] + 1)
        return clip_lengths(view, ids, round_up(guess, self.first))

    def _class_index(self, view: StateView, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.round(np.log2(self._length(view, ids) / self.first)).astype(np.int64)

    def schedule(self, view: StateView) -> list[int]:
        """Admit by class (ties by arrival) while the check at the class ends holds."""
        if view is not self._view:
            self._view = view
            self._seen = np.zeros(view.prompt.size, dtype=np.int64)
        running = view.running
        if running.size:
            self._seen[running] = np.maximum(self._seen[running], view.produced(running))
        check = estimate_check(view, self._length(view, running), self.alpha)
        self._queue.sync(view)
        return walk(view, check, self._candidates(view), skip=False)

    def _candidates(self, view: StateView) -> Iterator[tuple[int, int, int]]:
        for ids in self._queue.chunks(view):
            if ids:
                lengths = self._length(view, np.array(ids, dtype=np.int64)).tolist()
                prompts = view.prompts
                yield from ((i, prompts[i], length) for i, length in zip(ids, lengths, strict=True))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(alpha={self.alpha}, first={self.first}, "
            f"eviction={self.default_eviction!r})"
        )


class GBA(_Geometric):
    """GBA, the clairvoyant Geometric Batching Algorithm, online.

    Rule: a request's class is the smallest ``first * 2^k`` at least its predicted length
    ``õ``; it is planned as if it produced exactly that many tokens (clipped to ``M - s``).
    At each round boundary keep the running requests, walk the waiting ones by class
    (ties by arrival, then id) and admit while MC-SF's look-ahead check holds with every
    request at its class end (running ones included); stop at the first miss, so classes
    are served in increasing order, batched together. A request that outlives its class end
    (only with a too-short prediction) moves to the next class.

    Source: Feng, Yang, Zhang, "Competitive Non-Clairvoyant KV-Cache Scheduling for LLM
    Inference", arXiv 2601.22996: GBA, an approximation ratio of 10.67 in the offline
    all-at-once setting (every request waiting at time 0). Only the abstract could be read
    here: its geometric classes are kept; its staggered pipeline is replaced by the shared
    look-ahead check (which staggers admissions to the memory the running requests release)
    and the all-at-once rule is applied online at every boundary to the arrived requests.

    Args:
        alpha: memory protection, in ``[0, 1)``.
        first: the length of the first class (classes ``first * 2^k``).
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "gba"

    def _guess(self, view: StateView, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        return view.prediction[ids]


class GSA(_Geometric):
    """GSA, the non-clairvoyant Geometric Slicing Algorithm, online.

    Rule: predictions are ignored. A request is first planned to produce ``first`` tokens;
    each time it is seen to outlive its plan, the plan doubles (``first * 2^k``, the
    geometric phases). At each round boundary keep the running requests, walk the waiting
    ones by planned length (ties by arrival, then id) and admit while MC-SF's look-ahead
    check holds with every request at its plan; stop at the first miss. A request evicted
    keeps its plan (what it was seen to produce), so it restarts one phase on.

    Source: Feng, Yang, Zhang, "Competitive Non-Clairvoyant KV-Cache Scheduling for LLM
    Inference", arXiv 2601.22996: GSA, 61.92-competitive in the offline all-at-once setting,
    "a geometric phase structure that periodically restarts jobs to bound memory exposure,
    combined with a staggered pipeline". Only the abstract could be read here. Agents cannot
    restart a request on purpose in this engine (only an overflow evicts), so the planned
    restart at a phase end is replaced by doubling the plan, and the memory a request
    outliving its plan adds is left to the eviction policy (``newest-first``); the pipeline
    is the shared look-ahead check; the rule runs online at every boundary.

    Args:
        alpha: memory protection, in ``[0, 1)``.
        first: the first planned length (plans ``first * 2^k``); default 16.
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "gsa"

    def __init__(self, alpha: float = 0.0, first: int = 16, eviction: str | None = None) -> None:
        super().__init__(alpha, first, eviction)

    def _guess(self, view: StateView, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.ones(ids.size, dtype=np.int64)
