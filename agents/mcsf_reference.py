"""A naive MC-SF recomputing docs/model.md section 5's check from scratch (tests, benchmarks)."""

from __future__ import annotations

import numpy as np

from agents.base import Agent, check_alpha
from mcsf_gym.core.view import StateView


def check_holds(
    prompt: np.ndarray, start: np.ndarray, end: np.ndarray, now: int, cap: float
) -> bool:
    """docs/model.md section 5's memory check, written out.

    For every ``t'`` in the set of predicted completion times ``end``, the requests with
    ``t' <= end_j`` hold ``s_j + t' - p_j`` tokens; their sum must be at most ``cap``. Every
    request here started at or before ``now`` and every ``t'`` is later, so a request counted
    at ``t'`` has indeed started.
    """
    times = np.unique(end)
    times = times[times > now]
    held = (prompt[None, :] + times[:, None] - start[None, :]) * (times[:, None] <= end[None, :])
    return bool(held.sum(axis=1).max(initial=0) <= cap)


class MCSFReference(Agent):
    """MC-SF computed the naive way, as a check on the fast :class:`agents.mcsf.MCSF`.

    Rule (identical to MC-SF): sort the waiting requests by prediction ``õ`` (ties by
    arrival, then id); walk them and add each to the admitted set ``U`` while, for every
    predicted completion time ``t'`` of the running requests and of ``U`` with the candidate,
    ``sum_running (s_j + t' - p_j) 1[t' <= p_j + õ_j] + sum_U (s_j + t' - t) 1[t' <= t + õ_j]
    <= M (1 - alpha)``; stop at the first miss. ``õ`` is ``view.predicted_length`` (clipped to
    ``M - s``, raised for a running request that outlived it). If nothing runs and even the
    first candidate fails, it is admitted alone (as MC-SF does).

    Unlike MC-SF it keeps nothing between rounds (it re-sorts the whole queue every round) and
    uses neither the engine's memory profile nor
    :class:`~mcsf_gym.core.lookahead.AdmissionCheck`: for every candidate it recomputes the
    check over all completion times and all requests, ``O((R + U)^2)`` work.

    Source: Jaillet et al., "Online Scheduling for LLM Inference with KV Cache Constraints",
    NeurIPS 2025 (arXiv 2502.07115), Algorithm 1; docs/model.md section 5.

    Args:
        alpha: memory protection, in ``[0, 1)``.
        eviction: the engine's eviction policy on overflow (default ``clear-all``).
    """

    name = "mcsf-reference"
    default_eviction = "clear-all"

    def __init__(self, alpha: float = 0.0, eviction: str | None = None) -> None:
        super().__init__()
        self.alpha = check_alpha(self.name, alpha)
        self.use_eviction(eviction)

    def schedule(self, view: StateView) -> list[int]:
        """Admit the shortest-predicted waiting requests while the check holds."""
        now = view.round_index
        cap = view.memory * (1.0 - self.alpha)
        waiting = view.waiting.tolist()
        order = sorted(waiting, key=lambda request: (int(view.prediction[request]), request))
        running = view.running
        prompt = [int(s) for s in view.prompt[running]]
        start = [int(p) for p in view.start_round[running]]
        lengths = view.predicted_length(running)
        end = [p + int(length) for p, length in zip(start, lengths, strict=True)]
        admitted: list[int] = []
        for request in order:
            candidate_end = now + int(view.predicted_length([request])[0])
            if not check_holds(
                np.array([*prompt, int(view.prompt[request])], dtype=np.int64),
                np.array([*start, now], dtype=np.int64),
                np.array([*end, candidate_end], dtype=np.int64),
                now,
                cap,
            ):
                break
            admitted.append(request)
            prompt.append(int(view.prompt[request]))
            start.append(now)
            end.append(candidate_end)
        if not admitted and running.size == 0 and order:
            admitted.append(order[0])
        return admitted

    def __repr__(self) -> str:
        return f"MCSFReference(alpha={self.alpha})"
