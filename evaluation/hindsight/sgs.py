"""Serial schedule generation and simulated annealing over it: the compiled kernels.

A *serial schedule* takes the requests in list order and starts each at the earliest round
``p >= release_i`` at which its whole memory staircase (``s_i + k`` tokens at time ``p + k``,
``k = 1..o_i``; docs/model.md section 2) fits under the staircases already placed. This is not a
walk of the clock: a later request in the list may start before an earlier one. Every
feasible schedule is the serial schedule of its own start order with ``release = start``, so
lists with release times cover all schedules; lists alone do not (issue 14's counterexample:
``M = 13``, ``s = 2``, outputs 3, 4, 9, 11 at 0 has optimum 39, every list gives at least 40).

The annealing searches over (list, release times): swap or move two list entries of different
output lengths (swapping identical requests changes nothing), or move one release time
(back to the arrival, or to a round around the request's current start); the temperature
falls linearly to 0. Objective: total waiting ``sum_i (p_i - a_i)`` (the total latency minus
the constant ``sum_i o_i``).

The kernels are compiled with numba (``njit``, cached on disk) when it is installed, which
makes them about 360 times faster than the interpreted fallback (the same functions, run by
Python; measured in docs/hindsight.md). numba ships wheels for the supported CPython
versions and is in the ``solvers`` extra.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

F = TypeVar("F", bound=Callable[..., Any])

try:
    from numba import njit as _njit

    COMPILED = True
except ImportError:  # the interpreted fallback: same code, slow
    COMPILED = False


def _kernel(function: F) -> F:
    """``function`` compiled by numba (cached) when numba is available, else as it is."""
    if COMPILED:
        return _njit(cache=True, nogil=True)(function)  # type: ignore[no-any-return]
    return function


@_kernel
def place(
    order: NDArray[np.int64],
    release: NDArray[np.int64],
    prompt: NDArray[np.int64],
    output: NDArray[np.int64],
    memory: int,
    profile: NDArray[np.int64],
    start: NDArray[np.int64],
) -> None:
    """The serial schedule of ``order``: fills ``start`` (and ``profile``, memory per time).

    ``profile`` must have room for every time up to ``max(release) + sum(output) + 1``.
    """
    profile[:] = 0
    for index in range(order.size):
        request = order[index]
        height = prompt[request] + 1
        length = output[request]
        begin = release[request]
        while True:
            fits = True
            for k in range(length - 1, -1, -1):
                if profile[begin + 1 + k] + height + k > memory:
                    fits = False
                    break
            if fits:
                break
            begin += 1
        for k in range(length):
            profile[begin + 1 + k] += height + k
        start[request] = begin


@_kernel
def anneal(
    arrival: NDArray[np.int64],
    prompt: NDArray[np.int64],
    output: NDArray[np.int64],
    memory: int,
    order: NDArray[np.int64],
    release: NDArray[np.int64],
    iterations: int,
    temperature: float,
    delay_share: float,
    seed: int,
) -> tuple[int, NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Simulated annealing over (list, release times) from ``(order, release)``.

    Returns:
        ``(waiting, order, release, start)`` of the best serial schedule met.
    """
    np.random.seed(seed)
    n = order.size
    horizon = arrival.max() + output.sum() + 2
    profile = np.zeros(2 * horizon + output.max() + 2, dtype=np.int64)
    start = np.empty(n, dtype=np.int64)
    order = order.copy()
    release = np.minimum(np.maximum(release, arrival), arrival + horizon)
    place(order, release, prompt, output, memory, profile, start)
    current = int((start - arrival).sum())
    best = current
    best_order, best_release, best_start = order.copy(), release.copy(), start.copy()
    trial_order = order.copy()
    trial_release = release.copy()
    trial_start = start.copy()
    for step in range(iterations):
        heat = temperature * (1.0 - step / iterations)
        trial_order[:] = order
        trial_release[:] = release
        if np.random.random() < delay_share:
            request = np.random.randint(n)
            if np.random.random() < 0.3:
                trial_release[request] = arrival[request]
            else:
                shift = np.random.randint(-2, 4)
                trial_release[request] = min(
                    max(start[request] + shift, arrival[request]), arrival[request] + horizon
                )
            if trial_release[request] == release[request]:
                continue
        else:
            i = np.random.randint(n)
            j = np.random.randint(n)
            if output[order[i]] == output[order[j]]:
                continue
            if np.random.random() < 0.5:
                trial_order[i], trial_order[j] = order[j], order[i]
            else:  # move the entry at i to position j
                moved = order[i]
                if i < j:
                    trial_order[i:j] = order[i + 1 : j + 1]
                else:
                    trial_order[j + 1 : i + 1] = order[j:i]
                trial_order[j] = moved
        place(trial_order, trial_release, prompt, output, memory, profile, trial_start)
        value = int((trial_start - arrival).sum())
        delta = value - current
        if delta <= 0 or (heat > 0 and np.random.random() < np.exp(-delta / heat)):
            order[:] = trial_order
            release[:] = trial_release
            start[:] = trial_start
            current = value
            if value < best:
                best = value
                best_order[:] = order
                best_release[:] = release
                best_start[:] = start
    return best, best_order, best_release, best_start


@_kernel
def polish(
    arrival: NDArray[np.int64],
    prompt: NDArray[np.int64],
    output: NDArray[np.int64],
    memory: int,
    order: NDArray[np.int64],
    release: NDArray[np.int64],
    reach: int,
) -> tuple[int, NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Descent over single release times: each to ``start + d``, ``-reach <= d <= reach``.

    Repeats until no single change improves. Returns the best ``(waiting, order, release,
    start)``.
    """
    n = order.size
    horizon = arrival.max() + output.sum() + 2
    profile = np.zeros(2 * horizon + output.max() + 2, dtype=np.int64)
    start = np.empty(n, dtype=np.int64)
    trial_start = np.empty(n, dtype=np.int64)
    release = np.minimum(np.maximum(release, arrival), arrival + horizon)
    place(order, release, prompt, output, memory, profile, start)
    best = int((start - arrival).sum())
    improved = True
    while improved:
        improved = False
        for request in range(n):
            kept = release[request]
            for shift in range(-reach, reach + 1):
                candidate = min(
                    max(start[request] + shift, arrival[request]), arrival[request] + horizon
                )
                if candidate == kept:
                    continue
                release[request] = candidate
                place(order, release, prompt, output, memory, profile, trial_start)
                value = int((trial_start - arrival).sum())
                if value < best:
                    best = value
                    kept = candidate
                    start[:] = trial_start
                    improved = True
            release[request] = kept
    return best, order, release, start
