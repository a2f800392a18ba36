"""α-protection greedy: FCFS admission under a memory threshold, clear-all on overflow."""

from __future__ import annotations

import numpy as np

from agents.base import Agent, admit_within, check_alpha
from mcsf_gym.core.view import StateView


class AlphaGreedy(Agent):
    """α-protection greedy: admit in arrival order while current memory use is within (1-α) M.

    Rule: no look-ahead. Walk the waiting requests in arrival order and admit each while the
    current memory use stays at most ``(1 - alpha) M``, where the current use counts the
    running requests' KV cache now (``view.memory_in_use``: ``s_j`` + tokens produced) plus,
    for every request admitted so far at this boundary and the candidate itself, the ``s_i +
    1`` tokens it holds after its first round; stop at the first request that does not fit.
    The admissions are also capped so that the coming round itself fits in ``M``
    (``view.memory_next_round`` plus their ``s_i + 1``). This binds only when ``alpha M`` is
    below the number of running requests (never at ``M = 16492`` with ``alpha >= 0.05`` and a
    few hundred running); without it the engine would evict the running requests to make
    room for the new ones, which can be displaced in turn, for ever, with the worker never
    empty. The margin ``alpha M`` is all that absorbs the running requests' growth: when a
    round would overflow ``M`` the engine evicts every running request (``clear-all``); they
    restart from scratch and keep their arrival times, so they lead the queue again. If
    nothing runs and even the first request exceeds the threshold, it is admitted alone (it
    fits in ``M``).

    Livelock: under ``clear-all`` an overflow restarts every running request, which keep
    their arrival times and lead the queue again. If the worker is empty twice with no
    completion and no arrival in between, the waiting set is the same as before, so this
    deterministic rule repeats the same batch and overflows the same way for ever (it happens
    on LMSYS-like traffic with ``alpha = 0.1``, and on tiny instances). Our addition, so that
    every run ends: on such a repeat the agent admits, until a request finishes, only at
    empty-worker boundaries and at most half of the batch it admitted at the previous one
    (at least one request; halving again on a further repeat). A request alone fits in
    ``M``, so this terminates. Each halving is counted in ``livelocks_broken``; runs without a
    repeat follow the paper's rule exactly. :class:`agents.alpha_beta.AlphaBeta`, whose
    random clearing breaks such cycles, turns the check off.

    Source: Jaillet et al., "Online Scheduling for LLM Inference with KV Cache Constraints",
    NeurIPS 2025 (arXiv 2502.07115), the α-protection greedy benchmark of the real-trace
    experiment (α around 0.1 to 0.25).

    Args:
        alpha: protection level in ``[0, 1)``.
        eviction: the engine's eviction policy on overflow (default ``clear-all``).
    """

    name = "alpha-greedy"
    default_eviction = "clear-all"
    detect_livelock = True

    def __init__(self, alpha: float = 0.2, eviction: str | None = None) -> None:
        super().__init__()
        self.alpha = check_alpha(self.name, alpha)
        self.use_eviction(eviction)
        self.livelocks_broken = 0
        self._empty_key: tuple[int, int] | None = None
        self._empty_batch = 0
        self._limit: int | None = None
        self._limit_finished = 0

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode."""
        super().reset(rng)
        self.livelocks_broken = 0
        self._empty_key = None
        self._empty_batch = 0
        self._limit = None
        self._limit_finished = 0

    def schedule(self, view: StateView) -> list[int]:
        """Admit waiting requests in arrival order while current use stays within the threshold."""
        budget = min(
            (1.0 - self.alpha) * view.memory - view.memory_in_use,
            view.memory - view.memory_next_round,
        )
        admitted = admit_within(view, view.iter_waiting(), budget)
        if not self.detect_livelock:
            return admitted
        return self._break_livelock(view, admitted)

    def _break_livelock(self, view: StateView, admitted: list[int]) -> list[int]:
        """Limit ``admitted`` while a repeated empty-worker state is being broken."""
        if self._limit is not None and view.n_finished > self._limit_finished:
            self._limit = None
        if view.n_running:
            return [] if self._limit is not None else admitted
        key = (view.n_finished, view.n_arrived)
        if key == self._empty_key:
            self._limit = max(1, (self._limit or self._empty_batch) // 2)
            self._limit_finished = view.n_finished
            self.livelocks_broken += 1
        self._empty_key = key
        if self._limit is not None:
            admitted = admitted[: self._limit]
        self._empty_batch = len(admitted)
        return admitted

    def __repr__(self) -> str:
        return f"AlphaGreedy(alpha={self.alpha})"
