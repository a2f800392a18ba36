"""Small statistics helpers: means with Student-t confidence intervals, paired ratios."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student-t quantile for ``confidence`` with ``dof`` degrees of freedom."""
    try:
        from scipy import stats
    except ImportError as error:
        raise ImportError(
            "confidence intervals need scipy: pip install 'mcsf-gym[eval]'"
        ) from error

    return float(stats.t.ppf(0.5 + confidence / 2.0, dof))


def mean_ci(
    values: Sequence[float], confidence: float = 0.95, minimum: float | None = None
) -> tuple[float, float, float]:
    """Mean and a Student-t confidence interval ``(mean, low, high)``.

    With a single value the interval is ``(nan, nan)``: one sample says nothing about spread.
    ``minimum`` is the smallest value the quantity can take (0 for latencies, counts, memory
    and ratios): the interval's lower end is raised to it, so a skewed sample never reports an
    impossible negative bound such as ``-18.4`` evictions.

    Raises:
        ValueError: if ``values`` is empty or ``confidence`` is not in (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = float(data.mean())
    if data.size == 1:
        return mean, math.nan, math.nan
    half = t_quantile(confidence, data.size - 1) * float(data.std(ddof=1)) / math.sqrt(data.size)
    low = mean - half if minimum is None else max(mean - half, minimum)
    return mean, low, mean + half
