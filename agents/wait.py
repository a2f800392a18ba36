"""WAIT (Ao, Luo, Simchi-Levi, Wang 2025): threshold batching per output class."""

from __future__ import annotations

from bisect import bisect_left, insort

import numpy as np
from numpy.typing import NDArray

from agents.base import Agent, check_alpha
from agents.fluid import booking_limits
from agents.mcsf import walk_ids, walk_skipping
from mcsf_gym.core.view import WAITING, StateView

#: Most output classes (powers of the base up to any servable length).
MAX_CLASSES = 64


class ClassQueues:
    """The waiting requests of each class, in arrival order, followed by their changes.

    Arrivals and evictions come from the view's log of requests that became waiting; a
    request leaves when it was admitted (the agent reports its admissions with
    :meth:`admitted`; those the engine deferred stay). The total is checked against the view
    at every sync, and the queues are rebuilt from it if they ever disagree.
    """

    def __init__(self, view: StateView, classes: int) -> None:
        self.queues: list[list[int]] = [[] for _ in range(classes)]
        self._member = bytearray(len(view.prompts))
        self._seen = 0
        self._size = 0
        self._admitted: list[int] = []

    def sync(self, view: StateView, klass: NDArray[np.int64]) -> None:
        """Bring the queues up to the view's waiting set."""
        status = view.statuses
        member = self._member
        for request in self._admitted:
            if member[request] and status[request] != WAITING:
                queue = self.queues[int(klass[request])]
                del queue[bisect_left(queue, request)]
                member[request] = 0
                self._size -= 1
        self._admitted = []
        for request in view.waiting_since(self._seen):
            if status[request] == WAITING and not member[request]:
                insort(self.queues[int(klass[request])], request)
                member[request] = 1
                self._size += 1
        self._seen = view.waiting_log_size
        if self._size != view.n_waiting:  # never under simulate; a safety net elsewhere
            self._rebuild(view, klass)

    def _rebuild(self, view: StateView, klass: NDArray[np.int64]) -> None:
        for queue in self.queues:
            queue.clear()
        self._member = bytearray(len(view.prompts))
        for request in view.iter_waiting():
            self.queues[int(klass[request])].append(request)
            self._member[request] = 1
        self._size = view.n_waiting

    def admitted(self, ids: list[int]) -> None:
        """The requests the agent admitted (checked at the next :meth:`sync`)."""
        self._admitted = ids


