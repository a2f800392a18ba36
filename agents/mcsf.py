"""MC-SF: Memory-Constrained Shortest First (Jaillet et al. 2025, Algorithm 1; docs/model.md 5)."""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

import numpy as np
from numpy.typing import NDArray

from agents.base import Agent, check_alpha
from mcsf_gym.core.view import WAITING, StateView

_FIRST_CHUNK = 8

#: Waiting ids in priority order, a few at a time (arrays or lists of ints).
Chunks = Iterable[Sequence[int] | NDArray[np.int64]]


def _chunks(order: NDArray[np.int64]) -> Iterator[list[int]]:
    """``order`` in slices of growing size (the walk usually stops within the first few)."""
    start, size = 0, _FIRST_CHUNK
    while start < order.size:
        yield order[start : start + size].tolist()
        start += size
        size *= 4


def chunked(ids: Iterable[int]) -> Iterator[list[int]]:
    """``ids`` in lists of doubling size (8, 16, 32, ...): a walk that stops early reads little.

    At most twice what it takes, plus 8, in few lists.
    """
    ids = iter(ids)
    size = _FIRST_CHUNK
    while chunk := list(islice(ids, size)):
        yield chunk
        size *= 2


def _ints(ids: Sequence[int] | NDArray[np.int64]) -> Sequence[int]:
    """``ids`` as a sequence of Python ints (a list stays as it is)."""
    return ids.tolist() if isinstance(ids, np.ndarray) else ids


def walk_prefix(
    view: StateView, chunks: Chunks, alpha: float, *, first_fits: bool = False
) -> list[int]:
    """Admit candidates in the given order while the look-ahead check holds; stop at a miss.

    ``chunks`` yields waiting ids in priority order, a few at a time, so a walk that stops
    early never touches the rest of the queue. See :func:`admit_prefix` for the rule. The
    first candidate is tested alone, on the engine's profile in place
    (:meth:`~mcsf_gym.core.view.StateView.admission_fits`: most walks stop there); if it
    fits, each chunk from the first on is tested and added in order by
    :meth:`~mcsf_gym.core.lookahead.AdmissionCheck.add_while_fits` (the same answers).
    ``first_fits`` says that the caller has made the first candidate's test, and it passed.
    """
    prompts = view.prompts
    check = None
    admitted: list[int] = []
    for chunk in chunks:
        ids = _ints(chunk)
        if not len(ids):
            continue
        if check is None:
            first = ids[0]
            if not first_fits and not view.admission_fits(
                prompts[first], view.predicted_length_of(first), alpha
            ):
                return [] if view.n_running else [first]
            check = view.admission_check(alpha)
        added = check.add_while_fits(
            [prompts[request] for request in ids], view.predicted_lengths_of(ids)
        )
        admitted.extend(ids[:added])
        if added < len(ids):
            break
    return admitted


def walk_ids(view: StateView, candidates: Iterable[int], alpha: float) -> list[int]:
    """:func:`walk_prefix` over waiting ids given one by one (a lazy iterator stops early)."""
    return walk_prefix(view, chunked(candidates), alpha)


def admit_prefix(view: StateView, order: NDArray[np.int64], alpha: float) -> list[int]:
    """Walk ``order`` and admit while the look-ahead memory check holds; stop at the first miss.

    The check (docs/model.md section 5): with the candidate added, the predicted memory of the
    running set and the admitted candidates stays within ``M (1 - alpha)`` at every future
    predicted completion time. Predictions are those of ``view.predicted_length`` (clipped to
    ``M - s``). If nothing runs and even the first candidate fails (possible only when
    ``alpha > 0`` or a prediction exceeds the memory), that candidate is admitted anyway, since
    it does fit in ``M`` on its own and the rule would otherwise wait forever.
    """
    return walk_prefix(view, _chunks(np.asarray(order, dtype=np.int64)), alpha)


def walk_skipping(
    view: StateView,
    chunks: Chunks,
    alpha: float,
    *,
    by_prediction: bool = False,
) -> list[int]:
    """Admit candidates in the given order whenever the look-ahead check holds; skip misses.

    The check is MC-SF's (:func:`admit_prefix`); a candidate that does not fit is passed over
    and the walk goes on. It ends early, with the same result, once not even a one-token
    prompt predicted to produce one token fits: every candidate needs at least that at the
    coming boundary. With ``by_prediction`` (the chunks come in non-decreasing
    ``view.prediction``, as MC-SF's queue) it also ends after a miss at prediction ``p`` when
    neither a one-token prompt of length ``p`` fits nor, at the coming boundary, a prompt of
    ``M - p + 1`` tokens: every later candidate either is planned at least ``p`` rounds or
    is clipped below ``p`` (``M - s < p``), so has a prompt of more than ``M - p``. If nothing
    runs and nothing fits, the first candidate is admitted alone (it fits in ``M`` alone).
    """
    check = view.admission_check(alpha)
    prompts = view.prompts
    floors = view.predictions
    length_of = view.predicted_length_of
    memory = view.memory
    admitted: list[int] = []
    first: int | None = None
    for ids in chunks:
        for request in _ints(ids):
            if first is None:
                first = request
            prompt = prompts[request]
            length = length_of(request)
            if check.fits(prompt, length):
                check.add(prompt, length)
                admitted.append(request)
            elif not check.fits(1, 1) or (
                by_prediction
                and not check.fits(1, min(floors[request], memory - 1))
                and not check.fits(memory - floors[request] + 1, 1)
            ):
                return _or_first(view, admitted, first)
    return _or_first(view, admitted, first)


