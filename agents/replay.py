"""Replay: admit each request at a given start time (to run a precomputed schedule)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from agents.base import Agent
from mcsf_gym.core.view import StateView


class Replay(Agent):
    """Admits request ``i`` at the round boundary whose time equals ``start[i]``.

    Rule: at every boundary, take the waiting requests whose start time is at most the
    boundary's time plus a float tolerance, in (start, id) order, and admit each one that
    passes MC-SF's look-ahead memory check with the predictions (docs/model.md section 5); if
    nothing runs and none passes, admit the first anyway. Under exact predictions a feasible
    schedule passes the check at every boundary (requests admitted later only add memory), so
    a schedule whose start times are boundaries the engine reaches (integers under ``unit``
    time; exact boundary times of an earlier run under ``linear``) replays exactly: the
    result's ``start`` equals ``start`` and nothing is evicted. An infeasible schedule, or a
    start that was missed (not a boundary, not yet arrived), is repaired by admitting later,
    so a replay always ends; callers compare ``result.start`` and
    ``result.metrics["evictions"]`` with the target to tell an exact replay from a repaired one.

    Source: the hindsight optimum's schedule (docs/model.md section 6), replayed in the simulator.
    Not registered by name (it needs an array); build it directly.

    Args:
        start: start time of every request, in instance order (rounds for ``unit``, seconds
            for ``linear``).
        tolerance: absolute slack when comparing a start with a boundary's time; the relative
            slack ``1e-9 * |time|`` is added to it.
    """

    name = "replay"
    default_eviction = "clear-all"

    def __init__(self, start: ArrayLike, tolerance: float = 1e-9) -> None:
        super().__init__()
        times = np.array(start, dtype=np.float64)
        if times.ndim != 1 or times.size == 0:
            raise ValueError(f"replay start must be a non-empty 1-D array, got shape {times.shape}")
        bad = ~np.isfinite(times)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"replay start[{i}] = {times[i]} is not a finite number")
        if not tolerance >= 0:
            raise ValueError(f"replay tolerance must be >= 0, got {tolerance}")
        times.flags.writeable = False
        self.start = times
        self.tolerance = float(tolerance)

    def schedule(self, view: StateView) -> list[int]:
        """Admit the waiting requests whose start time has come."""
        if view.prompt.size != self.start.size:
            raise ValueError(
                f"replay has {self.start.size} start times but the instance has "
                f"{view.prompt.size} requests"
            )
        now = view.time
        waiting = view.waiting
        due = waiting[self.start[waiting] <= now + self.tolerance + 1e-9 * abs(now)]
        due = due[np.lexsort((due, self.start[due]))]
        check = view.admission_check()
        admitted: list[int] = []
        for request, length in zip(due.tolist(), view.predicted_length(due), strict=True):
            prompt = int(view.prompt[request])
            if check.fits(prompt, int(length)):
                check.add(prompt, int(length))
                admitted.append(request)
        if not admitted and view.n_running == 0 and due.size:
            admitted.append(int(due[0]))
        return admitted

    def __repr__(self) -> str:
        return f"Replay(n={self.start.size})"
