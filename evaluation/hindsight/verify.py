"""Replay a hindsight schedule in the simulator: the one source of truth for feasibility."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from evaluation.hindsight.problem import HindsightProblem


def replays_exactly(problem: HindsightProblem, start: NDArray[np.int64]) -> bool:
    """Whether the simulator's replay of ``start`` keeps every start, evicts nothing and totals.

    ``simulate(instance, Replay(start), memory=M, time_model="unit")`` must admit every
    request exactly at ``start``, evict nothing and total ``problem.latency(start)``.

    The replay uses the instance with exact predictions, so the look-ahead check of
    :class:`agents.Replay` is exact.
    """
    from agents import Replay
    from mcsf_gym.core.simulate import simulate

    result = simulate(problem.instance, Replay(start), memory=problem.memory, time_model="unit")
    return bool(
        np.array_equal(result.start, start)
        and result.metrics["evictions"] == 0
        and result.total_latency == problem.latency(start)
    )
