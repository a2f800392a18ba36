"""Lower bounds on the hindsight optimum that scale to thousands of requests.

Two combinatorial bounds, each a one-machine relaxation solved exactly by SRPT (shortest
remaining processing time, optimal for the total completion time of preemptive jobs with
release dates), in ``O(n log n)``:

- volume: request ``i`` needs ``w_i = s_i o_i + o_i (o_i + 1) / 2`` token-rounds of memory
  between its admission (``>= a_i``) and its completion, and the cache serves at most ``M``
  per round; so the completion times dominate those of a preemptive machine of speed ``M``.
- heads: the ``1``-heads of :mod:`evaluation.hindsight.rows` never overlap, so they form a
  one-machine schedule with release dates ``a_i``; a request completes ``o_i - h_i`` rounds
  after its head ends.

and the relaxation of :mod:`evaluation.hindsight.lp` (memory and head rows, column
generation), which is much stronger and still polynomial.
"""

from __future__ import annotations

import heapq
import math
import time

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaluation.hindsight.heuristics import mcsf_start
from evaluation.hindsight.problem import (
    HindsightProblem,
    check_levels,
    check_threads,
    check_time_limit,
    round_up_bound,
)
from evaluation.hindsight.result import LowerBound
from evaluation.hindsight.rows import head_lengths
from mcsf_gym.core.instance import Instance

METHODS = ("auto", "lp", "combinatorial")


def srpt_completions(release: ArrayLike, processing: ArrayLike) -> NDArray[np.float64]:
    """Completion times of SRPT on one machine (preemptive, release dates), per job.

    SRPT minimises the total completion time over all preemptive schedules.
    """
    release = np.asarray(release, dtype=np.float64)
    processing = np.asarray(processing, dtype=np.float64)
    order = np.argsort(release, kind="stable")
    completion = np.zeros(release.size)
    heap: list[tuple[float, int]] = []
    now = 0.0
    k = 0
    n = release.size
    while k < n or heap:
        if not heap:
            now = max(now, release[order[k]])
        while k < n and release[order[k]] <= now:
            job = int(order[k])
            heapq.heappush(heap, (processing[job], job))
            k += 1
        remaining, job = heapq.heappop(heap)
        horizon = release[order[k]] if k < n else math.inf
        if now + remaining <= horizon:
            now += remaining
            completion[job] = now
        else:
            heapq.heappush(heap, (remaining - (horizon - now), job))
            now = horizon
    return completion


def volume_bound(problem: HindsightProblem) -> float:
    """The memory-volume bound on the total latency (see the module docstring)."""
    inst = problem.instance
    area = inst.prompt * inst.output + inst.output * (inst.output + 1) / 2
    finish = srpt_completions(inst.arrival, area / problem.memory)
    return float((finish - inst.arrival).sum())


def head_bound(problem: HindsightProblem) -> float:
    """The one-machine head bound on the total latency (see the module docstring)."""
    inst = problem.instance
    _, heads = head_lengths(problem, 1)
    if heads.shape[0] == 0:
        return float(problem.total_output)
    head = heads[0][problem.group_of]
    finish = srpt_completions(inst.arrival, head)
    return float((finish + (inst.output - head) - inst.arrival).sum())


def hindsight_lower_bound(
    instance: Instance,
    memory: int | str,
    *,
    method: str = "auto",
    time_limit: float = 60.0,
    threads: int = 1,
    levels: int = 3,
) -> LowerBound:
    """A proven lower bound on the hindsight optimum's total latency (docs/model.md section 6).

    This is a bound, not a schedule: every unit-time schedule, online or offline, has total
    latency at least ``result.bound``.

    Args:
        instance: the requests (integer arrivals; predictions are ignored).
        memory: KV-cache capacity ``M`` (or a preset name).
        method: ``"combinatorial"`` (volume and head bounds, ``O(n log n)``), ``"lp"`` (the
            strengthened relaxation by column generation, seeded with MC-SF's schedule;
            still valid when stopped by the time limit) or ``"auto"`` (both; the larger).
        time_limit: seconds for the relaxation.
        threads: HiGHS threads.
        levels: head inequalities ``r = 1..levels`` in the relaxation.

    Returns:
        A :class:`~evaluation.hindsight.result.LowerBound` (rounded up: latencies are
        integers).

    Raises:
        ValueError: for bad input, naming the field and value.
    """
    began = time.perf_counter()
    problem = HindsightProblem.from_instance(instance, memory)
    time_limit = check_time_limit(time_limit)
    threads = check_threads(threads)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    levels = check_levels(levels)
    parts: dict[str, float] = {"output": float(problem.total_output)}
    if method in ("auto", "combinatorial"):
        parts["volume"] = volume_bound(problem)
        parts["heads"] = head_bound(problem)
    if method in ("auto", "lp"):
        from evaluation.hindsight.lp import solve_relaxation

        remaining = max(time_limit - (time.perf_counter() - began), 0.01)
        relaxation = solve_relaxation(
            problem,
            mcsf_start(problem),
            levels=levels,
            time_limit=remaining,
            threads=threads,
        )
        parts["lp"] = problem.total_output + relaxation.bound
    best = max(parts.values())
    used = max(parts, key=parts.__getitem__)
    return LowerBound(
        bound=round_up_bound(best),
        method="lp" if used == "lp" else "combinatorial",
        seconds=time.perf_counter() - began,
        parts=parts,
    )
