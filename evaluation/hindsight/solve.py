"""The hindsight optimum (docs/model.md section 6): one facade over bound, search and solvers.

Steps, all within one wall-clock budget:

1. Validate and merge identical requests (:mod:`evaluation.hindsight.problem`).
2. Upper bound: MC-SF's schedule (exact predictions), improved by annealed serial schedules
   with release times (:mod:`evaluation.hindsight.search`), replayed in the simulator.
3. Lower bound: the time-indexed relaxation strengthened with head inequalities, solved by
   column generation (:mod:`evaluation.hindsight.lp`). If it meets the upper bound, done.
4. Reduced-cost fixing keeps only the start times that can appear in a schedule at least as
   good as the best one known (this replaces a fixed horizon: a request's latest start is
   where its reduced cost alone closes the gap).
5. The integer program over those columns (:mod:`evaluation.hindsight.model`), with memory
   rows, head cuts and symmetry breaking, solved by HiGHS or CP-SAT from the best schedule
   as a hint (:mod:`evaluation.hindsight.backends`).
6. The best schedule is replayed in the simulator (:mod:`evaluation.hindsight.verify`).

The status is ``OPTIMAL`` only when the proven bound reaches the value; an incumbent is never
reported as optimal.
"""

from __future__ import annotations

import math
import time
from typing import Any

from evaluation.hindsight.backends import SOLVERS, solve_program
from evaluation.hindsight.heuristics import mcsf_start
from evaluation.hindsight.lp import solve_relaxation, surviving_columns
from evaluation.hindsight.model import build_program
from evaluation.hindsight.problem import (
    HindsightProblem,
    check_levels,
    check_threads,
    check_time_limit,
    round_up_bound,
)
from evaluation.hindsight.result import HindsightResult, Status
from evaluation.hindsight.search import search
from evaluation.hindsight.verify import replays_exactly
from mcsf_gym.core.instance import Instance

#: The backend used by ``solver="auto"`` (chosen by benchmarks/bench_hindsight.py).
DEFAULT_SOLVER = "highs"


def hindsight_optimum(
    instance: Instance,
    memory: int | str,
    time_limit: float = 60.0,
    threads: int = 1,
    solver: str = "auto",
    *,
    levels: int = 3,
    search_share: float = 0.3,
    seed: int = 0,
    verify: bool = True,
) -> HindsightResult:
    """Solve the hindsight integer program of docs/model.md section 6 (unit time).

    Args:
        instance: the requests; arrivals must be integer rounds. Predictions are ignored
            (the hindsight program knows every output length).
        memory: KV-cache capacity ``M`` in tokens (or a preset name).
        time_limit: wall-clock seconds for the whole call (> 0).
        threads: solver threads (>= 1).
        solver: ``"highs"``, ``"cpsat"`` or ``"auto"`` (``DEFAULT_SOLVER``).
        levels: head inequalities ``r = 1..levels`` (``0`` turns them off; for experiments).
        search_share: share of the time limit for the schedule search, in ``[0, 1)`` (``0``
            skips it: the integer program then starts from MC-SF's schedule).

        seed: seed of the search and the solvers.
        verify: replay the schedule in the simulator and record it in ``verified``.

    Returns:
        A :class:`~evaluation.hindsight.result.HindsightResult`: ``value``, ``bound``,
        ``status``, ``proven_optimal``, ``gap`` and per-request ``start`` times.

    Raises:
        ValueError: naming the field and value, for a bad instance, memory, time limit,
            thread count, solver name or share.
        RuntimeError: if the schedule fails its replay (a bug, never a silent result).

    Example:
        >>> from mcsf_gym import Instance
        >>> opt = hindsight_optimum(Instance([0, 0], [2, 2], [3, 2]), memory=7, time_limit=10)
        >>> opt.value, opt.proven_optimal, opt.start.tolist()
        (6.0, True, [1, 0])
    """
    began = time.perf_counter()
    problem = HindsightProblem.from_instance(instance, memory)
    time_limit = check_time_limit(time_limit)
    threads = check_threads(threads)
    if solver == "auto":
        solver = DEFAULT_SOLVER
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of auto, {', '.join(SOLVERS)}, got {solver!r}")
    levels = check_levels(levels)
    if not 0 <= search_share < 1:
        raise ValueError(f"search_share must be in [0, 1), got {search_share!r}")

    def left() -> float:
        return time_limit - (time.perf_counter() - began)

    stats: dict[str, Any] = {"n": problem.n, "groups": problem.n_groups}
    start = mcsf_start(problem)
    mcsf_value = value = problem.latency(start)
    lower = float(problem.total_output)
    lp_bound = lower
    used = "none"

    if value > lower and search_share > 0:
        found = search(problem, min(search_share * time_limit, left()), seed, initial=start)
        if found.value < value:
            value, start = found.value, found.start
        stats.update(
            search_seconds=found.seconds,
            search_moves=found.iterations,
            search_value=found.value,
        )
    if value > lower:
        relaxation = solve_relaxation(
            problem,
            start,
            levels=levels,
            time_limit=max(left(), 0.01),
            threads=threads,
        )
        lp_bound = max(lower, round_up_bound(problem.total_output + relaxation.bound))
        lower = lp_bound
        stats.update(
            lp_seconds=relaxation.seconds,
            lp_converged=relaxation.converged,
            lp_iterations=relaxation.iterations,
            lp_columns=relaxation.columns,
        )
        if value > lower and left() > 0:
            began_mip = time.perf_counter()
            waiting = value - problem.total_output
            group, begin = surviving_columns(problem, relaxation, waiting)
            program = build_program(problem, group, begin, levels=levels, hint=start)
            stats.update(mip_columns=program.n_columns, mip_rows=program.n_rows)
            outcome = solve_program(program, solver, max(left(), 0.01), threads, seed)
            used = solver
            stats.update(mip_status=outcome.detail, mip_seconds=time.perf_counter() - began_mip)
            stats.update(
                mip_objective=outcome.objective,
                mip_column_value=outcome.value,
                mip_retried_without_hint=outcome.retried,
            )
            trusted = outcome.consistent
            if not trusted:
                stats["solver_disagreement"] = outcome.detail
            if outcome.counts is not None and outcome.value + problem.total_output < value:
                candidate = problem.starts_from_counts(program.group, program.start, outcome.counts)
                if replays_exactly(problem, candidate):
                    start = candidate
                    value = problem.latency(start)
                else:  # the solver's columns are not a schedule: distrust its bound too
                    trusted = False
                    stats["solver_schedule_rejected"] = candidate.tolist()
            # a schedule better than `waiting` uses only surviving columns
            if trusted and math.isfinite(outcome.bound):
                program_bound = round_up_bound(problem.total_output + min(outcome.bound, waiting))
                lower = max(lower, program_bound)

    verified = False
    if verify:
        if not replays_exactly(problem, start):
            raise RuntimeError(
                "the hindsight schedule did not replay exactly in the simulator; this is a bug"
            )
        verified = True
    if lower > value:
        raise RuntimeError(
            f"proven bound {lower:g} exceeds the value {value:g} of a feasible schedule; "
            "this is a bug"
        )
    bound = lower
    status = Status.OPTIMAL if bound >= value else Status.FEASIBLE
    return HindsightResult(
        value=float(value),
        bound=float(bound),
        status=status,
        start=start,
        solver=used,
        seconds=time.perf_counter() - began,
        mcsf_value=float(mcsf_value),
        lp_bound=float(lp_bound),
        verified=verified,
        stats=stats,
    )
