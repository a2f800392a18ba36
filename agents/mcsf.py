"""MC-SF: Memory-Constrained Shortest First (Jaillet et al. 2025, Algorithm 1; MODEL.md 5)."""

from __future__ import annotations

import numpy as np

from agents.base import Agent
from mcsf_gym.core.view import StateView


def admit_prefix(view: StateView, order: np.ndarray, alpha: float) -> list[int]:
    """Walk ``order`` and admit while the look-ahead memory check holds; stop at the first miss.

    The check (MODEL.md section 5): with the candidate added, the predicted memory of the
    running set and the admitted candidates stays within ``M (1 - alpha)`` at every future
    predicted completion time. Predictions are those of ``view.predicted_length`` (clipped to
    ``M - s``). If nothing runs and even the first candidate fails (possible only when
    ``alpha > 0`` or a prediction exceeds the memory), that candidate is admitted anyway, since
    it does fit in ``M`` on its own and the rule would otherwise wait forever.
    """
    if order.size == 0:
        return []
    check = view.admission_check(alpha)
    prompts = view.prompt[order].tolist()
    lengths = view.predicted_length(order).tolist()
    admitted: list[int] = []
    for request, prompt, length in zip(order.tolist(), prompts, lengths, strict=True):
        if not check.fits(prompt, length):
            break
        check.add(prompt, length)
        admitted.append(request)
    if not admitted and view.n_running == 0:
        admitted.append(int(order[0]))
    return admitted


class MCSF(Agent):
    """Memory-Constrained Shortest First.

    Rule: keep every running request; sort the waiting requests by predicted output length
    (ties by arrival, then id) and admit them in that order while the predicted memory of the
    batch stays within ``M (1 - alpha)`` at every future predicted completion time; stop at the
    first request that does not fit.

    Source: Jaillet, Jiang, Mellou, Molinaro, Podimata, Zhou, "Online Scheduling for LLM
    Inference with KV Cache Constraints", NeurIPS 2025 (arXiv 2502.07115), Algorithm 1.

    Args:
        alpha: memory protection, in ``[0, 1)``: the check uses ``M (1 - alpha)``.
    """

    name = "mcsf"

    def __init__(self, alpha: float = 0.0) -> None:
        super().__init__()
        if not 0 <= alpha < 1:
            raise ValueError(f"mcsf alpha must be in [0, 1), got {alpha}")
        self.alpha = float(alpha)

    def schedule(self, view: StateView) -> list[int]:
        """Admit the shortest-predicted waiting requests while the look-ahead check holds."""
        waiting = view.waiting
        order = waiting[np.argsort(view.prediction[waiting], kind="stable")]
        return admit_prefix(view, order, self.alpha)

    def __repr__(self) -> str:
        return f"MCSF(alpha={self.alpha})"


class MCBenchmark(MCSF):
    """MC-Benchmark: MC-SF's memory check with the waiting requests in arrival order (FCFS).

    Source: Jaillet et al. 2025 (arXiv 2502.07115), the benchmark of their experiments.

    Args:
        alpha: memory protection, in ``[0, 1)``.
    """

    name = "mc-benchmark"

    def schedule(self, view: StateView) -> list[int]:
        """Admit waiting requests in arrival order while the look-ahead check holds."""
        return admit_prefix(view, view.waiting, self.alpha)

    def __repr__(self) -> str:
        return f"MCBenchmark(alpha={self.alpha})"
