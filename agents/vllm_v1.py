"""vLLM-v1-style FCFS: caps on sequences and batched tokens, preempt the newest, no look-ahead."""

from __future__ import annotations

from agents.base import Agent
from agents.vllm_fcfs import admit_fcfs, check_cap
from mcsf_gym.core.view import StateView


class VLLMV1(Agent):
    """vLLM v1's scheduler, one request per sequence, in this engine's round model.

    Rule: running requests are scheduled first, one token each. If the coming round does not
    fit in memory, the engine preempts the most recently admitted running requests
    (``newest-first``: vLLM's ``self.running.pop()``, recomputation); they keep their
    arrival times, so in first-come-first-served order they are back at the front of the
    waiting queue (vLLM's ``prepend_request``). In a round that preempts, no waiting request
    is admitted (vLLM: ``if not preempted_reqs``). Otherwise waiting requests are admitted in
    arrival order while ``n_running < max_num_seqs``, the token budget
    ``max_num_batched_tokens - n_running`` is still positive before the request (vLLM's
    ``while self.waiting and token_budget > 0``: its chunked prefill starts a prompt that
    exceeds the remaining budget; here the prompt is processed whole in its first round, as
    the engine has no chunked prefill), and the coming round fits in memory now
    (``view.memory_next_round`` plus ``s + 1`` per admitted request at most ``M``); the
    first request that fails stops the walk. No look-ahead. If nothing runs, the first
    waiting request is admitted.

    Source: vLLM ``vllm/v1/core/sched/scheduler.py`` (``Scheduler.schedule``, read from its
    public copies): FCFS waiting queue, preemption of ``self.running.pop()`` with
    ``num_computed_tokens = 0`` and ``self.waiting.prepend_request``, no new requests in a
    step with preemptions; defaults ``max_num_seqs = 256`` and ``max_num_batched_tokens =
    2048`` (vLLM's default for its OpenAI server with chunked prefill). Unlike
    :class:`agents.vllm_fcfs.VLLMFCFS` the caps are on by default and a long prompt may
    start when any token budget is left.

    Args:
        max_num_seqs: most requests in a round (``None``: no cap).
        max_num_batched_tokens: token budget of a round (one per running request plus the
            prompts of those admitted; ``None``: no cap).
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "vllm-v1"
    default_eviction = "newest-first"

    def __init__(
        self,
        max_num_seqs: int | None = 256,
        max_num_batched_tokens: int | None = 2048,
        eviction: str | None = None,
    ) -> None:
        super().__init__()
        self.max_num_seqs = check_cap(self.name, "max_num_seqs", max_num_seqs)
        self.max_num_batched_tokens = check_cap(
            self.name, "max_num_batched_tokens", max_num_batched_tokens
        )
        self.use_eviction(eviction)

    def schedule(self, view: StateView) -> list[int]:
        """Admit waiting requests in arrival order within the caps and the coming round."""
        return admit_fcfs(view, self.max_num_seqs, self.max_num_batched_tokens, whole_prompt=False)

    def __repr__(self) -> str:
        return (
            f"VLLMV1(max_num_seqs={self.max_num_seqs}, "
            f"max_num_batched_tokens={self.max_num_batched_tokens}, "
            f"eviction={self.default_eviction!r})"
        )
