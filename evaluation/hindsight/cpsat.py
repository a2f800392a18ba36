"""The hindsight optimum of MODEL.md section 6: a time-indexed integer program in CP-SAT.

Engineering (each valid for the optimum, none changes its value):

- Horizons from a feasible schedule: MC-SF's total latency ``UB`` bounds the optimum, so every
  request waits at most ``UB - sum(o)`` rounds; start times outside that window are dropped.
- Aggregation: identical requests (same arrival, prompt and output) are interchangeable, so one
  integer variable per (group, start time) counts how many of them start then.
- A warm start: MC-SF's schedule is given to the solver as a hint.
- Memory is checked at every round boundary of the horizon (MODEL.md section 2: request ``i``
  admitted at boundary ``p`` holds ``s_i + T - p`` tokens at every boundary ``T`` in
  ``(p, p + o_i]``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.instance import Instance


class SolveStatus(Enum):
    """What a solve established."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"


@dataclass(frozen=True)
class HindsightResult:
    """The answer of :func:`hindsight_optimum`.

    Attributes:
        value: total latency of the best schedule found (an upper bound on the optimum).
        bound: the best proven lower bound on the optimum (``value`` when proven optimal).
        status: :class:`SolveStatus` (``OPTIMAL`` only when proven).
        start: start round of every request, in instance order (replays in ``simulate``).
        solve_time: wall time of the solve in seconds.
        upper_bound_source: ``"solver"`` or ``"mcsf"`` (the warm start was not improved on).
    """

    value: float
    bound: float
    status: SolveStatus
    start: NDArray[np.int64] = field(repr=False)
    solve_time: float
    upper_bound_source: str = "solver"

    @property
    def proven_optimal(self) -> bool:
        """Whether ``value`` is proven to be the optimum."""
        return self.status is SolveStatus.OPTIMAL

    @property
    def gap(self) -> float:
        """Relative gap ``(value - bound) / value`` (0 when proven optimal)."""
        return 0.0 if self.proven_optimal else (self.value - self.bound) / self.value


def _check_inputs(instance: Instance, memory: int, time_limit: float, threads: int) -> None:
    if not isinstance(memory, (int, np.integer)) or isinstance(memory, bool) or memory <= 0:
        raise ValueError(f"memory must be a positive integer number of tokens, got {memory!r}")
    if not time_limit > 0:
        raise ValueError(f"time_limit must be > 0 seconds, got {time_limit!r}")
    if not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    instance.check_memory(int(memory))
    instance.check_integer_arrivals()


def _mcsf_start(instance: Instance, memory: int) -> NDArray[np.int64]:
    from agents import run_agent

    exact = Instance(instance.arrival, instance.prompt, instance.output)
    result = run_agent(exact, "mcsf", memory=memory, time_model="unit")
    return np.asarray(np.rint(result.start), dtype=np.int64)


def hindsight_optimum(
    instance: Instance,
    memory: int,
    time_limit: float = 60.0,
    threads: int = 1,
) -> HindsightResult:
    """Solve the hindsight integer program of MODEL.md section 6 (unit time).

    Args:
        instance: the requests (integer arrivals; predictions are ignored: the optimum knows
            every output length).
        memory: KV-cache capacity ``M`` in tokens.
        time_limit: solver wall-time limit in seconds.
        threads: solver worker threads.

    Returns:
        A :class:`HindsightResult`: the best schedule, its value, the best bound and whether the
        value is proven optimal.

    Raises:
        ValueError: for a bad ``memory``, ``time_limit`` or ``threads``, a request that does
            not fit in ``memory``, or non-integer arrivals.
    """
    from ortools.sat.python import cp_model

    _check_inputs(instance, memory, time_limit, threads)
    clock = time.perf_counter()
    arrival = np.asarray(instance.arrival, dtype=np.int64)
    prompt = np.asarray(instance.prompt, dtype=np.int64)
    output = np.asarray(instance.output, dtype=np.int64)
    hint = _mcsf_start(instance, int(memory))
    upper = int((hint + output - arrival).sum())
    slack = upper - int(output.sum())

    groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for i, key in enumerate(zip(arrival.tolist(), prompt.tolist(), output.tolist(), strict=True)):
        groups[key].append(i)

    model = cp_model.CpModel()
    variables: dict[tuple[int, int, int], dict[int, cp_model.IntVar]] = {}
    load: dict[int, list[tuple[int, cp_model.IntVar, int]]] = defaultdict(list)
    objective = []
    for key, members in groups.items():
        a, s, o = key
        count = len(members)
        starts = {}
        hinted = np.bincount(hint[members] - a, minlength=slack + 1)
        for p in range(a, a + slack + 1):
            var = model.new_int_var(0, count, f"y_{a}_{s}_{o}_{p}")
            starts[p] = var
            model.add_hint(var, int(hinted[p - a]))
            objective.append((p + o - a) * var)
            for boundary in range(p + 1, p + o + 1):
                load[boundary].append((s + boundary - p, var, count))
        model.add(sum(starts.values()) == count)
        variables[key] = starts
    for terms in load.values():
        if sum(coef * count for coef, _, count in terms) > memory:
            model.add(sum(coef * var for coef, var, _ in terms) <= int(memory))
    model.minimize(sum(objective))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(threads)
    code = solver.solve(model)
    elapsed = time.perf_counter() - clock
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # The hint is feasible, so this only happens when the limit hit before any solution.
        bound = float(max(int(output.sum()), 0))
        return HindsightResult(float(upper), bound, SolveStatus.FEASIBLE, hint, elapsed, "mcsf")
    start = np.empty(instance.n, dtype=np.int64)
    for key, members in groups.items():
        times = [p for p, var in variables[key].items() for _ in range(solver.value(var))]
        start[members] = sorted(times)
    value = float((start + output - arrival).sum())
    proven = code == cp_model.OPTIMAL
    # Every request spends at least its output length in the system: a bound that always holds.
    trivial = float(output.sum())
    bound = value if proven else max(trivial, float(np.ceil(solver.best_objective_bound - 1e-6)))
    status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    return HindsightResult(value, min(bound, value), status, start, elapsed)
