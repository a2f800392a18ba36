"""WAIT (Ao, Luo, Simchi-Levi, Wang 2025): threshold batching per output class."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.base import Agent, check_alpha
from agents.fluid import booking_limits
from agents.mcsf import walk_prefix, walk_skipping
from mcsf_gym.core.view import StateView

#: Most output classes (powers of the base up to any servable length).
MAX_CLASSES = 64


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
        waiting = view.waiting
        limit, stage = self.limits(view)
        running = np.bincount(self._class[view.running], minlength=MAX_CLASSES)
        need = np.minimum(stage, np.floor(limit).astype(np.int64) - running)
        classes = self._class[waiting]
        order = np.argsort(classes, kind="stable")  # by class, then arrival
        sorted_classes = classes[order]
        first = np.searchsorted(sorted_classes, sorted_classes, side="left")
        rank = np.arange(order.size) - first
        waiting_count = np.bincount(classes, minlength=MAX_CLASSES)
        launch = (need >= 1) & (waiting_count >= need)
        chosen = launch[sorted_classes] & (rank < need[sorted_classes])
        launched = waiting[order[chosen]]
        if launched.size == 0 and view.n_running == 0:
            return walk_prefix(view, [waiting], self.alpha)
        return walk_skipping(view, [launched], self.alpha) if launched.size else []

    def __repr__(self) -> str:
        return f"Wait(base={self.base}, alpha={self.alpha}, eviction={self.default_eviction!r})"
