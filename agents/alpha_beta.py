"""α-protection β-clearing: α-greedy admission, random eviction on overflow."""

from __future__ import annotations

from agents.alpha_greedy import AlphaGreedy


class AlphaBeta(AlphaGreedy):
    """α-protection β-clearing: α-greedy admission; on overflow each request is evicted w.p. β.

    Rule: admission exactly as :class:`agents.alpha_greedy.AlphaGreedy` (arrival order, no
    look-ahead, while current memory use stays at most ``(1 - alpha) M``). When a round would
    overflow ``M`` the engine evicts each running request independently with probability
    ``beta``, pass after pass, until the round fits (eviction policy ``random:beta=...``); the
    engine's seed drives the coin flips.

    Source: Jaillet et al., "Online Scheduling for LLM Inference with KV Cache Constraints",
    NeurIPS 2025 (arXiv 2502.07115), the α-protection β-clearing benchmark of the real-trace
    experiment.

    Args:
        alpha: protection level in ``[0, 1)``.
        beta: eviction probability per running request and pass, in ``(0, 1]``.
        eviction: the engine's eviction policy on overflow (default ``random:beta=<beta>``).
    """

    name = "alpha-beta"
    detect_livelock = False

    def __init__(
        self, alpha: float = 0.1, beta: float = 0.1, eviction: str | None = None
    ) -> None:
        super().__init__(alpha)
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 < beta <= 1:
            raise ValueError(f"alpha-beta beta must be a number in (0, 1], got {beta!r}")
        self.beta = float(beta)
        self.default_eviction = f"random:beta={self.beta}"
        self.use_eviction(eviction)

    def __repr__(self) -> str:
        return f"AlphaBeta(alpha={self.alpha}, beta={self.beta})"
