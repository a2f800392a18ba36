"""The hindsight problem's data: validated input and identical requests merged into groups.

Requests with the same arrival, prompt and output are interchangeable in the integer program
of docs/model.md section 6 (swapping two of them changes nothing), so the models work with one
integer count per group and start time instead of one binary per request. That removes the
symmetry between identical requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.config import resolve_memory
from mcsf_gym.core.instance import Instance


@dataclass(frozen=True)
class HindsightProblem:
    """An instance and a memory, validated for the unit-time hindsight program, with groups.

    Build it with :meth:`from_instance`. Arrays are indexed by group; groups are sorted by
    (arrival, prompt, output).

    Attributes:
        instance: the requests with exact predictions (the hindsight view knows every output).
        memory: KV-cache capacity ``M``.
        arrival: arrival round of each group.
        prompt: prompt size of each group.
        output: output length of each group.
        count: number of requests in each group.
        members: request ids of each group, ascending.
        group_of: the group of every request, in instance order.
    """

    instance: Instance
    memory: int
    arrival: NDArray[np.int64]
    prompt: NDArray[np.int64]
    output: NDArray[np.int64]
    count: NDArray[np.int64]
    members: tuple[NDArray[np.int64], ...]
    group_of: NDArray[np.int64]

    @classmethod
    def from_instance(cls, instance: Instance, memory: int | str) -> HindsightProblem:
        """Validate ``instance`` and ``memory`` and merge identical requests.

        Raises:
            ValueError: naming the field and value when ``instance`` is not an
                :class:`~mcsf_gym.core.instance.Instance`, ``memory`` is not an integer >= 2
                (or a preset name), an arrival is not an integer round (the unit time model
                needs integers) or a request needs more than ``memory`` tokens.
        """
        if not isinstance(instance, Instance):
            raise ValueError(f"instance must be an Instance, got {type(instance).__name__}")
        capacity = resolve_memory(memory)
        instance.check_integer_arrivals()
        instance.check_memory(capacity)
        exact = instance.with_predictions(None)
        arrival = exact.arrival.astype(np.int64)
        keys = np.stack([arrival, exact.prompt, exact.output], axis=1)
        unique, group_of, count = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        group_of = group_of.reshape(-1).astype(np.int64)
        order = np.argsort(group_of, kind="stable")
        members = tuple(np.split(order, np.cumsum(count)[:-1]))
        return cls(
            instance=exact,
            memory=capacity,
            arrival=unique[:, 0].copy(),
            prompt=unique[:, 1].copy(),
            output=unique[:, 2].copy(),
            count=count.astype(np.int64),
            members=members,
            group_of=group_of,
        )

    @property
    def n(self) -> int:
        """Number of requests."""
        return self.instance.n

    @property
    def n_groups(self) -> int:
        """Number of groups of identical requests."""
        return int(self.count.size)

    @property
    def min_prompt(self) -> int:
        """The smallest prompt size ``sigma`` (every request holds at least ``sigma + 1``)."""
        return int(self.prompt.min())

    @property
    def total_output(self) -> int:
        """``sum_i o_i``: the total latency of a schedule without any waiting."""
        return int((self.output * self.count).sum())

    def latency(self, start: NDArray[np.int64]) -> int:
        """Total latency ``sum_i (p_i + o_i - a_i)`` of per-request start times."""
        inst = self.instance
        return int((np.asarray(start) + inst.output - inst.arrival.astype(np.int64)).sum())

    def group_counts(self, start: NDArray[np.int64]) -> dict[tuple[int, int], int]:
        """Per-request start times as ``{(group, start): number of requests}``."""
        counts: dict[tuple[int, int], int] = {}
        for group, begin in zip(self.group_of.tolist(), np.asarray(start).tolist(), strict=True):
            key = (group, int(begin))
            counts[key] = counts.get(key, 0) + 1
        return counts

    def starts_from_counts(
        self, groups: NDArray[np.int64], starts: NDArray[np.int64], counts: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Per-request start times from group counts.

        The members of a group take their group's start times in ascending order.

        Raises:
            ValueError: if the counts of a group do not add up to its size.
        """
        result = np.full(self.n, -1, dtype=np.int64)
        for group in range(self.n_groups):
            mask = (groups == group) & (counts > 0)
            times = np.repeat(starts[mask], counts[mask])
            if times.size != self.count[group]:
                raise ValueError(
                    f"group {group} has {self.count[group]} requests but the solution starts "
                    f"{times.size}"
                )
            result[self.members[group]] = np.sort(times)
        return result


def check_time_limit(time_limit: float) -> float:
    """``time_limit`` as a positive finite float, or a ``ValueError`` naming it."""
    if isinstance(time_limit, bool) or not isinstance(
        time_limit, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    if not math.isfinite(time_limit) or time_limit <= 0:
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    return float(time_limit)


def check_levels(levels: int) -> int:
    """``levels`` (head inequalities ``r = 1..levels``) as an integer >= 0, or a ``ValueError``."""
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 0:
        raise ValueError(f"levels must be an integer >= 0, got {levels!r}")
    return int(levels)


def round_up_bound(value: float) -> float:
    """Round a bound on an integer objective up, forgiving floating-point noise."""
    return float(math.ceil(value - 1e-6))


def check_threads(threads: int) -> int:
    """``threads`` as an integer >= 1, or a ``ValueError`` naming it."""
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    return int(threads)
