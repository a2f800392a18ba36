"""Arrival processes: Poisson arrivals in seconds, or in integer rounds."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def poisson_arrivals(n: int, rate: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """The first ``n`` arrival times of a Poisson process of ``rate`` per time unit from 0.

    Gaps are i.i.d. exponential with mean ``1 / rate``; the first request arrives after one
    gap (not at 0), as in a process that was started at time 0.
    """
    return np.cumsum(rng.exponential(1.0 / rate, size=n))


def poisson_rounds(n: int, rate: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Integer arrival rounds: ``floor`` of Poisson arrival times, shifted to start at round 0.

    The number of arrivals in each round is then Poisson with mean ``rate`` (independent
    across rounds), apart from the shift that puts the first request at round 0 (an empty
    worker waiting for the first request changes no latency).
    """
    rounds = np.floor(poisson_arrivals(n, rate, rng))
    return rounds - rounds[0]
