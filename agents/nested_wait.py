"""Nested WAIT (Ao et al. 2025): non-clairvoyant threshold batching over decode segments."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import numpy as np
from numpy.typing import NDArray

from agents.base import Agent, check_alpha
from agents.estimates import clip_lengths, estimate_check, walk
from agents.fluid import booking_limits
from agents.geometric import check_base, round_up
from agents.mcsf import chunked
from mcsf_gym.core.view import StateView


class NestedWait(Agent):
    """Nested WAIT, non-clairvoyant: segments of decode progress, a threshold at the first.

    Rule: predictions are ignored. Decoding is cut into segments ending at ``d_j = first *
    2^j`` tokens; a request "advances" to segment ``j + 1`` when it has produced ``d_j``
    tokens, so short requests leave early and long ones are classified on the fly. From what
    it has seen, the agent counts how many arrived requests reached each segment
    (``reach_j``) and sets the fluid model's booking limit of each segment, proportional to
    ``reach_j`` times the segment's length, scaled so that the equilibrium memory (a request
    in segment ``j`` holding the mean prompt plus the segment's mid-point) is ``M (1 -
    alpha)``. New requests enter segment 0 in arrival order, a cohort at a time: when at
    least ``need = min(b_0, floor(L_0) - running in segment 0)`` wait (``b_0 = L_0 / d_0``,
    at least 1), the ``need`` oldest are admitted if MC-SF's look-ahead check holds with
    every request planned to the end of its current segment (the walk stops at the first
    miss); ``alpha`` is the safety buffer. If nothing runs, the waiting requests are
    admitted in arrival order under the check (at least the first). A request that outgrows
    the memory the plan gave it is left to the eviction policy (``newest-first``).

    Source: Ao, Luo, Simchi-Levi, Wang, "Optimizing LLM Inference: Fluid-Guided Online
    Scheduling with Memory Constraints", arXiv 2504.11320, and their simulator
    (github.com/Luoxiaogan/vidur_or, ``general_nested_booking_limit_replica_scheduler.py``):
    segments between the sorted decode lengths, segment limits proportional to
    ``count * arrival_sum`` of the types that reach them, a per-stage limit
    ``ceil(segment limit / count)``, a segment launching when its start stage holds
    ``min(per-stage limit, limit - occupied)`` requests. There requests also wait at every
    segment boundary, holding their cache; this engine never pauses a running request, so
    only the first gate is kept, the later segments act through the plan of the check, and
    the segment ends are geometric (the types are not known) with counts learnt online.

    Args:
        first: the end of the first segment, in output tokens (segments ``first * 2^j``).
        alpha: the safety buffer, in ``[0, 1)``: limits and check use ``M (1 - alpha)``.
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "nested-wait"
    default_eviction = "newest-first"

    def __init__(self, first: int = 16, alpha: float = 0.05, eviction: str | None = None) -> None:
        super().__init__()
        self.first = check_base(self.name, "first", first, 1)
        self.alpha = check_alpha(self.name, alpha)
        self.use_eviction(eviction)
        self._view: StateView | None = None

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode: forget what was seen."""
        super().reset(rng)
        self._view = None

    def _start(self, view: StateView) -> None:
        self._view = view
        self._seen = np.zeros(view.prompt.size, dtype=np.int64)
        ends = [self.first]
        while ends[-1] < view.memory:
            ends.append(ends[-1] * 2)
        self._ends = np.array(ends, dtype=np.int64)
        self._reach = np.zeros(self._ends.size + 1)
        self._arrived = 0
        self._prompt_sum = 0.0

    def _segment(self, produced: NDArray[np.int64]) -> NDArray[np.int64]:
        """Segment index of a request that has produced ``produced`` tokens."""
        return np.searchsorted(self._ends, produced, side="right")

    def _learn(self, view: StateView) -> None:
        new = np.arange(self._arrived, view.n_arrived)
        if new.size:
            self._arrived = view.n_arrived
            self._reach[0] += new.size
            self._prompt_sum += float(view.prompt[new].sum())
        running = view.running
        if running.size:
            produced = view.produced(running)
            before = self._segment(self._seen[running])
            after = self._segment(produced)
            crossed = after > before
            np.add.at(self._reach, after[crossed], 1.0)
            self._seen[running] = np.maximum(self._seen[running], produced)

    def _plan(self, view: StateView, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """End of the current segment: the smallest ``first * 2^j`` above what was produced."""
        produced = np.maximum(self._seen[ids], self._produced(view, ids))
        return clip_lengths(view, ids, round_up(produced + 1, self.first))

    @staticmethod
    def _produced(view: StateView, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        start = view.start_round[ids]
        return np.where(start >= 0, view.round_index - start, 0)

    def need(self, view: StateView) -> int:
        """How many new requests segment 0 takes now (0: the threshold is not met)."""
        count = np.diff(np.concatenate(([0], self._ends)))
        reach = self._reach[: self._ends.size]
        mid = np.concatenate(([0], self._ends[:-1])) + count / 2
        prompt = self._prompt_sum / max(self._arrived, 1)
        limit = booking_limits(reach * count, prompt + mid, view.memory * (1 - self.alpha))
        stage = max(1, int(limit[0] / count[0]))
        running = view.running
        in_first = int((self._segment(view.produced(running)) == 0).sum()) if running.size else 0
        need = min(stage, int(limit[0]) - in_first)
        return need if need >= 1 and view.n_waiting >= need else 0

    def schedule(self, view: StateView) -> list[int]:
        """Admit a cohort of the oldest waiting requests when segment 0's threshold is met."""
        if view is not self._view:
            self._start(view)
        self._learn(view)
        waiting: Iterator[int] = view.iter_waiting()
        if view.n_running:
            count = self.need(view)
            if count == 0:
                return []
            waiting = islice(waiting, count)
        check = estimate_check(view, self._plan(view, view.running), self.alpha)
        return walk(view, check, self._candidates(view, waiting), skip=False)

    def _candidates(self, view: StateView, ids: Iterator[int]) -> Iterator[tuple[int, int, int]]:
        """``(id, prompt, planned length)`` of ``ids``, planned a chunk at a time."""
        prompts = view.prompts
        for chunk in chunked(ids):
            lengths = self._plan(view, np.array(chunk, dtype=np.int64)).tolist()
            yield from ((i, prompts[i], length) for i, length in zip(chunk, lengths, strict=True))

    def __repr__(self) -> str:
        return (
            f"NestedWait(first={self.first}, alpha={self.alpha}, "
            f"eviction={self.default_eviction!r})"
        )