def _or_first(view: StateView, admitted: list[int], first: int | None) -> list[int]:
    """``admitted``, or the first candidate alone if nothing runs and nothing was admitted."""
    if admitted or view.n_running or first is None:
        return admitted
    return [first]


#: A queue's priority: an integer score per request (lower first), from the view and the ids.
Score = Callable[[StateView, NDArray[np.int64]], NDArray[np.int64]]


def predicted_output(view: StateView, ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """MC-SF's priority: the predicted output length ``õ`` as given (lower first)."""
    return view.prediction[ids]


class SortedQueue:
    """The waiting requests sorted by an integer score (ties by arrival, then id).

    Kept across round boundaries instead of re-sorting the whole queue every round: each call
    of :meth:`sync` inserts the requests that became waiting since the last call (arrivals,
    evictions: read from the view's log of such events, so a call costs the changes, not the
    queue), scored when they are inserted; requests that left the queue (admitted) are
    dropped lazily, when a walk meets them. The queue is a sorted list of the distinct scores
    and, per score, a bucket of ids in increasing order (ids are in arrival order): an
    arrival is appended to its bucket, and only a score not seen yet (or a re-queued id) is
    inserted in order, so an insertion costs nothing like the length of the queue.

    Args:
        score: the priority of each request, an integer (lower first); default the predicted
            output length (MC-SF's order).
    """

    def __init__(self, score: Score = predicted_output) -> None:
        self._score = score
        self.clear()

    def clear(self) -> None:
        """Forget everything (a new episode)."""
        self._order: list[int] = []
        self._buckets: dict[int, list[int]] = {}
        self._queued = bytearray()
        self._seen = 0
        self._view: StateView | None = None

    def sync(self, view: StateView) -> bool:
        """Insert every waiting request that is not queued yet; return whether the queue grew.

        A view other than the last one seen means another episode: the queue starts afresh
        (and ``True`` is returned).
        """
        if view is not self._view:
            self.clear()
            self._view = view
            self._queued = bytearray(len(view.prompts))
            fresh = True
        elif view.waiting_log_size == self._seen:
            return False
        else:
            fresh = False
        changes = view.waiting_since(self._seen)
        self._seen += len(changes)
        queued = self._queued
        status = view.statuses
        new: list[int] = []
        for request in changes:
            if status[request] == WAITING and not queued[request]:
                queued[request] = 1
                new.append(request)
        if not new:
            return fresh
        buckets = self._buckets
        for score, request in zip(self._scores(view, new), new, strict=True):
            bucket = buckets.get(score)
            if bucket is None:
                buckets[score] = [request]
                insort(self._order, score)
            elif request > bucket[-1]:
                bucket.append(request)
            else:  # a re-queued (evicted) request, older than some of its bucket
                insort(bucket, request)
        return True

    def _scores(self, view: StateView, new: list[int]) -> list[int]:
        """The scores of the requests ``new``, as Python ints."""
        return self._score(view, np.array(new, dtype=np.int64)).tolist()

    def _drop(self, index: int, status: memoryview) -> None:
        """Drop the ids no longer waiting from the bucket of ``self._order[index]``.

        An emptied bucket is removed with its score.
        """
        score = self._order[index]
        bucket = self._buckets[score]
        queued = self._queued
        for request in bucket:
            if status[request] != WAITING:
                queued[request] = 0
        bucket[:] = [request for request in bucket if status[request] == WAITING]
        if not bucket:
            del self._buckets[score]
            del self._order[index]

    def first(self, view: StateView) -> int | None:
        """The first waiting id in queue order (``None`` if none), as :meth:`ids` gives it."""
        order = self._order
        status = view.statuses
        while order:
            request = self._buckets[order[0]][0]
            if status[request] == WAITING:
                return request
            self._drop(0, status)
        return None

    def ids(self, view: StateView) -> Iterator[int]:
        """Waiting ids in queue order, one at a time, dropping those no longer waiting."""
        for chunk in self.chunks(view):
            yield from chunk

    def chunks(self, view: StateView) -> Iterator[list[int]]:
        """Waiting ids in queue order, in lists of doubling size (8, 16, 32, ...).

        Read a bucket slice at a time; a bucket whose slice holds ids no longer waiting is
        cleared of them first.
        """
        order = self._order
        buckets = self._buckets
        status = view.statuses
        size = _FIRST_CHUNK
        chunk: list[int] = []
        index = start = 0  # the bucket being read, and where in it (all before is waiting)
        while index < len(order):
            bucket = buckets[order[index]]
            taken = bucket[start : start + size - len(chunk)]
            for request in taken:
                if status[request] != WAITING:
                    self._drop(index, status)  # the ids before ``start`` stay where they are
                    break
            else:
                chunk += taken
                start += len(taken)
                if start == len(bucket):
                    index, start = index + 1, 0
                if len(chunk) == size:
                    yield chunk
                    chunk = []
                    size *= 2
        if chunk:
            yield chunk


class ShortestFirstQueue(SortedQueue):
    """The waiting requests sorted by predicted output length (ties by arrival, then id)."""

    def __init__(self) -> None:
        super().__init__(predicted_output)

    def _scores(self, view: StateView, new: list[int]) -> list[int]:
        """The predictions of ``new``, read from ``view.predictions`` (no array for a few)."""
        predictions = view.predictions
        return [predictions[request] for request in new]


class MCSF(Agent):
    """Memory-Constrained Shortest First.

    Rule: keep every running request; sort the waiting requests by predicted output length
    (ties by arrival, then id) and admit them in that order while the predicted memory of the
    batch stays within ``M (1 - alpha)`` at every future predicted completion time; stop at the
    first request that does not fit. Overflow (possible only when predictions are too short)
    is left to the engine's eviction policy: ``clear-all`` by default, kept deliberately so
    that ``mcsf`` stays the paper's reference everywhere (the environment and the training
    pipeline default to it too). Under noisy predictions ``mcsf:eviction=newest-first`` is
    much better: on ``lmsys:n=2000,rate=10,prediction=noisy:eps=0.5`` a mean latency of
    16.6 s against 80.4 s with ``clear-all``, which restarts every running request at each
    overflow (docs/agents.md).

    Source: Jaillet, Jiang, Mellou, Molinaro, Podimata, Zhou, "Online Scheduling for LLM
    Inference with KV Cache Constraints", NeurIPS 2025 (arXiv 2502.07115), Algorithm 1.

    The sorted queue is kept across rounds (:class:`ShortestFirstQueue`), so a round costs
    time for the arrivals and the candidates it looks at, not a sort of the whole queue;
    :class:`agents.mcsf_reference.MCSFReference` recomputes everything and gives identical
    schedules.

    Args:
        alpha: memory protection, in ``[0, 1)``: the check uses ``M (1 - alpha)``.
        eviction: the engine's eviction policy on overflow (default ``clear-all``).
    """

    name = "mcsf"
    default_eviction = "clear-all"

    def __init__(self, alpha: float = 0.0, eviction: str | None = None) -> None:
        super().__init__()
        self.alpha = check_alpha(self.name, alpha)
        self.use_eviction(eviction)
        self._queue = ShortestFirstQueue()
        #: The queue's head at the last boundary: id, prompt, predicted length.
        self._head: tuple[int, int, int] | None = None
        #: The boundary before which the head does not fit, and the profile version it holds for.
        self._retry = (-1, -1)
        self._view: StateView | None = None  # the view the head and the boundary belong to

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode: forget the queue."""
        super().reset(rng)
        self._queue.clear()
        self._head = None
        self._retry = (-1, -1)
        self._view = None

    def schedule(self, view: StateView) -> list[int]:
        """Admit the shortest-predicted waiting requests while the look-ahead check holds."""
        queue = self._queue
        head = self._head if view is self._view else None  # another view: another episode
        self._view = view
        if queue.sync(view) or head is None or view.statuses[head[0]] != WAITING:
            first = queue.first(view)
            if first is None:
                self._head = None
                return []
            latest = (first, view.prompts[first], view.predicted_length_of(first))
            if latest != head:
                head = self._head = latest
                self._retry = (-1, -1)
        now = view.round_index
        version = view.profile_version
        retry, seen = self._retry
        if now < retry and version == seen and view.n_running:
            return []  # the head's test fails until then (StateView.earliest_fit)
        # Most boundaries end at the head's test: made here, before a walk is started.
        retry = view.earliest_fit(head[1], head[2], self.alpha)
        if retry == now:
            self._head = None
            return walk_prefix(view, queue.chunks(view), self.alpha, first_fits=True)
        if view.n_running:
            self._retry = (retry, version)
            return []
        self._head = None
        return [head[0]]

    def __repr__(self) -> str:
        return f"MCSF(alpha={self.alpha})"
