"""Evaluation: hindsight optimum, competitive ratios, comparisons, plots and reports.

``from evaluation import hindsight_optimum`` works without importing any solver until it is
called.
"""

from __future__ import annotations

from typing import Any

__all__ = ["evaluate", "hindsight_optimum"]


def hindsight_optimum(*args: Any, **kwargs: Any) -> Any:
    """Solve the hindsight optimum; see :func:`evaluation.hindsight.hindsight_optimum`."""
    from evaluation.hindsight import hindsight_optimum as solve

    return solve(*args, **kwargs)


def evaluate(*args: Any, **kwargs: Any) -> Any:
    """The scorecard of a policy on a benchmark suite; see :func:`evaluation.bench.evaluate`."""
    from evaluation.bench import evaluate as score

    return score(*args, **kwargs)
