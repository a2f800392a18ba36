"""The first schedule of every hindsight computation: MC-SF's, under exact predictions.

Under exact predictions MC-SF's look-ahead memory check is exact, so its schedule is feasible
(no eviction) and its latency is the simulator's. The search of
:mod:`evaluation.hindsight.search` starts from it and never returns anything worse.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from evaluation.hindsight.problem import HindsightProblem


def mcsf_start(problem: HindsightProblem) -> NDArray[np.int64]:
    """MC-SF's start times on the problem's instance (exact predictions): the first schedule."""
    from agents import run_agent

    result = run_agent(problem.instance, "mcsf", memory=problem.memory, time_model="unit")
    return np.rint(result.start).astype(np.int64)
