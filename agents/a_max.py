"""A_max: MC-SF planned with the upper ends of interval predictions (Chen, Ye, Zhou 2025)."""

from __future__ import annotations

from agents.base import NotApplicableError
from agents.mcsf import MCSF
from mcsf_gym.core.view import StateView


def require_intervals(name: str, view: StateView) -> None:
    """Raise :class:`~agents.base.NotApplicableError` (a ``ValueError``) without intervals."""
    if view.lower is None:
        raise NotApplicableError(
            f"{name} needs interval predictions (an instance with lower bounds, e.g. "
            f"prediction=interval:eps=0.5), got lower=None"
        )


class AMax(MCSF):
    """A_max: the conservative interval algorithm: plan every request with its upper end ``u``.

    Rule: MC-SF (shortest first, the look-ahead check, stop at the first miss) with each
    request's length taken as the upper end ``u`` of its predicted interval ``[l, u]``. In
    this project an interval prediction's ``õ`` is ``u`` (docs/model.md section 4), so the rule
    is MC-SF's on those instances; it never overflows when ``o <= u``. It refuses instances
    without intervals (a ``ValueError``): on point predictions it would be ``mcsf``.

    Source: Chen, Ye, Zhou, "Adaptively Robust LLM Inference Optimization under Prediction
    Uncertainty", arXiv 2508.14544, algorithm A_max ("schedules requests based on the upper
    bound of predicted output lengths to prevent memory overflow"). Only the abstract and
    summaries could be read here; the shortest-first order and the stop-at-first-miss walk
    are reconstructed from MC-SF, of which the paper's authors are co-authors.

    Args:
        alpha: memory protection, in ``[0, 1)``.
        eviction: the engine's eviction policy on overflow (default ``newest-first``; with
            ``o <= u`` it never applies).
    """

    name = "a-max"
    default_eviction = "newest-first"

    def schedule(self, view: StateView) -> list[int]:
        """MC-SF's admissions on the upper ends; refuse instances without intervals."""
        require_intervals(self.name, view)
        return super().schedule(view)

    def __repr__(self) -> str:
        return f"AMax(alpha={self.alpha}, eviction={self.default_eviction!r})"
