"""An exact oracle for tiny unit-time instances: memoised branch and bound over round states.

At a round boundary ``t`` the future is fixed by two things: the memory ``F`` that the running
requests will hold at ``t+1, t+2, ...`` (their whole staircases are known once they start)
and the multiset ``R`` of requests not yet started, with arrivals counted from ``t``. Every
request waiting at a boundary adds one round to the total waiting ``sum_i (p_i - a_i)``, so

``g(F, R) = min over start sets S of arrived requests that fit on F
[ |arrived(R) - S| + g(shift(F + staircases(S)), R - S) ]``

with ``g(F, {}) = 0`` (the total latency is ``sum_i o_i + g``). Requests with the same
prompt and output that have both arrived are interchangeable, so ``R`` is a sorted tuple of
``(arrival - t, s, o)`` and states repeat; they are memoised. The search is depth first with
a budget (alpha pruning): a state whose lower bound exceeds the budget is cut, and the bound
it was cut with is remembered. Lower bounds on ``g``:

- earliest start alone: request ``i`` cannot start before the first ``e >= a_i`` at which its
  staircase alone fits on ``F``, so ``g >= sum_i (e_i - a_i)``;
- memory volume: request ``i`` needs ``w_i = s_i o_i + o_i (o_i + 1) / 2`` token-rounds in
  the times after its arrival and the cache has ``M - F(t)`` left at time ``t``. Completion
  times dominate those of a preemptive machine with that speed (SRPT minimises the number of
  unfinished jobs at every moment, so its sorted completion times are the smallest possible);
  ``g >= sum_i C_i^SRPT - sum_i (a_i + o_i)``, completion rounded up to the round.

Dominance (proof): when nothing runs and every remaining request has arrived, an empty round
is never optimal, since moving every later start one round earlier keeps the schedule feasible
(the same staircases, shifted; no arrival is crossed) and saves ``|R|`` rounds.

Meant for tests (10 to 12 requests), not for production sizes: the state space is exponential.
"""

from __future__ import annotations

import functools
import heapq
from collections import Counter
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from evaluation.hindsight.problem import HindsightProblem
from mcsf_gym.core.instance import Instance

Request = tuple[int, int, int]  # (arrival counted from now, prompt, output)
State = tuple[tuple[int, ...], tuple[Request, ...]]


class SearchLimitError(RuntimeError):
    """The oracle visited more states than its ``state_limit`` allowed."""


@dataclass(frozen=True)
class ExactResult:
    """The proven optimum of a tiny instance.

    Attributes:
        value: optimal total latency.
        start: admission round of every request in an optimal schedule, in instance order.
        states: states expanded by the search.
    """

    value: int
    start: NDArray[np.int64]
    states: int


