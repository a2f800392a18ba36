"""The linear relaxation of the time-indexed program, solved by column generation with HiGHS.

Rows: memory at every time ``t <= last`` and the head inequalities of
:mod:`evaluation.hindsight.rows`; one convexity row per group (its requests start once each).
Dropping every row after ``last`` is a relaxation, so the bound is valid for any ``last``;
with ``last`` at the end of a good schedule it loses almost nothing. Columns are priced for
every start time from the dual values, so the master never needs the whole time grid.

The bound is computed from the duals, not read from the solver: for any dual vector with
``y <= 0`` on the ``<=`` rows and any free ``mu`` on the convexity rows, every feasible
schedule ``z`` satisfies ``cost(z) >= D + sum_k rc_k z_k`` with ``D = b.y + count.mu`` and
``rc = cost - A^T y - E^T mu`` (weak duality, term by term). Taking the most negative
reduced cost of each group gives the Lagrangian bound ``D + sum_g count_g min(0, min rc_g)``,
valid at every iteration (equal to the LP optimum once no column prices out), and the same
inequality fixes columns: a column whose ``rc`` alone lifts the bound above a known schedule's
value is in no better schedule (reduced-cost fixing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaluation.hindsight.highs_session import new_highs
from evaluation.hindsight.problem import HindsightProblem
from evaluation.hindsight.rows import column_entries, head_lengths

_TOL = 1e-7


@dataclass
class Duals:
    """Dual values of the relaxation and the prefix sums used to price columns.

    Attributes:
        first: first time with a row.
        last: last time with a row.
        memory_dual: dual of the memory row of each time ``first..last`` (``<= 0``).
        head_dual: dual of each head row (levels x times, ``<= 0``).
        mu: dual of each group's convexity row.
        value: ``D``, the dual objective in waiting rounds.
    """

    first: int
    last: int
    memory_dual: NDArray[np.float64]
    head_dual: NDArray[np.float64]
    mu: NDArray[np.float64]
    value: float


@dataclass
class Relaxation:
    """Result of :func:`solve_relaxation`.

    Attributes:
        bound: a valid lower bound on the total waiting ``sum_i (p_i - a_i)`` (add
            ``sum_i o_i`` for the total latency); the LP optimum when converged.
        converged: whether no column prices out (the LP optimum over all start times).
        iterations: pricing rounds.
        columns: columns in the master at the end.
        seconds: wall-clock time.
        duals: the final duals (for reduced-cost fixing).
        min_reduced_cost: most negative reduced cost of each group (``<= 0``).
        heads: head lengths of the levels used (rows of ``head_lengths``).
    """

    bound: float
    converged: bool
    iterations: int
    columns: int
    seconds: float
    duals: Duals
    min_reduced_cost: NDArray[np.float64]
    heads: NDArray[np.int64]


class _Pricer:
    """Reduced costs of every start time of a group, from prefix sums of the duals."""

    def __init__(self, problem: HindsightProblem, heads: NDArray[np.int64], duals: Duals) -> None:
        self.problem = problem
        self.heads = heads
        self.duals = duals
        size = duals.last + int(problem.output.max()) + 2
        y = np.zeros(size)
        y[duals.first : duals.last + 1] = duals.memory_dual
        t = np.arange(size, dtype=np.float64)
        self.sum_y = np.concatenate([[0.0], np.cumsum(y)])  # sum over u < index
        self.sum_ty = np.concatenate([[0.0], np.cumsum(t * y)])
        self.sum_head = []
        for row in duals.head_dual:
            eta = np.zeros(size)
            eta[duals.first : duals.last + 1] = row
            self.sum_head.append(np.concatenate([[0.0], np.cumsum(eta)]))

    def last_start(self, group: int) -> int:
        """Starts after this one have no entry in any row: their cost only grows."""
        return max(int(self.problem.arrival[group]), self.duals.last)

    def reduced_costs(self, group: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Start times ``a_g .. last_start(g)`` and their reduced costs."""
        problem = self.problem
        begin = int(problem.arrival[group])
        p = np.arange(begin, self.last_start(group) + 1, dtype=np.int64)
        s, o = int(problem.prompt[group]), int(problem.output[group])
        low, high = p + 1, p + o + 1  # sum over t in p+1 .. p+o
        memory = (s - p) * (self.sum_y[high] - self.sum_y[low]) + (
            self.sum_ty[high] - self.sum_ty[low]
        )
        rc = (p - begin) - self.duals.mu[group] - memory
        for head, prefix in zip(self.heads[:, group], self.sum_head, strict=True):
            if head:
                rc -= prefix[p + head + 1] - prefix[p + 1]
        return p, rc


def solve_relaxation(
    problem: HindsightProblem, schedule: NDArray[np.int64], **options: Any
) -> Relaxation:
    """Solve the relaxation by column generation, starting from a feasible schedule.

    Args:
        problem: the validated problem.
        schedule: per-request start times of a feasible schedule (seeds the master).
        options: keyword options of the column generation: ``last`` (last time with
            memory and head rows, at least the schedule's last completion; default: that
            completion),
            ``levels`` (head inequalities ``r = 1..levels``, default 3), ``time_limit``
            (seconds, default 60; the bound stays valid when the loop stops early),
            ``threads`` (HiGHS threads) and ``per_group`` (at most this many new columns per
            group and pricing round, default 8).

    Returns:
        The bound, its duals and statistics.
    """
    from evaluation.hindsight.isolation import call

    return call("highs", _solve_relaxation, problem, schedule, **options)


