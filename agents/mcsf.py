"""MC-SF: Memory-Constrained Shortest First (Jaillet et al. 2025, Algorithm 1; MODEL.md 5)."""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import NDArray

from agents.base import Agent, check_alpha
from mcsf_gym.core.view import WAITING, StateView

_FIRST_CHUNK = 8


def _chunks(order: NDArray[np.int64]) -> Iterator[NDArray[np.int64]]:
    """``order`` in slices of growing size (the walk usually stops within the first few)."""
    start, size = 0, _FIRST_CHUNK
    while start < order.size:
        yield order[start : start + size]
        start += size
        size *= 4


def walk_prefix(view: StateView, chunks: Iterable[NDArray[np.int64]], alpha: float) -> list[int]:
    """Admit candidates in the given order while the look-ahead check holds; stop at a miss.

    ``chunks`` yields waiting ids in priority order, a few at a time, so a walk that stops
    early never touches the rest of the queue. See :func:`admit_prefix` for the rule.
    """
    check = view.admission_check(alpha)
    admitted: list[int] = []
    first: int | None = None
    for ids in chunks:
        if ids.size == 0:
            continue
        prompts = view.prompt[ids].tolist()
        lengths = view.predicted_length(ids).tolist()
        for request, prompt, length in zip(ids.tolist(), prompts, lengths, strict=True):
            if first is None:
                first = request
            if not check.fits(prompt, length):
                return admitted if admitted or view.n_running else [first]
            check.add(prompt, length)
            admitted.append(request)
    return admitted


def admit_prefix(view: StateView, order: NDArray[np.int64], alpha: float) -> list[int]:
    """Walk ``order`` and admit while the look-ahead memory check holds; stop at the first miss.

    The check (MODEL.md section 5): with the candidate added, the predicted memory of the
    running set and the admitted candidates stays within ``M (1 - alpha)`` at every future
    predicted completion time. Predictions are those of ``view.predicted_length`` (clipped to
    ``M - s``). If nothing runs and even the first candidate fails (possible only when
    ``alpha > 0`` or a prediction exceeds the memory), that candidate is admitted anyway, since
    it does fit in ``M`` on its own and the rule would otherwise wait forever.
    """
    return walk_prefix(view, _chunks(np.asarray(order, dtype=np.int64)), alpha)


class ShortestFirstQueue:
    """The waiting requests sorted by predicted output length (ties by arrival, then id).

    Kept across round boundaries instead of re-sorting the whole queue every round: each call
    of :meth:`sync` inserts the requests that became waiting (arrivals, evictions, and any the
    engine handed back); requests that left the queue (admitted) are dropped lazily, when a
    walk meets them. Keys are ``prediction * n + id``, so integer order is the rule's order.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget everything (a new episode)."""
        self._keys: list[int] = []
        self._queued = np.zeros(0, dtype=bool)
        self._n = 0
        self._view: StateView | None = None

    def sync(self, view: StateView) -> None:
        """Insert every waiting request that is not queued yet.

        A view other than the last one seen means another episode: the queue starts afresh.
        """
        if view is not self._view:
            self.clear()
            self._view = view
            self._n = int(view.prompt.size)
            self._queued = np.zeros(self._n, dtype=bool)
        n = self._n
        waiting = view.waiting
        new = waiting[~self._queued[waiting]]
        if new.size == 0:
            return
        self._queued[new] = True
        keys = (view.prediction[new] * n + new).tolist()
        if len(keys) > 16:
            self._keys.extend(keys)
            self._keys.sort()
        else:
            for key in keys:
                insort(self._keys, key)

    def chunks(self, view: StateView) -> Iterator[NDArray[np.int64]]:
        """Waiting ids in queue order, a few at a time, dropping those no longer waiting."""
        keys = self._keys
        n = self._n
        status = view.status
        start, size = 0, _FIRST_CHUNK
        while start < len(keys):
            block = np.array(keys[start : start + size], dtype=np.int64)
            ids = block % n
            waiting = status[ids] == WAITING
            if not waiting.all():
                self._queued[ids[~waiting]] = False
                keys[start : start + size] = block[waiting].tolist()
                ids = ids[waiting]
            yield ids
            start += ids.size
            size *= 4


class MCSF(Agent):
    """Memory-Constrained Shortest First.

    Rule: keep every running request; sort the waiting requests by predicted output length
    (ties by arrival, then id) and admit them in that order while the predicted memory of the
    batch stays within ``M (1 - alpha)`` at every future predicted completion time; stop at the
    first request that does not fit. Overflow (possible only when predictions are too short)
    is left to the engine's ``clear-all`` eviction.

    Source: Jaillet, Jiang, Mellou, Molinaro, Podimata, Zhou, "Online Scheduling for LLM
    Inference with KV Cache Constraints", NeurIPS 2025 (arXiv 2502.07115), Algorithm 1.

    The sorted queue is kept across rounds (:class:`ShortestFirstQueue`), so a round costs
    time for the arrivals and the candidates it looks at, not a sort of the whole queue;
    :class:`agents.mcsf_reference.MCSFReference` recomputes everything and gives identical
    schedules.

    Args:
        alpha: memory protection, in ``[0, 1)``: the check uses ``M (1 - alpha)``.
    """

    name = "mcsf"
    default_eviction = "clear-all"

    def __init__(self, alpha: float = 0.0) -> None:
        super().__init__()
        self.alpha = check_alpha(self.name, alpha)
        self._queue = ShortestFirstQueue()

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode: forget the queue."""
        super().reset(rng)
        self._queue.clear()

    def schedule(self, view: StateView) -> list[int]:
        """Admit the shortest-predicted waiting requests while the look-ahead check holds."""
        self._queue.sync(view)
        return walk_prefix(view, self._queue.chunks(view), self.alpha)

    def __repr__(self) -> str:
        return f"MCSF(alpha={self.alpha})"
