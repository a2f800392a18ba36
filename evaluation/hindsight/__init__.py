"""The hindsight optimum of MODEL.md section 6 (the offline benchmark of competitive ratios)."""

from evaluation.hindsight.cpsat import HindsightResult, SolveStatus, hindsight_optimum

__all__ = ["HindsightResult", "SolveStatus", "hindsight_optimum"]
