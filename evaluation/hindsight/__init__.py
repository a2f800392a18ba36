"""The hindsight optimum of docs/model.md section 6 and lower bounds on it.

``hindsight_optimum(instance, memory, time_limit, threads, solver)`` returns the best
schedule found, its total latency, a proven lower bound and a status (never an unproven
incumbent labelled optimal); ``hindsight_lower_bound(instance, memory)`` returns a proven
bound that scales to thousands of requests; ``best_schedule(instance, memory, time_limit,
seed)`` returns a best-known schedule within a budget (no proof). Solvers (HiGHS via
``highspy``, OR-Tools CP-SAT) are imported only when a function runs; the search's kernels
are compiled by numba when it is installed.
"""

from evaluation.hindsight.bounds import hindsight_lower_bound
from evaluation.hindsight.result import HindsightResult, LowerBound, Status
from evaluation.hindsight.search import best_schedule
from evaluation.hindsight.solve import DEFAULT_SOLVER, hindsight_optimum

__all__ = [
    "DEFAULT_SOLVER",
    "HindsightResult",
    "LowerBound",
    "Status",
    "best_schedule",
    "hindsight_lower_bound",
    "hindsight_optimum",
]
