"""What the hindsight solver returns: a schedule, its value, a proven bound and a status."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray


class Status(enum.Enum):
    """How much is proven about a result.

    ``OPTIMAL``: the value equals the proven lower bound (no schedule is better).
    ``FEASIBLE``: the schedule is feasible (replayed in the simulator) but the time limit
    ended the search with a gap between its value and the bound.
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"


@dataclass(frozen=True)
class HindsightResult:
    """The best schedule found for the hindsight program and what is proven about it.

    Attributes:
        value: total latency ``sum_i (c_i - a_i)`` of ``start``.
        bound: a proven lower bound on the optimal total latency (equal to ``value`` when
            ``status`` is ``OPTIMAL``).
        status: :class:`Status`.
        start: admission round of every request, in instance order; it replays exactly in
            ``simulate(instance, agents.Replay(start), memory=M, time_model="unit")`` when the
            instance's predictions are exact.
        solver: the integer-program backend (``"highs"``, ``"cpsat"``, or ``"none"`` when
            the relaxation alone proved the start schedule optimal).
        seconds: wall-clock time of the whole call.
        mcsf_value: total latency of MC-SF's schedule (the first upper bound).
        lp_bound: the lower bound from the strengthened relaxation alone.
        verified: whether ``start`` was replayed in the simulator and matched.
        stats: sizes and timings of the steps, for the record.
    """

    value: float
    bound: float
    status: Status
    start: NDArray[np.int64]
    solver: str
    seconds: float
    mcsf_value: float
    lp_bound: float
    verified: bool
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def proven_optimal(self) -> bool:
        """Whether ``value`` is proven optimal."""
        return self.status is Status.OPTIMAL

    @property
    def gap(self) -> float:
        """Relative gap ``(value - bound) / value`` (``0`` when proven optimal)."""
        if self.value <= 0:
            return 0.0
        return max(0.0, (self.value - self.bound) / self.value)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "value": self.value,
            "bound": self.bound,
            "status": self.status.value,
            "proven_optimal": self.proven_optimal,
            "gap": self.gap,
            "start": self.start.tolist(),
            "solver": self.solver,
            "seconds": self.seconds,
            "mcsf_value": self.mcsf_value,
            "lp_bound": self.lp_bound,
            "verified": self.verified,
            "stats": dict(self.stats),
        }

    def __repr__(self) -> str:
        return (
            f"HindsightResult(value={self.value:g}, bound={self.bound:g}, "
            f"status={self.status.name}, gap={self.gap:.2%}, solver={self.solver!r}, "
            f"seconds={self.seconds:.1f})"
        )


@dataclass(frozen=True)
class LowerBound:
    """A proven lower bound on the hindsight optimum's total latency (not a schedule).

    Attributes:
        bound: the bound (total latency, rounds).
        method: how it was obtained (``"lp"`` or ``"combinatorial"``).
        seconds: wall-clock time.
        parts: the individual bounds that were computed, by name.
    """

    bound: float
    method: str
    seconds: float
    parts: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "bound": self.bound,
            "method": self.method,
            "seconds": self.seconds,
            "parts": dict(self.parts),
        }
