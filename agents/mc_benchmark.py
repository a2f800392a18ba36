"""MC-Benchmark: MC-SF's look-ahead memory check, queue in arrival order (docs/model.md 5)."""

from __future__ import annotations

from agents.base import Agent, check_alpha
from agents.mcsf import walk_ids
from mcsf_gym.core.view import StateView


class MCBenchmark(Agent):
    """MC-Benchmark: first come, first served under MC-SF's look-ahead memory check.

    Rule: keep every running request; walk the waiting requests in arrival order and admit
    each while the predicted memory of the batch stays within ``M (1 - alpha)`` at every
    future predicted completion time; stop at the first request that does not fit. Overflow
    (possible only when predictions are too short) is left to the engine's ``newest-first``
    eviction (with ``clear-all`` it can restart the same requests for ever under noisy
    predictions: ``lmsys:n=2000,rate=10,prediction=noisy:eps=0.5`` stops making progress).

    Source: Jaillet et al., "Online Scheduling for LLM Inference with KV Cache Constraints",
    NeurIPS 2025 (arXiv 2502.07115), the benchmark of their real-trace experiment.

    Args:
        alpha: memory protection, in ``[0, 1)``.
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "mc-benchmark"
    default_eviction = "newest-first"

    def __init__(self, alpha: float = 0.0, eviction: str | None = None) -> None:
        super().__init__()
        self.alpha = check_alpha(self.name, alpha)
        self.use_eviction(eviction)

    def schedule(self, view: StateView) -> list[int]:
        """Admit waiting requests in arrival order while the look-ahead check holds."""
        return walk_ids(view, view.iter_waiting(), self.alpha)

    def __repr__(self) -> str:
        return f"MCBenchmark(alpha={self.alpha})"
