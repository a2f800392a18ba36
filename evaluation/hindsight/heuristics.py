"""Good schedules to start from: priority-list schedules run through the simulator.

A :class:`PriorityList` agent admits waiting requests in a fixed priority order while MC-SF's
look-ahead memory check holds. Under exact predictions that check is exact, so every schedule
it produces is feasible (no eviction) and its latency is the simulator's. MC-SF is the
priority "shortest output first" with stop-at-first-miss; perturbing the priorities and
letting the walk skip requests that do not fit often finds better schedules (the hindsight
optimum is not always shortest-first).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from agents.base import Agent
from evaluation.hindsight.problem import HindsightProblem
from mcsf_gym.core.simulate import simulate
from mcsf_gym.core.view import StateView


class PriorityList(Agent):
    """Admit waiting requests by ascending ``priority`` while the look-ahead check holds.

    Rule: at each boundary, sort the waiting requests by ``priority`` (ties by id) and walk
    them, admitting each one that passes MC-SF's memory check (docs/model.md section 5, alpha 0);
    with ``skip=False`` the walk stops at the first miss (MC-SF's rule), otherwise it goes on.
    If nothing runs and nothing fits, the first is admitted anyway (a request always fits
    alone).

    Source: list scheduling; MC-SF (Jaillet et al. 2025) is the priority ``prediction``
    without skipping.

    Args:
        priority: one number per request; smaller goes first.
        skip: keep walking past requests that do not fit.
        not_before: optional earliest admission time per request (a deliberate delay, e.g.
            the start planned by a relaxation); ``None`` means the arrival.
    """

    name = "priority-list"
    default_eviction = "clear-all"

    def __init__(
        self,
        priority: NDArray[np.float64],
        skip: bool,
        not_before: NDArray[np.float64] | None = None,
    ) -> None:
        super().__init__()
        self.priority = np.asarray(priority, dtype=np.float64)
        self.skip = bool(skip)
        self.not_before = None if not_before is None else np.asarray(not_before, np.float64)

    def schedule(self, view: StateView) -> Sequence[int]:
        """Admit by priority while the memory check holds."""
        waiting = view.waiting
        if self.not_before is not None:
            ready = waiting[self.not_before[waiting] <= view.time + 1e-9]
            if ready.size == 0 and view.n_running == 0:
                ready = waiting[self.not_before[waiting] == self.not_before[waiting].min()]
            waiting = ready
        order = waiting[np.lexsort((waiting, self.priority[waiting]))]
        check = view.admission_check()
        admitted: list[int] = []
        lengths = view.predicted_length(order).tolist()
        for request, length in zip(order.tolist(), lengths, strict=True):
            prompt = int(view.prompt[request])
            if check.fits(prompt, int(length)):
                check.add(prompt, int(length))
                admitted.append(request)
            elif not self.skip:
                break
        if not admitted and view.n_running == 0 and order.size:
            admitted.append(int(order[0]))
        return admitted


def mcsf_start(problem: HindsightProblem) -> NDArray[np.int64]:
    """MC-SF's start times on the problem's instance (exact predictions): the first schedule."""
    from agents import run_agent

    result = run_agent(problem.instance, "mcsf", memory=problem.memory, time_model="unit")
    return np.rint(result.start).astype(np.int64)


def run_priority(
    problem: HindsightProblem,
    priority: NDArray[np.float64],
    skip: bool,
    not_before: NDArray[np.float64] | None = None,
) -> tuple[int, NDArray[np.int64]] | None:
    """Total latency and start times of a priority-list schedule.

    Returns ``None`` if the simulator evicted anything (impossible under exact predictions;
    checked anyway).
    """
    result = simulate(
        problem.instance,
        PriorityList(priority, skip, not_before),
        memory=problem.memory,
        time_model="unit",
    )
    if result.metrics["evictions"]:
        return None
    start = np.rint(result.start).astype(np.int64)
    return problem.latency(start), start


def improve(
    problem: HindsightProblem,
    value: int,
    start: NDArray[np.int64],
    *,
    seconds: float,
    rng: np.random.Generator,
    target: int = 0,
    patience: int = 400,
) -> tuple[int, NDArray[np.int64], int]:
    """Local search over priority lists for a schedule better than ``(value, start)``.

    Starts from shortest-output-first (with and without skipping). A move changes the best
    list so far: perturb all priorities (log-normal noise), swap two requests, or delay one
    request past its current start (the optimum sometimes holds a long request back so that
    shorter, later arrivals can start at once, which no list schedule without delays does).
    Moves that do not make things worse are kept. Stops after ``seconds``, after ``patience``
    moves in a row without improvement, or on reaching ``target`` (a lower bound).

    Returns:
        ``(value, start, tries)`` of the best schedule found (possibly the one given).
    """
    began = time.perf_counter()
    n = problem.n
    output = problem.instance.output.astype(np.float64)
    best_value, best_start = value, start
    current = (output.copy(), False, problem.instance.arrival.astype(np.float64))
    tries = stale = 0
    queue = [(output.copy(), True, current[2].copy())]
    while time.perf_counter() - began < seconds and stale < patience and best_value > target:
        if queue:
            priority, skip, not_before = queue.pop()
        else:
            priority, skip, not_before = current[0].copy(), current[1], current[2].copy()
            move = rng.random()
            i = int(rng.integers(n))
            if move < 0.35:
                priority = priority * np.exp(rng.normal(0.0, float(rng.choice([0.05, 0.2])), n))
            elif move < 0.6:
                j = int(rng.integers(n))
                priority[i], priority[j] = priority[j], priority[i]
            elif move < 0.95:
                not_before[i] = best_start[i] + int(rng.integers(1, max(2, output[i]) + 1))
            else:
                skip = not skip
        tries += 1
        stale += 1
        found = run_priority(problem, priority, skip, not_before)
        if found is None or found[0] > best_value:
            continue
        if found[0] < best_value:
            stale = 0
        best_value, best_start = found
        current = (priority, skip, not_before)
    return best_value, best_start, tries