def _solve_relaxation(
    problem: HindsightProblem,
    schedule: NDArray[np.int64],
    *,
    last: int | None = None,
    levels: int = 3,
    time_limit: float = 60.0,
    threads: int = 1,
    per_group: int = 8,
) -> Relaxation:
    """:func:`solve_relaxation` in this process."""
    import highspy

    began = time.perf_counter()
    if last is None:
        last = int(np.max(schedule + problem.instance.output))
    first = int(problem.arrival.min()) + 1
    rhs_levels, heads = head_lengths(problem, levels)
    span = last - first + 1
    n_blocks = 1 + len(rhs_levels)
    highs = new_highs(threads)
    inf = highspy.kHighsInf
    upper = np.concatenate(
        [np.full(span, float(problem.memory))] + [np.full(span, float(r)) for r in rhs_levels]
    )
    highs.addRows(
        upper.size,
        np.full(upper.size, -inf),
        upper,
        0,
        np.zeros(upper.size, np.int32),
        np.zeros(0, np.int32),
        np.zeros(0),
    )
    count = problem.count.astype(np.float64)
    highs.addRows(
        problem.n_groups,
        count,
        count,
        0,
        np.zeros(problem.n_groups, np.int32),
        np.zeros(0, np.int32),
        np.zeros(0),
    )
    in_master: dict[int, set[int]] = {}

    def add_columns(groups: list[int], starts: list[int]) -> None:
        g = np.asarray(groups, dtype=np.int64)
        p = np.asarray(starts, dtype=np.int64)
        col_starts, index, value = column_entries(problem, heads, g, p, first, last)
        ends = np.append(col_starts[1:], index.size)  # convexity entry closes each column
        index = np.insert(index, ends, n_blocks * span + g)
        value = np.insert(value, ends, 1.0)
        col_starts = (col_starts + np.arange(g.size)).astype(np.int32)
        cost = (p - problem.arrival[g]).astype(np.float64)
        highs.addCols(
            g.size,
            cost,
            np.zeros(g.size),
            count[g],
            index.size,
            col_starts,
            index.astype(np.int32),
            value,
        )
        for gr, pr in zip(g.tolist(), p.tolist(), strict=True):
            in_master.setdefault(gr, set()).add(pr)

    seed = sorted(problem.group_counts(schedule))  # the schedule's (group, start) columns
    add_columns([group for group, _ in seed], [begin for _, begin in seed])

    iterations = 0
    converged = False
    best_bound = -np.inf
    best: tuple[Duals, NDArray[np.float64]] | None = None
    while True:
        remaining = time_limit - (time.perf_counter() - began)
        highs.setOptionValue("time_limit", max(remaining, 0.01))
        highs.run()
        iterations += 1
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            break
        solution = highs.getSolution()
        row_dual = np.minimum(np.asarray(solution.row_dual[: n_blocks * span]), 0.0)
        mu = np.asarray(solution.row_dual[n_blocks * span :])
        value = float(row_dual @ upper + mu @ count)
        duals = Duals(first, last, row_dual[:span], row_dual[span:].reshape(-1, span), mu, value)
        pricer = _Pricer(problem, heads, duals)
        minima = np.zeros(problem.n_groups)
        new_groups: list[int] = []
        new_starts: list[int] = []
        for group in range(problem.n_groups):
            p, rc = pricer.reduced_costs(group)
            minima[group] = min(0.0, float(rc.min()))
            negative = np.flatnonzero(rc < -1e-6)
            if negative.size:
                chosen = negative[np.argsort(rc[negative])]
                present = in_master.get(group, set())
                picked = 0
                for k in chosen.tolist():
                    if int(p[k]) not in present:
                        new_groups.append(group)
                        new_starts.append(int(p[k]))
                        picked += 1
                        if picked >= per_group:
                            break
        bound = value + float(minima @ count)
        if bound > best_bound:
            best_bound, best = bound, (duals, minima)
        if not new_groups:
            converged = True
            break
        if time.perf_counter() - began >= time_limit:
            break
        add_columns(new_groups, new_starts)
    if best is None:
        raise RuntimeError(
            f"the relaxation's master LP did not solve: {highs.modelStatusToString(status)}"
        )
    duals, minima = best
    return Relaxation(
        bound=best_bound,
        converged=converged,
        iterations=iterations,
        columns=int(highs.getNumCol()),
        seconds=time.perf_counter() - began,
        duals=duals,
        min_reduced_cost=minima,
        heads=heads,
    )


def surviving_columns(
    problem: HindsightProblem,
    relaxation: Relaxation,
    waiting_upper: float,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Columns that can appear in a schedule with total waiting at most ``waiting_upper``.

    A column survives when ``bound + rc - min(0, min rc_g) <= waiting_upper``; every other
    column lifts the Lagrangian bound of any schedule using it above ``waiting_upper``. Start
    times after the rows end have reduced cost ``p - a_g - mu_g`` and survive up to a
    closed-form limit.

    Returns:
        ``(group, start)`` arrays, sorted by group then start.
    """
    pricer = _Pricer(problem, relaxation.heads, relaxation.duals)
    groups, starts = [], []
    for group in range(problem.n_groups):
        slack = waiting_upper - relaxation.bound + relaxation.min_reduced_cost[group] + 1e-6
        p, rc = pricer.reduced_costs(group)
        keep = p[rc <= slack]
        # beyond the rows: rc = p - a - mu, kept while <= slack
        begin = pricer.last_start(group) + 1
        arrival = int(problem.arrival[group])
        end = int(np.floor(slack + arrival + relaxation.duals.mu[group] + _TOL))
        tail = np.arange(begin, end + 1, dtype=np.int64) if end >= begin else keep[:0]
        chosen = np.concatenate([keep, tail])
        groups.append(np.full(chosen.size, group, dtype=np.int64))
        starts.append(chosen)
    return np.concatenate(groups), np.concatenate(starts)
