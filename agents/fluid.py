"""The fluid model's booking limits shared by WAIT and Nested WAIT (Ao et al. 2025)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def booking_limits(
    weight: NDArray[np.float64], tokens: NDArray[np.float64], capacity: float
) -> NDArray[np.float64]:
    """Concurrent requests each class may hold so that the fluid equilibrium fills ``capacity``.

    In the fluid equilibrium a class's share of the concurrent requests is proportional to
    ``weight`` (arrival rate times the rounds it stays), and each of its requests holds
    ``tokens`` on average; the total ``N`` is the largest with ``sum_k L_k tokens_k =
    capacity``, ``L_k = N weight_k / sum(weight)``.

    Args:
        weight: per class, arrival count (or rate) times rounds spent in it.
        tokens: per class, mean KV tokens held by one of its requests.
        capacity: the memory the equilibrium may use (``M (1 - alpha)``).

    Returns:
        ``L_k`` per class (zeros where there is no weight).
    """
    total = float(weight.sum())
    load = float((weight * tokens).sum())
    if total <= 0 or load <= 0:
        return np.zeros_like(weight, dtype=np.float64)
    return capacity * weight / load
