"""vLLM-style FCFS: admit while the next round fits, preempt the newest on overflow."""

from __future__ import annotations

import numpy as np

from agents.base import Agent
from mcsf_gym.core.view import StateView


def check_cap(owner: str, field: str, value: int | None) -> int | None:
    """``value`` as a positive integer (or ``None``), or a ``ValueError`` naming the field."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner} {field} must be a positive integer or None, got {value!r}")
    return int(value)


def admit_fcfs(
    view: StateView,
    max_num_seqs: int | None,
    max_num_batched_tokens: int | None,
    *,
    whole_prompt: bool,
) -> list[int]:
    """Waiting requests in arrival order while the coming round fits now and the caps hold.

    The walk stops at the first request for which ``view.memory_next_round`` plus ``s + 1``
    per admitted request exceeds ``M``, the requests in the round would exceed
    ``max_num_seqs``, or the token budget ``max_num_batched_tokens - n_running`` is spent:
    with ``whole_prompt`` when the prompts admitted, this one included, exceed it (vLLM
    without chunked prefill), otherwise when those ahead of it already reach it (vLLM v1: a
    prompt starts while any budget is left). If nothing runs, the first request is admitted
    even when it fails. It reads the queue only up to the stop.
    """
    running = view.n_running
    free = view.memory - view.memory_next_round
    budget = None if max_num_batched_tokens is None else max_num_batched_tokens - running
    seqs = None if max_num_seqs is None else max(0, max_num_seqs - running)
    prompts = view.prompts
    admitted: list[int] = []
    footprint = before = 0  # before: prompt tokens of the requests admitted ahead
    for request in view.iter_waiting():
        prompt = prompts[request]
        footprint += prompt + 1
        if (
            footprint > free
            or (budget is not None and before + (prompt if whole_prompt else 1) > budget)
            or (seqs is not None and len(admitted) >= seqs)
        ):
            if not admitted and running == 0:
                admitted.append(request)
            break
        admitted.append(request)
        before += prompt
    return admitted


class VLLMFCFS(Agent):
    """vLLM-style first come, first served with recompute preemption.

    Rule: walk the waiting requests in arrival order and admit each while the coming round
    fits in memory now: ``view.memory_next_round`` (the running requests after one more token
    each) plus ``s_i + 1`` for every admitted request stays at most ``M``; stop at the first
    request that does not fit (head-of-line blocking, as vLLM's waiting queue). There is no
    look-ahead, so running requests grow into an overflow; the engine then preempts the most
    recently admitted requests first until the round fits (``newest-first``, vLLM's
    recompute preemption). In such a round the agent admits nothing, as vLLM schedules no new
    prefills in a step that preempted: an eviction happens exactly when the running requests
    alone overflow (``memory_next_round > M``, since the agent's own admissions always fit),
    and then the budget above is negative. The evicted requests keep their arrival times, so
    they lead the queue again. Optional vLLM caps: ``max_num_seqs`` (requests in a round) and
    ``max_num_batched_tokens`` (prompt tokens of the admitted requests plus one per decoding
    request). If nothing runs and the first waiting request exceeds a cap, it is admitted
    alone (vLLM would reject such a request; here every request must be served).

    Source: vLLM (Kwon et al., "Efficient Memory Management for Large Language Model Serving
    with PagedAttention", SOSP 2023), ``vllm/core/scheduler.py`` and
    ``vllm/v1/core/sched/scheduler.py``: FCFS waiting queue, preemption of the lowest-priority
    (newest) running request by recomputation, no new prefills in a step that preempted.

    Args:
        max_num_seqs: most requests in a round (``None``: no cap).
        max_num_batched_tokens: most tokens processed in a round (``None``: no cap).
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "vllm-fcfs"
    default_eviction = "newest-first"

    def __init__(
        self,
        max_num_seqs: int | None = None,
        max_num_batched_tokens: int | None = None,
        eviction: str | None = None,
    ) -> None:
        super().__init__()
        self.use_eviction(eviction)
        self.max_num_seqs = check_cap(self.name, "max_num_seqs", max_num_seqs)
        self.max_num_batched_tokens = check_cap(
            self.name, "max_num_batched_tokens", max_num_batched_tokens
        )

    def schedule(self, view: StateView) -> list[int]:
        """Admit waiting requests in arrival order while the coming round fits now."""
        return admit_fcfs(view, self.max_num_seqs, self.max_num_batched_tokens, whole_prompt=True)

    def __repr__(self) -> str:
        return (
            f"VLLMFCFS(max_num_seqs={self.max_num_seqs}, "
            f"max_num_batched_tokens={self.max_num_batched_tokens})"
        )