class Wait(Agent):
    """WAIT: Waiting for Accumulated Inference Threshold, with classes by predicted output.

    Rule: a request's class is ``floor(log_base(õ))``. From the requests arrived so far the
    agent estimates each class's arrival count ``n_k``, mean prompt ``s_k`` and mean
    predicted output ``o_k``, and the fluid model's booking limits: class ``k`` may hold
    ``L_k`` concurrent requests, ``L_k`` proportional to ``n_k (o_k + 1)`` and scaled so that
    ``sum_k L_k (s_k + (o_k + 1) / 2) = M (1 - alpha)``; its per-stage limit (the batch it
    launches) is ``b_k = max(1, floor(L_k / (o_k + 1)))``. At a round boundary class ``k``
    launches when at least ``need_k = min(b_k, floor(L_k) - running_k)`` of its requests wait
    (and ``need_k >= 1``): its ``need_k`` oldest. Launched requests, shortest class first,
    are admitted when MC-SF's look-ahead check holds (a miss is skipped): our addition, so
    that exact predictions never overflow. If nothing runs and no class launches, the
    waiting requests are admitted in arrival order under the check (at least the first):
    the authors' simulator instead drops what is left once every request has arrived, which
    this engine does not allow.

    Source: Ao, Luo, Simchi-Levi, Wang, "Optimizing LLM Inference: Fluid-Guided Online
    Scheduling with Memory Constraints", arXiv 2504.11320, and their simulator
    (github.com/Luoxiaogan/vidur_or, ``vidur/scheduler/replica_scheduler/
    modified_booking_limit_replica_scheduler.py``): limits per type proportional to
    ``arrival_rate * (decode + 1)``, a per-stage limit ``limit / (decode + 1)``, a type
    launching when its waiting prefills reach ``min(per-stage limit, limit - occupied)``.
    There the types (prefill, decode, rate) are given; here they are learned online from
    the predictions of the arrived requests (classes by powers of ``base``).

    Args:
        base: class width, classes ``[base^k, base^(k+1))`` of predicted output (> 1).
        alpha: memory protection, in ``[0, 1)``, for the limits and the check.
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "wait"
    default_eviction = "newest-first"

    def __init__(self, base: float = 2.0, alpha: float = 0.0, eviction: str | None = None) -> None:
        super().__init__()
        if isinstance(base, bool) or not isinstance(base, (int, float)) or not 1 < base <= 1e6:
            raise ValueError(f"wait base must be a number in (1, 1e6], got {base!r}")
        self.base = float(base)
        self.alpha = check_alpha(self.name, alpha)
        self.use_eviction(eviction)
        self._view: StateView | None = None

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode: forget the class statistics."""
        super().reset(rng)
        self._view = None

    def _start(self, view: StateView) -> None:
        self._view = view
        self._counted = 0
        self._class = np.zeros(view.prompt.size, dtype=np.int64)
        self._count = np.zeros(MAX_CLASSES)
        self._prompt = np.zeros(MAX_CLASSES)
        self._output = np.zeros(MAX_CLASSES)
        self._queues = ClassQueues(view, MAX_CLASSES)

    def _learn(self, view: StateView) -> None:
        """Add the requests that arrived since the last boundary to the class statistics."""
        new = np.arange(self._counted, view.n_arrived)
        self._counted = view.n_arrived
        if new.size == 0:
            return
        prediction = view.prediction[new]
        classes = np.floor(np.log(prediction) / np.log(self.base) + 1e-9).astype(np.int64)
        classes = np.clip(classes, 0, MAX_CLASSES - 1)
        self._class[new] = classes
        self._count += np.bincount(classes, minlength=MAX_CLASSES)
        self._prompt += np.bincount(classes, weights=view.prompt[new], minlength=MAX_CLASSES)
        self._output += np.bincount(classes, weights=prediction, minlength=MAX_CLASSES)

    def limits(self, view: StateView) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Booking limit ``L_k`` and per-stage limit ``b_k`` of every class, as estimated now."""
        seen = self._count > 0
        count = np.where(seen, self._count, 1.0)
        prompt, output = self._prompt / count, self._output / count
        weight = np.where(seen, self._count * (output + 1), 0.0)
        limit = booking_limits(weight, prompt + (output + 1) / 2, view.memory * (1 - self.alpha))
        stage = np.maximum(1, np.floor(limit / (output + 1))).astype(np.int64)
        return limit, stage

    def schedule(self, view: StateView) -> list[int]:
        """Launch every class whose threshold is met; admit its requests under the check."""
        if view is not self._view:
            self._start(view)
        self._learn(view)
        queues = self._queues
        queues.sync(view, self._class)
        limit, stage = self.limits(view)
        running = np.bincount(self._class[view.running], minlength=MAX_CLASSES)
        need = np.minimum(stage, np.floor(limit).astype(np.int64) - running).tolist()
        launched: list[int] = []  # by class, then arrival
        for k, queue in enumerate(queues.queues):
            if need[k] >= 1 and len(queue) >= need[k]:
                launched.extend(queue[: need[k]])
        if not launched and view.n_running == 0:
            admitted = walk_ids(view, view.iter_waiting(), self.alpha)
        else:
            admitted = walk_skipping(view, [launched], self.alpha) if launched else []
        queues.admitted(admitted)
        return admitted

    def __repr__(self) -> str:
        return f"Wait(base={self.base}, alpha={self.alpha}, eviction={self.default_eviction!r})"