class _Oracle:
    """The search over states ``(F, R)`` for one memory size."""

    def __init__(self, memory: int, state_limit: int) -> None:
        self.memory = memory
        self.state_limit = state_limit
        self.exact: dict[State, tuple[int, tuple[tuple[int, int], ...]]] = {}
        self.lower: dict[State, int] = {}
        self.states = 0
        self.earliest = functools.lru_cache(maxsize=None)(self._earliest)

    def _earliest(self, profile: tuple[int, ...], arrival: int, prompt: int, output: int) -> int:
        """The first start ``>= arrival`` at which ``(prompt, output)`` alone fits on profile."""
        begin = arrival
        while begin < len(profile):
            if all(
                self._held(profile, begin + k) + prompt + 1 + k <= self.memory
                for k in range(output)
            ):
                return begin
            begin += 1
        return begin

    @staticmethod
    def _held(profile: tuple[int, ...], slot: int) -> int:
        return profile[slot] if slot < len(profile) else 0

    def bound(self, profile: tuple[int, ...], remaining: tuple[Request, ...]) -> int:
        """The larger of the earliest-start and memory-volume bounds on ``g(F, R)``."""
        alone = sum(self.earliest(profile, a, s, o) - a for a, s, o in remaining)
        return max(alone, self._volume(profile, remaining))

    def _volume(self, profile: tuple[int, ...], remaining: tuple[Request, ...]) -> int:
        """``sum C^SRPT - sum (a + o)`` on the machine of speed ``M - F`` (module docstring)."""
        jobs = sorted((a, s * o + o * (o + 1) // 2) for a, s, o in remaining)
        heap: list[int] = []
        total = 0
        slot = k = 0
        while k < len(jobs) or heap:
            while k < len(jobs) and jobs[k][0] <= slot:
                heapq.heappush(heap, jobs[k][1])
                k += 1
            if not heap:
                slot = jobs[k][0]
                continue
            capacity = self.memory - self._held(profile, slot)
            while heap and capacity > 0:
                work = heapq.heappop(heap)
                if work <= capacity:
                    capacity -= work
                    total += slot + 1
                else:
                    heapq.heappush(heap, work - capacity)
                    capacity = 0
            slot += 1
        return max(0, total - sum(a + o for a, _, o in remaining))

    def choices(
        self, profile: tuple[int, ...], arrived: list[tuple[int, int]], forced: bool
    ) -> list[tuple[tuple[int, int], ...]]:
        """Every multiset of arrived ``(s, o)`` whose staircases fit together on ``profile``.

        Largest sets first (good schedules early, so the budget tightens quickly).
        """
        kinds = sorted(Counter(arrived).items())
        found: list[tuple[tuple[int, int], ...]] = []

        def extend(index: int, load: list[int], chosen: list[tuple[int, int]]) -> None:
            if index == len(kinds):
                if chosen or not forced:
                    found.append(tuple(chosen))
                return
            (prompt, output), available = kinds[index]
            extend(index + 1, load, chosen)
            current, taken = load, 0
            for _ in range(available):
                current = _add(current, prompt, output)
                if max(current) > self.memory:
                    break
                chosen.append((prompt, output))
                taken += 1
                extend(index + 1, current, chosen)
            del chosen[len(chosen) - taken :]

        extend(0, list(profile), [])
        found.sort(key=len, reverse=True)
        return found

    def solve(self, profile: tuple[int, ...], remaining: tuple[Request, ...], budget: int) -> int:
        """``g(F, R)`` if it is at most ``budget``, else a lower bound above ``budget``."""
        if not remaining:
            return 0
        key = (profile, remaining)
        if key in self.exact:
            return self.exact[key][0]
        lower = max(self.lower.get(key, 0), self.bound(profile, remaining))
        if lower > budget:
            return lower
        self.states += 1
        if self.states > self.state_limit:
            raise SearchLimitError(f"more than {self.state_limit} states")
        arrived = [(s, o) for a, s, o in remaining if a == 0]
        if not arrived:  # nothing to decide until the next arrival
            step = max(1, min(a for a, _, _ in remaining) if not profile else 1)
            value = self.solve(profile[step:], _advance(remaining, (), step), budget)
            if value <= budget:
                self.exact[key] = (value, ())
            else:
                self.lower[key] = value
            return value
        forced = not profile and len(arrived) == len(remaining)
        best, best_choice = None, None
        for chosen in self.choices(profile, arrived, forced):
            waiting = len(arrived) - len(chosen)
            limit = budget if best is None else min(budget, best - 1)
            if waiting > limit:
                continue
            load = list(profile)
            for prompt, output in chosen:
                load = _add(load, prompt, output)
            value = waiting + self.solve(
                _trim(tuple(load[1:])), _advance(remaining, chosen, 1), limit - waiting
            )
            if best is None or value < best:
                best, best_choice = value, chosen
        if best is None:  # every choice waits more than the budget allows
            best = budget + 1
        if best_choice is not None and best <= budget:
            self.exact[key] = (best, best_choice)
            return best
        best = max(best, lower)
        self.lower[key] = best
        return best


def _add(load: list[int], prompt: int, output: int) -> list[int]:
    """``load`` plus the staircase of a request started now (it holds ``s + k`` at slot k-1)."""
    result = load + [0] * max(0, output - len(load))
    for k in range(output):
        result[k] += prompt + 1 + k
    return result


def _trim(profile: tuple[int, ...]) -> tuple[int, ...]:
    end = len(profile)
    while end and profile[end - 1] == 0:
        end -= 1
    return profile[:end]


def _advance(
    remaining: tuple[Request, ...], chosen: tuple[tuple[int, int], ...], step: int
) -> tuple[Request, ...]:
    """``R`` without the started ``chosen`` (arrived ones), ``step`` rounds later."""
    left = Counter(chosen)
    kept = []
    for a, s, o in remaining:
        if a == 0 and left[(s, o)] > 0:
            left[(s, o)] -= 1
            continue
        kept.append((max(0, a - step), s, o))
    return tuple(sorted(kept))


def exact_optimum(
    instance: Instance, memory: int | str, *, state_limit: int = 2_000_000
) -> ExactResult:
    """The proven hindsight optimum (docs/model.md section 6) of a tiny unit-time instance.

    Args:
        instance: the requests (integer arrivals; predictions are ignored).
        memory: KV-cache capacity ``M`` (or a preset name).
        state_limit: the most states to expand before giving up.

    Returns:
        An :class:`ExactResult` with the optimal total latency and a schedule achieving it.

    Raises:
        ValueError: for a bad instance or memory, naming the field and value.
        SearchLimitError: when the search needs more than ``state_limit`` states.

    Example:
        >>> from mcsf_gym import Instance
        >>> exact_optimum(Instance([0, 0], [2, 2], [3, 2]), memory=7).value
        6
    """
    problem = HindsightProblem.from_instance(instance, memory)
    inst = problem.instance
    arrival = inst.arrival.astype(np.int64)
    oracle = _Oracle(problem.memory, state_limit)
    first = int(arrival.min())
    remaining = tuple(
        sorted(
            (int(a) - first, int(s), int(o))
            for a, s, o in zip(arrival, inst.prompt, inst.output, strict=True)
        )
    )
    waiting = oracle.solve((), remaining, budget=_serial_waiting(arrival, inst.output))
    start = _replay(oracle, remaining, arrival, inst.prompt, inst.output, first)
    return ExactResult(value=int(waiting + problem.total_output), start=start, states=oracle.states)


def _serial_waiting(arrival: NDArray[np.int64], output: NDArray[np.int64]) -> int:
    """Total waiting of one request at a time in arrival order (always feasible)."""
    free = waiting = 0
    for k in np.argsort(arrival, kind="stable").tolist():
        begin = max(int(arrival[k]), free)
        waiting += begin - int(arrival[k])
        free = begin + int(output[k])
    return waiting


def _replay(
    oracle: _Oracle,
    remaining: tuple[Request, ...],
    arrival: NDArray[np.int64],
    prompt: NDArray[np.int64],
    output: NDArray[np.int64],
    first: int,
) -> NDArray[np.int64]:
    """Per-request start times along the memoised optimal decisions."""
    start = np.full(arrival.size, -1, dtype=np.int64)
    profile: tuple[int, ...] = ()
    now = first
    while remaining:
        _, chosen = oracle.exact[(profile, remaining)]
        if not chosen and not any(a == 0 for a, _, _ in remaining):
            step = max(1, min(a for a, _, _ in remaining) if not profile else 1)
        else:
            step = 1
        load = list(profile)
        for s, o in chosen:
            load = _add(load, s, o)
            candidates = np.flatnonzero(
                (start < 0) & (arrival <= now) & (prompt == s) & (output == o)
            )
            start[candidates[0]] = now
        profile = _trim(tuple(load[step:]))
        remaining = _advance(remaining, chosen, step)
        now += step
    return start
