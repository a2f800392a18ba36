"""The compiled environment step: engine rounds, boundary, masks and observations in one loop.

This module is the body of the ``backend="compiled"`` environment (:mod:`mcsf_gym.env.native`).
It carries out, for a batch of instances held in flat arrays, exactly what the Python path does
with :class:`~mcsf_gym.core.engine.Engine` (rounds, memory, time, eviction, arrivals),
:class:`~mcsf_gym.env.boundary.Boundary` with its
:class:`~mcsf_gym.core.lookahead.AdmissionCheck` (window order, pending admissions, MC-SF's
look-ahead check), the action types and :class:`~mcsf_gym.env.observations.FeatureEncoder`,
in the same order of floating-point operations, so that observations, rewards, masks and
results are bit for bit those of the Python path. The Python path is the rule:
``tests/test_env_native.py`` steps both side by side on random episodes and compares every
output. Everything here is plain Python and numpy that numba compiles (``njit``, cached on
disk); the functions also run uncompiled, only slowly.

Layout (``e`` is the instance, ``C`` the request capacity, ``P`` the profile capacity):

- ``ints[e, field, i]`` per-request integers (the ``I_*`` fields), ``floats[e, field, i]``
  per-request floats (``F_*``), ``lists[e, list, k]`` id lists (``L_*``): the waiting set
  (unordered), the running set (admission order), the boundary's queue (window order) and the
  pending admissions (in the order chosen);
- ``memory[e, 0]`` the predicted-memory profile of the running set (circular, plus the
  boundary, as :class:`~mcsf_gym.core.lookahead.MemoryProfile` keeps it), ``memory[e, 1]``
  the boundary check's profile with the pending requests added, ``memory[e, 2]`` its prefix
  maximum of ``m[h] + h + 1``;
- ``scalars[e, S_*]`` integer state, ``reals[e, R_*]`` float state;
- ``config_i[C_*]`` and ``config_f[G_*]`` the settings shared by every instance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: The array types of the kernel's arguments.
Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

try:
    from numba import njit as _njit
except ImportError:  # the compiled backend then refuses to start (mcsf_gym.env.native)
    _njit = None


def _jit(function: Callable[..., Any]) -> Callable[..., Any]:
    """``numba.njit`` (cached on disk, no GIL) when numba is installed, else the function."""
    if _njit is None:
        return function
    return _njit(cache=True, nogil=True)(function)


# Per-request integer fields.
I_PROMPT, I_OUTPUT, I_PREDICTION, I_CLIPPED, I_LENGTH, I_STATUS = 0, 1, 2, 3, 4, 5
I_START, I_STARTED, I_EVICTED, I_WAIT_POS = 6, 7, 8, 9
N_INT_FIELDS = 10
# Per-request float fields.
F_ARRIVAL, F_START_TIME, F_FINISH, F_FIRST_TOKEN, F_LOG_PROMPT = 0, 1, 2, 3, 4
N_FLOAT_FIELDS = 5
# Id lists.
L_WAITING, L_RUNNING, L_QUEUE, L_PENDING = 0, 1, 2, 3
N_LISTS = 4
# Profile rows.
P_PROFILE, P_CHECK, P_PREFIX = 0, 1, 2
# Integer state.
S_N, S_MEMORY, S_ROUND, S_ARRIVED, S_FINISHED, S_IN_USE, S_MAX_END = 0, 1, 2, 3, 4, 5, 6
S_RUNNING_START, S_N_WAITING, S_N_RUNNING, S_N_QUEUE, S_N_PENDING = 7, 8, 9, 10, 11
S_PENDING_TOKENS, S_PROFILE_SIZE, S_CHECK_SIZE, S_CHECK_PEAK, S_CHECK_FEASIBLE = 12, 13, 14, 15, 16
S_PREFIX_SIZE, S_EVICTIONS, S_DISCARDED, S_PEAK_MEMORY, S_STEPS, S_INVALID = 17, 18, 19, 20, 21, 22
S_STEP_LIMIT = 23  # -1: never truncated
S_LINEAR = 24  # 1: the linear time model (coefficients in the R_* fields), 0: unit time
S_NEXT_EVENT = 25  # no running request finishes or reaches its predicted end before this round
N_SCALARS = 26
#: "No event ahead" (later than any round).
NO_EVENT = 2**62
# Float state, and the episode's time model.
R_TIME, R_LAST, R_MEMORY_SUM, R_NEXT_ARRIVAL, R_CAP, R_IDLE = 0, 1, 2, 3, 4, 5
R_BASE, R_PER_REQUEST, R_PER_CONTEXT, R_PER_PREFILL = 6, 7, 8, 9
N_REALS = 10
# Integer settings.
C_WINDOW, C_BY_PREDICTION, C_MASKING, C_ALLOW_IDLE, C_EVICTION, C_BINS, C_PRIORITY = range(7)
N_CONFIG_I = 7
# Float settings.
G_TIME_SCALE, G_REWARD_SCALE = 0, 1
N_CONFIG_F = 2
# Masking rules and eviction policies.
MASK_LOOKAHEAD, MASK_NEXT_ROUND, MASK_NONE = 0, 1, 2
EVICT_CLEAR_ALL, EVICT_NEWEST_FIRST = 0, 1
# Request status (as mcsf_gym.core.view).
FUTURE, WAITING, RUNNING, DONE = 0, 1, 2, 3
# Rows of a step's outputs: reals, integers and flags, one column per instance.
O_LATENCY, O_REWARD, O_TIME = 0, 1, 2
O_ROUNDS, O_INVALID_TOTAL = 0, 1
O_INVALID, O_TERMINATED, O_TRUNCATED = 0, 1, 2
N_GLOBAL, N_SLOT = 8, 6


# ------------------------------------------------------------------------ memory profile
@_jit
def _profile_apply(
    memory: Ints, scalars: Ints, e: int, prompt: int, start: int, begin: int, end: int, sign: int
) -> None:
    """``MemoryProfile._apply``: add ``sign (prompt + T - start)`` at each ``T`` in (begin, end]."""
    size = scalars[e, S_PROFILE_SIZE]
    for boundary in range(begin + 1, end + 1):
        memory[e, P_PROFILE, boundary % size] += sign * (prompt + boundary - start)


@_jit
def _profile_forget(memory: Ints, scalars: Ints, e: int, boundary: int) -> None:
    """``MemoryProfile.forget``: a passed boundary's slot now stands for ``boundary + size``."""
    size = scalars[e, S_PROFILE_SIZE]
    memory[e, P_PROFILE, boundary % size] = boundary + size


# ------------------------------------------------------------------------ the engine
@_jit
def _arrive_until(
    ints: Ints, floats: Floats, lists: Ints, scalars: Ints, reals: Floats, e: int, time: float
) -> float:
    """``Engine._arrive_until``: requests arrived by ``time`` wait; their latency until then."""
    n = scalars[e, S_N]
    last = scalars[e, S_ARRIVED]
    first = last
    accrued = 0.0
    while last < n and floats[e, F_ARRIVAL, last] <= time:
        accrued += time - floats[e, F_ARRIVAL, last]
        last += 1
    if last > first:
        for request in range(first, last):
            _enqueue(ints, lists, scalars, e, request)
        scalars[e, S_ARRIVED] = last
        reals[e, R_NEXT_ARRIVAL] = floats[e, F_ARRIVAL, last] if last < n else math.inf
    return accrued


@_jit
def _enqueue(ints: Ints, lists: Ints, scalars: Ints, e: int, request: int) -> None:
    """``request`` becomes waiting (added to the unordered waiting set)."""
    ints[e, I_STATUS, request] = WAITING
    position = scalars[e, S_N_WAITING]
    lists[e, L_WAITING, position] = request
    ints[e, I_WAIT_POS, request] = position
    scalars[e, S_N_WAITING] = position + 1


@_jit
def _unqueue(ints: Ints, lists: Ints, scalars: Ints, e: int, request: int) -> None:
    """Waiting ``request`` leaves the waiting set (its status is set by the caller)."""
    position = ints[e, I_WAIT_POS, request]
    last = scalars[e, S_N_WAITING] - 1
    moved = lists[e, L_WAITING, last]
    lists[e, L_WAITING, position] = moved
    ints[e, I_WAIT_POS, moved] = position
    ints[e, I_WAIT_POS, request] = -1
    scalars[e, S_N_WAITING] = last


@_jit
def _skip_idle_gap(
    ints: Ints, floats: Floats, lists: Ints, scalars: Ints, reals: Floats, e: int
) -> None:
    """``Engine._skip_idle_gap``: with nothing running or waiting, jump to the next arrival."""
    present = scalars[e, S_ARRIVED] - scalars[e, S_FINISHED]
    if scalars[e, S_N_RUNNING] or scalars[e, S_FINISHED] == scalars[e, S_N] or present > 0:
        return
    reals[e, R_TIME] = max(reals[e, R_TIME], floats[e, F_ARRIVAL, scalars[e, S_ARRIVED]])
    _arrive_until(ints, floats, lists, scalars, reals, e, reals[e, R_TIME])


@_jit
def _idle(ints: Ints, floats: Floats, lists: Ints, scalars: Ints, reals: Floats, e: int) -> float:
    """``Engine._idle``: wait until the next arrival or for one empty round; the latency."""
    now = reals[e, R_TIME]
    until = now + reals[e, R_IDLE]
    if scalars[e, S_ARRIVED] < scalars[e, S_N]:
        until = min(until, floats[e, F_ARRIVAL, scalars[e, S_ARRIVED]])
    duration = until - now
    latency = (scalars[e, S_ARRIVED] - scalars[e, S_FINISHED]) * duration
    reals[e, R_TIME] = until
    reals[e, R_LAST] = duration
    latency += _arrive_until(ints, floats, lists, scalars, reals, e, until)
    _skip_idle_gap(ints, floats, lists, scalars, reals, e)
    return latency


@_jit
def _leave(ints: Ints, memory: Ints, scalars: Ints, e: int, request: int) -> None:
    """``Engine._leave`` without the running list (the caller compacts it)."""
    start = ints[e, I_START, request]
    prompt = ints[e, I_PROMPT, request]
    now = scalars[e, S_ROUND]
    _profile_apply(memory, scalars, e, prompt, start, now, start + ints[e, I_LENGTH, request], -1)
    scalars[e, S_RUNNING_START] -= start
    scalars[e, S_IN_USE] -= prompt + now - start
    ints[e, I_START, request] = -1


@_jit
def _compact_running(ints: Ints, lists: Ints, scalars: Ints, e: int) -> None:
    """Drop the requests that are no longer running from the running list (order kept)."""
    kept = 0
    for k in range(scalars[e, S_N_RUNNING]):
        request = lists[e, L_RUNNING, k]
        if ints[e, I_STATUS, request] == RUNNING:
            lists[e, L_RUNNING, kept] = request
            kept += 1
    scalars[e, S_N_RUNNING] = kept
    if kept == 0:
        scalars[e, S_MAX_END] = scalars[e, S_ROUND]


@_jit
def _evict_for(
    ints: Ints, lists: Ints, memory: Ints, scalars: Ints, config_i: Ints, e: int, need: int
) -> int:
    """``Engine._evict_for``: evict by the policy until the round fits; the new need."""
    n_running = scalars[e, S_N_RUNNING]
    now = scalars[e, S_ROUND]
    first = 0  # clear-all: every running request
    if config_i[C_EVICTION] == EVICT_NEWEST_FIRST:
        excess = need - scalars[e, S_MEMORY]
        freed = 0
        first = n_running
        while first > 0 and freed < excess:
            first -= 1
            request = lists[e, L_RUNNING, first]
            freed += ints[e, I_PROMPT, request] + now + 1 - ints[e, I_START, request]
    if first == n_running:
        return need
    for k in range(first, n_running):
        request = lists[e, L_RUNNING, k]
        produced = now - ints[e, I_START, request]
        need -= ints[e, I_PROMPT, request] + produced + 1
        _leave(ints, memory, scalars, e, request)
        ints[e, I_EVICTED, request] += 1
        scalars[e, S_EVICTIONS] += 1
        scalars[e, S_DISCARDED] += produced
        ints[e, I_STATUS, request] = WAITING  # requeued below, after the list is compacted
    victims_first = first
    victims = lists[e, L_QUEUE]  # the queue is rebuilt at the next boundary: scratch space
    count = 0
    for k in range(victims_first, n_running):
        victims[count] = lists[e, L_RUNNING, k]
        count += 1
    _compact_running(ints, lists, scalars, e)
    for k in range(count):
        _enqueue(ints, lists, scalars, e, victims[k])
    return need


@_jit
def _start(
    ints: Ints,
    floats: Floats,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    reals: Floats,
    e: int,
    request: int,
) -> None:
    """``Engine._start``: waiting ``request`` starts running in the coming round."""
    now = scalars[e, S_ROUND]
    _unqueue(ints, lists, scalars, e, request)
    ints[e, I_STATUS, request] = RUNNING
    ints[e, I_START, request] = now
    position = scalars[e, S_N_RUNNING]
    lists[e, L_RUNNING, position] = request
    scalars[e, S_N_RUNNING] = position + 1
    scalars[e, S_RUNNING_START] += now
    floats[e, F_START_TIME, request] = reals[e, R_TIME]
    length = max(ints[e, I_CLIPPED, request], ints[e, I_LENGTH, request])
    ints[e, I_LENGTH, request] = length
    end = now + length
    _profile_apply(memory, scalars, e, ints[e, I_PROMPT, request], now, now, end, 1)
    scalars[e, S_MAX_END] = max(scalars[e, S_MAX_END], end)
    finish = now + ints[e, I_OUTPUT, request]
    scalars[e, S_NEXT_EVENT] = min(scalars[e, S_NEXT_EVENT], finish, end if end > now else finish)


@_jit
def _finish_and_extend(
    ints: Ints,
    floats: Floats,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    e: int,
    boundary: int,
    end_time: float,
) -> None:
    """``Engine._finish_round`` then ``Engine._extend_overruns`` at ``boundary``.

    Only at rounds where some running request finishes or reaches its predicted end (the
    engine's ``_finishing`` and ``_predicted_end`` lists); :data:`S_NEXT_EVENT` is the next
    such round (a lower bound: evictions only remove events).
    """
    if boundary < scalars[e, S_NEXT_EVENT]:
        return
    finished = 0
    for k in range(scalars[e, S_N_RUNNING]):
        request = lists[e, L_RUNNING, k]
        if ints[e, I_START, request] + ints[e, I_OUTPUT, request] == boundary:
            _leave(ints, memory, scalars, e, request)
            ints[e, I_STATUS, request] = DONE
            scalars[e, S_FINISHED] += 1
            floats[e, F_FINISH, request] = end_time
            finished += 1
    if finished:
        _compact_running(ints, lists, scalars, e)
    for k in range(scalars[e, S_N_RUNNING]):
        request = lists[e, L_RUNNING, k]
        start = ints[e, I_START, request]
        if start + ints[e, I_LENGTH, request] == boundary:
            ints[e, I_LENGTH, request] += 1
            _profile_apply(
                memory, scalars, e, ints[e, I_PROMPT, request], start, boundary, boundary + 1, 1
            )
            scalars[e, S_MAX_END] = max(scalars[e, S_MAX_END], boundary + 1)
    following = NO_EVENT
    for k in range(scalars[e, S_N_RUNNING]):
        request = lists[e, L_RUNNING, k]
        start = ints[e, I_START, request]
        finish = start + ints[e, I_OUTPUT, request]
        end = start + ints[e, I_LENGTH, request]
        following = min(following, finish, end if end > boundary else finish)
    scalars[e, S_NEXT_EVENT] = following


@_jit
def _run_round(
    ints: Ints,
    floats: Floats,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    reals: Floats,
    config_i: Ints,
    config_f: Floats,
    e: int,
) -> tuple[float, bool]:
    """``Engine.run_round`` with the pending requests; returns ``(latency, ran)``."""
    n_admit = scalars[e, S_N_PENDING]
    n_running = scalars[e, S_N_RUNNING]
    if n_running == 0 and n_admit == 0:
        return _idle(ints, floats, lists, scalars, reals, e), False
    pending = lists[e, L_PENDING]
    capacity = scalars[e, S_MEMORY]
    prefill = 0
    for k in range(n_admit):
        prefill += ints[e, I_PROMPT, pending[k]]
    need = scalars[e, S_IN_USE] + n_running + prefill + n_admit
    if need > capacity:
        need = _evict_for(ints, lists, memory, scalars, config_i, e, need)
        n_running = scalars[e, S_N_RUNNING]
        while need > capacity and n_admit > 0:
            n_admit -= 1
            prompt = ints[e, I_PROMPT, pending[n_admit]]
            need -= prompt + 1
            prefill -= prompt
        if n_running == 0 and n_admit == 0:
            return 0.0, False  # everything was evicted: decide again at the same boundary
    now = scalars[e, S_ROUND]
    decoded = n_running * now - scalars[e, S_RUNNING_START]
    duration = 1.0
    if scalars[e, S_LINEAR]:
        duration = (
            reals[e, R_BASE]
            + reals[e, R_PER_REQUEST] * (n_running + n_admit)
            + reals[e, R_PER_CONTEXT] * decoded
            + reals[e, R_PER_PREFILL] * prefill
        ) / 1000.0
    end_time = reals[e, R_TIME] + duration
    for k in range(n_admit):
        request = pending[k]
        _start(ints, floats, lists, memory, scalars, reals, e, request)
        if not ints[e, I_STARTED, request]:
            ints[e, I_STARTED, request] = 1
            floats[e, F_FIRST_TOKEN, request] = end_time
    latency = (scalars[e, S_ARRIVED] - scalars[e, S_FINISHED]) * duration
    next_round = now + 1
    reals[e, R_TIME] = end_time
    reals[e, R_LAST] = duration
    scalars[e, S_ROUND] = next_round
    scalars[e, S_IN_USE] = need
    if need > scalars[e, S_PEAK_MEMORY]:
        scalars[e, S_PEAK_MEMORY] = need
    reals[e, R_MEMORY_SUM] += need
    _finish_and_extend(ints, floats, lists, memory, scalars, e, next_round, end_time)
    _profile_forget(memory, scalars, e, next_round)
    if reals[e, R_NEXT_ARRIVAL] <= end_time:
        latency += _arrive_until(ints, floats, lists, scalars, reals, e, end_time)
    if scalars[e, S_N_RUNNING] == 0:
        _skip_idle_gap(ints, floats, lists, scalars, reals, e)
    return latency, True


@_jit
def _run_to_decision(
    ints: Ints,
    floats: Floats,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    reals: Floats,
    config_i: Ints,
    config_f: Floats,
    e: int,
) -> tuple[float, int]:
    """``stepping.run_to_decision``: run rounds until some request waits.

    The round with the pending requests, then every round in which nobody waits; returns
    ``(latency, rounds)``.
    """
    latency, ran = _run_round(ints, floats, lists, memory, scalars, reals, config_i, config_f, e)
    rounds = 1 if ran else 0
    scalars[e, S_N_PENDING] = 0
    while (
        scalars[e, S_FINISHED] != scalars[e, S_N]
        and scalars[e, S_ARRIVED] - scalars[e, S_FINISHED] == scalars[e, S_N_RUNNING]
    ):
        more, ran = _run_round(ints, floats, lists, memory, scalars, reals, config_i, config_f, e)
        latency += more
        rounds += 1 if ran else 0
    return latency, rounds


# ------------------------------------------------------------------------ the boundary
@_jit
def _open(
    ints: Ints, lists: Ints, memory: Ints, scalars: Ints, reals: Floats, config_i: Ints, e: int
) -> None:
    """``Boundary.open``: the queue in window order, nothing pending, a fresh check."""
    n_waiting = scalars[e, S_N_WAITING]
    queue = lists[e, L_QUEUE]
    waiting = lists[e, L_WAITING]
    if config_i[C_BY_PREDICTION]:
        # Stable by prediction with ties by id: one sort of prediction * n + id.
        n = scalars[e, S_N]
        for k in range(n_waiting):
            request = waiting[k]
            queue[k] = ints[e, I_PREDICTION, request] * n + request
        queue[:n_waiting].sort()
        for k in range(n_waiting):
            queue[k] = queue[k] % n
    else:
        queue[:n_waiting] = np.sort(waiting[:n_waiting])
    scalars[e, S_N_QUEUE] = n_waiting
    scalars[e, S_N_PENDING] = 0
    scalars[e, S_PENDING_TOKENS] = 0
    # StateView.admission_check: the profile's window (none when nothing runs).
    length = 0
    if scalars[e, S_N_RUNNING]:
        now = scalars[e, S_ROUND]
        size = scalars[e, S_PROFILE_SIZE]
        length = min(max(0, scalars[e, S_MAX_END] - now), size - 1)
        for h in range(1, length + 1):
            memory[e, P_CHECK, h - 1] = memory[e, P_PROFILE, (now + h) % size] - now - h
    peak = 0
    for h in range(length):
        if h == 0 or memory[e, P_CHECK, h] > peak:
            peak = memory[e, P_CHECK, h]
    scalars[e, S_CHECK_SIZE] = length
    scalars[e, S_CHECK_PEAK] = peak
    scalars[e, S_CHECK_FEASIBLE] = 1 if length == 0 or peak <= reals[e, R_CAP] else 0
    scalars[e, S_PREFIX_SIZE] = 0


@_jit
def _check_top(memory: Ints, scalars: Ints, e: int, prediction: int) -> int:
    """``AdmissionCheck.fits_many``'s prefix maximum for one prediction ``p``.

    ``max over h < p of m[h] + h + 1``.
    """
    size = scalars[e, S_CHECK_SIZE]
    need = min(prediction, size)
    known = scalars[e, S_PREFIX_SIZE]
    if known < need:
        top = memory[e, P_PREFIX, known - 1] if known else 0
        for h in range(known, need):
            value = memory[e, P_CHECK, h] + h + 1
            if h == 0 or value > top:
                top = value
            memory[e, P_PREFIX, h] = top
        scalars[e, S_PREFIX_SIZE] = need
    top = memory[e, P_PREFIX, need - 1] if need >= 1 else 0
    if prediction > size:
        top = max(top, prediction)
    return top


@_jit
def _fits_lookahead(
    ints: Ints, memory: Ints, scalars: Ints, reals: Floats, e: int, request: int
) -> bool:
    """``AdmissionCheck.fits`` of a waiting request (with the pending requests added)."""
    if not scalars[e, S_CHECK_FEASIBLE]:
        return False
    prediction = ints[e, I_LENGTH, request]
    if prediction <= 0:
        return True
    return (
        _check_top(memory, scalars, e, prediction) + ints[e, I_PROMPT, request] <= reals[e, R_CAP]
    )


@_jit
def _next_round_tokens(scalars: Ints, e: int) -> int:
    """``Boundary.next_round_tokens``: running and pending tokens after the coming round."""
    return scalars[e, S_IN_USE] + scalars[e, S_N_RUNNING] + scalars[e, S_PENDING_TOKENS]


@_jit
def _is_valid(
    ints: Ints, memory: Ints, scalars: Ints, reals: Floats, config_i: Ints, e: int, request: int
) -> bool:
    """``Boundary.is_valid``: whether the masking rule allows admitting ``request`` now."""
    masking = config_i[C_MASKING]
    if masking == MASK_NONE or (scalars[e, S_N_PENDING] == 0 and scalars[e, S_N_RUNNING] == 0):
        return True
    if masking == MASK_LOOKAHEAD:
        return _fits_lookahead(ints, memory, scalars, reals, e, request)
    return _next_round_tokens(scalars, e) + ints[e, I_PROMPT, request] + 1 <= scalars[e, S_MEMORY]


@_jit
def _must_admit(scalars: Ints, config_i: Ints, e: int) -> bool:
    """``Boundary.must_admit``: closing admission now would idle the worker while one waits."""
    return (
        not config_i[C_ALLOW_IDLE]
        and scalars[e, S_N_PENDING] == 0
        and scalars[e, S_N_RUNNING] == 0
        and scalars[e, S_N_QUEUE] > 0
    )


@_jit
def _admit(
    ints: Ints, lists: Ints, memory: Ints, scalars: Ints, reals: Floats, e: int, slot: int
) -> None:
    """``Boundary.admit`` of the request in queue position ``slot``."""
    queue = lists[e, L_QUEUE]
    request = queue[slot]
    n_queue = scalars[e, S_N_QUEUE]
    for k in range(slot, n_queue - 1):
        queue[k] = queue[k + 1]
    scalars[e, S_N_QUEUE] = n_queue - 1
    prompt = ints[e, I_PROMPT, request]
    position = scalars[e, S_N_PENDING]
    lists[e, L_PENDING, position] = request
    scalars[e, S_N_PENDING] = position + 1
    scalars[e, S_PENDING_TOKENS] += prompt + 1
    # AdmissionCheck.add
    prediction = ints[e, I_LENGTH, request]
    if prediction <= 0:
        return
    size = scalars[e, S_CHECK_SIZE]
    if prediction > size:
        memory[e, P_CHECK, size:prediction] = 0
        scalars[e, S_CHECK_SIZE] = prediction
    top = 0
    for h in range(prediction):
        value = memory[e, P_CHECK, h] + prompt + h + 1
        memory[e, P_CHECK, h] = value
        if h == 0 or value > top:
            top = value
    if top > reals[e, R_CAP]:
        scalars[e, S_CHECK_FEASIBLE] = 0
    if top > scalars[e, S_CHECK_PEAK]:
        scalars[e, S_CHECK_PEAK] = top
    scalars[e, S_PREFIX_SIZE] = 0


# ------------------------------------------------------------------------ actions
@_jit
def _apply_admit(
    ints: Ints,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    reals: Floats,
    config_i: Ints,
    e: int,
    slot: int,
) -> tuple[bool, bool]:
    """``AdmitAction.apply``; returns ``(advance, invalid)``."""
    window = config_i[C_WINDOW]
    shown = min(scalars[e, S_N_QUEUE], window)
    if 0 <= slot < shown and _is_valid(
        ints, memory, scalars, reals, config_i, e, lists[e, L_QUEUE, slot]
    ):
        _admit(ints, lists, memory, scalars, reals, e, slot)
        return False, False
    if _must_admit(scalars, config_i, e):
        _admit(ints, lists, memory, scalars, reals, e, 0)
        return False, True
    return True, slot != window


@_jit
def _apply_priority(
    ints: Ints,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    reals: Floats,
    config_i: Ints,
    e: int,
    scores: Floats,
) -> tuple[bool, bool]:
    """``PriorityAction.apply``: admit by descending score while allowed (always advances)."""
    shown = min(scalars[e, S_N_QUEUE], config_i[C_WINDOW])
    window = lists[e, L_QUEUE, :shown].copy()
    chosen = np.empty(shown, dtype=np.int64)
    count = 0
    for slot in range(shown):
        if scores[slot] >= 0:
            chosen[count] = slot
            count += 1
    # Descending score, ties by slot (a stable insertion sort: the window is small).
    for k in range(1, count):
        slot = chosen[k]
        j = k
        while j > 0 and scores[chosen[j - 1]] < scores[slot]:
            chosen[j] = chosen[j - 1]
            j -= 1
        chosen[j] = slot
    for k in range(count):
        request = window[chosen[k]]
        if not _is_valid(ints, memory, scalars, reals, config_i, e, request):
            break
        _admit(ints, lists, memory, scalars, reals, e, _queue_position(lists, scalars, e, request))
    if _must_admit(scalars, config_i, e):
        # np.argmax of the scores with NaN as -inf: the first of the best.
        best, best_value = 0, -math.inf
        for slot in range(shown):
            value = scores[slot] if scores[slot] == scores[slot] else -math.inf
            if slot == 0 or value > best_value:
                best, best_value = slot, value
        _admit(ints, lists, memory, scalars, reals, e, best)
    return True, False


@_jit
def _queue_position(lists: Ints, scalars: Ints, e: int, request: int) -> int:
    """Where ``request`` stands in the boundary's queue."""
    for k in range(scalars[e, S_N_QUEUE]):
        if lists[e, L_QUEUE, k] == request:
            return k
    return -1


# ------------------------------------------------------------------------ observation, masks
@_jit
def _observe(
    ints: Ints,
    floats: Floats,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    reals: Floats,
    config_i: Ints,
    config_f: Floats,
    e: int,
    out: NDArray[Any],
    summary: bool,
    scratch: Ints,
) -> None:
    """``FeatureEncoder.values`` into ``out`` (float32).

    The running-set summary changes only between boundaries: with ``summary`` false (an
    admission step) the one already in ``out`` is kept. ``scratch`` holds ``2 B`` integers.
    """
    window = config_i[C_WINDOW]
    capacity = scalars[e, S_MEMORY]
    scale = config_f[G_TIME_SCALE]
    base = reals[e, R_IDLE]
    now = reals[e, R_TIME]
    n_running = scalars[e, S_N_RUNNING]
    n_waiting = scalars[e, S_N_QUEUE]
    n_pending = scalars[e, S_N_PENDING]
    next_round = _next_round_tokens(scalars, e)
    elapsed = max(0.0, now - floats[e, F_ARRIVAL, 0]) / base
    last = reals[e, R_LAST] / base
    out[0] = scalars[e, S_IN_USE] / capacity
    out[1] = min(1.0, next_round / capacity)
    out[2] = min(1.0, scalars[e, S_CHECK_PEAK] / capacity)
    out[3] = n_waiting / (n_waiting + window)
    out[4] = n_pending / (n_pending + window)
    out[5] = n_running / (n_running + window)
    out[6] = elapsed / (elapsed + scale)
    out[7] = last / (last + 1.0)
    log_memory = math.log1p(capacity)
    limit = capacity - next_round - 1
    shown = min(n_waiting, window)
    index = N_GLOBAL
    for slot in range(shown):
        request = lists[e, L_QUEUE, slot]
        prompt = ints[e, I_PROMPT, request]
        waited = (now - floats[e, F_ARRIVAL, request]) / base
        out[index] = 1.0
        out[index + 1] = floats[e, F_LOG_PROMPT, request]
        out[index + 2] = math.log1p(ints[e, I_LENGTH, request]) / log_memory
        out[index + 3] = waited / (waited + scale)
        out[index + 4] = 1.0 if _fits_lookahead(ints, memory, scalars, reals, e, request) else 0.0
        out[index + 5] = 1.0 if prompt <= limit else 0.0
        index += N_SLOT
    out[index : N_GLOBAL + N_SLOT * window] = 0.0
    bins = config_i[C_BINS]
    if not summary:
        return
    counts = out[N_GLOBAL + N_SLOT * window : N_GLOBAL + N_SLOT * window + bins]
    held = out[N_GLOBAL + N_SLOT * window + bins : N_GLOBAL + N_SLOT * window + 2 * bins]
    counts[:] = 0.0
    held[:] = 0.0
    if n_running:
        # Integer sums (exact, as the Python path's float sums of integers are).
        count = scratch[:bins]
        tokens = scratch[bins : 2 * bins]
        count[:] = 0
        tokens[:] = 0
        now_round = scalars[e, S_ROUND]
        for k in range(n_running):
            request = lists[e, L_RUNNING, k]
            produced = now_round - ints[e, I_START, request]
            left = max(ints[e, I_LENGTH, request] - produced, 1)
            level = 0
            while left > 1:
                left >>= 1
                level += 1
            level = min(level, bins - 1)
            count[level] += 1
            tokens[level] += ints[e, I_PROMPT, request] + produced
        share = 1.0 / n_running
        for b in range(bins):
            counts[b] = count[b] * share
            held[b] = min(1.0, tokens[b] / capacity)


@_jit
def _masks(
    ints: Ints,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    reals: Floats,
    config_i: Ints,
    e: int,
    out: NDArray[Any],
) -> None:
    """``ActionType.masks``: the slot masks, then "advance" in admit mode."""
    window = config_i[C_WINDOW]
    shown = min(scalars[e, S_N_QUEUE], window)
    out[:] = False
    masking = config_i[C_MASKING]
    free = masking == MASK_NONE or (scalars[e, S_N_PENDING] == 0 and scalars[e, S_N_RUNNING] == 0)
    limit = scalars[e, S_MEMORY] - _next_round_tokens(scalars, e) - 1
    for slot in range(shown):
        request = lists[e, L_QUEUE, slot]
        if free:
            out[slot] = True
        elif masking == MASK_LOOKAHEAD:
            out[slot] = _fits_lookahead(ints, memory, scalars, reals, e, request)
        else:
            out[slot] = ints[e, I_PROMPT, request] <= limit
    if not config_i[C_PRIORITY]:
        out[window] = not _must_admit(scalars, config_i, e)


@_jit
def _show(
    ints: Ints,
    floats: Floats,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    reals: Floats,
    config_i: Ints,
    config_f: Floats,
    e: int,
    observations: NDArray[np.float32],
    masks: Bools,
    summary: bool,
    scratch: Ints,
) -> None:
    """Instance ``e``'s observation and mask of the current state (see :func:`_observe`)."""
    _observe(
        ints,
        floats,
        lists,
        memory,
        scalars,
        reals,
        config_i,
        config_f,
        e,
        observations[e],
        summary,
        scratch,
    )
    _masks(ints, lists, memory, scalars, reals, config_i, e, masks[e])


# ------------------------------------------------------------------------ entry points
@_jit
def start_episode(
    ints: Ints,
    floats: Floats,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    reals: Floats,
    config_i: Ints,
    config_f: Floats,
    e: int,
    observations: NDArray[np.float32],
    masks: Bools,
) -> None:
    """Set up instance ``e`` as ``Engine.__init__`` then ``Boundary.__init__`` do; observe it.

    Written before: the requests' prompt, output, prediction, clipped prediction and arrival,
    and ``S_N``, ``S_MEMORY``, ``S_PROFILE_SIZE``, ``S_STEP_LIMIT``, ``S_LINEAR``, ``R_CAP``,
    ``R_IDLE`` and the linear coefficients.
    """
    n = scalars[e, S_N]
    ints[e, I_LENGTH, :n] = ints[e, I_CLIPPED, :n]
    ints[e, I_STATUS, :n] = FUTURE
    ints[e, I_START, :n] = -1
    ints[e, I_STARTED, :n] = 0
    ints[e, I_EVICTED, :n] = 0
    ints[e, I_WAIT_POS, :n] = -1
    floats[e, F_START_TIME, :n] = np.nan
    floats[e, F_FINISH, :n] = np.nan
    floats[e, F_FIRST_TOKEN, :n] = np.nan
    log_memory = math.log1p(scalars[e, S_MEMORY])
    for request in range(n):
        floats[e, F_LOG_PROMPT, request] = math.log1p(ints[e, I_PROMPT, request]) / log_memory
    size = scalars[e, S_PROFILE_SIZE]
    for slot in range(size):
        memory[e, P_PROFILE, slot] = slot
    memory[e, P_PROFILE, 0] = size
    for field in (S_ROUND, S_ARRIVED, S_FINISHED, S_IN_USE, S_MAX_END, S_RUNNING_START):
        scalars[e, field] = 0
    for field in (S_N_WAITING, S_N_RUNNING, S_N_QUEUE, S_N_PENDING, S_PENDING_TOKENS):
        scalars[e, field] = 0
    for field in (S_EVICTIONS, S_DISCARDED, S_PEAK_MEMORY, S_STEPS, S_INVALID):
        scalars[e, field] = 0
    scalars[e, S_NEXT_EVENT] = NO_EVENT
    reals[e, R_TIME] = 0.0
    reals[e, R_LAST] = 0.0
    reals[e, R_MEMORY_SUM] = 0.0
    reals[e, R_NEXT_ARRIVAL] = floats[e, F_ARRIVAL, 0]
    _arrive_until(ints, floats, lists, scalars, reals, e, 0.0)
    _skip_idle_gap(ints, floats, lists, scalars, reals, e)
    _open(ints, lists, memory, scalars, reals, config_i, e)
    scratch = np.zeros(2 * config_i[C_BINS], dtype=np.int64)
    _show(
        ints,
        floats,
        lists,
        memory,
        scalars,
        reals,
        config_i,
        config_f,
        e,
        observations,
        masks,
        True,
        scratch,
    )


@_jit
def step_batch(
    ints: Ints,
    floats: Floats,
    lists: Ints,
    memory: Ints,
    scalars: Ints,
    reals: Floats,
    config_i: Ints,
    config_f: Floats,
    active: Bools,
    slots: Ints,
    scores: Floats,
    observations: NDArray[np.float32],
    masks: Bools,
    outputs: tuple[Floats, Ints, Bools],
) -> int:
    """One step of every ``active`` instance; returns how many episodes ended.

    Instance ``e`` takes ``slots[e]`` (admit mode) or ``scores[e]`` (priority mode); an episode
    ends when it terminates or is truncated.

    Writes each stepped instance's new observation and mask, and its step's outputs into the
    ``outputs`` arrays (rows ``O_*`` of three arrays: reals, integers, flags): zeros for the
    instances not stepped, except their invalid-action count and time, the current ones.
    """
    step_reals, step_ints, step_flags = outputs
    latency, reward, times = step_reals[O_LATENCY], step_reals[O_REWARD], step_reals[O_TIME]
    rounds_run, invalid_total = step_ints[O_ROUNDS], step_ints[O_INVALID_TOTAL]
    invalid_step = step_flags[O_INVALID]
    terminations, truncations = step_flags[O_TERMINATED], step_flags[O_TRUNCATED]
    priority = config_i[C_PRIORITY]
    scale = config_f[G_REWARD_SCALE]
    scratch = np.zeros(2 * config_i[C_BINS], dtype=np.int64)
    ended = 0
    for e in range(active.size):
        latency[e] = 0.0
        reward[e] = 0.0
        rounds_run[e] = 0
        invalid_step[e] = False
        terminations[e] = False
        truncations[e] = False
        if not active[e]:
            invalid_total[e] = scalars[e, S_INVALID]
            times[e] = reals[e, R_TIME]
            continue
        if priority:
            advance, invalid = _apply_priority(
                ints, lists, memory, scalars, reals, config_i, e, scores[e]
            )
        else:
            advance, invalid = _apply_admit(
                ints, lists, memory, scalars, reals, config_i, e, slots[e]
            )
        accrued, rounds = 0.0, 0
        if advance:
            accrued, rounds = _run_to_decision(
                ints, floats, lists, memory, scalars, reals, config_i, config_f, e
            )
            _open(ints, lists, memory, scalars, reals, config_i, e)
        scalars[e, S_STEPS] += 1
        if invalid:
            scalars[e, S_INVALID] += 1
        terminated = scalars[e, S_FINISHED] == scalars[e, S_N]
        limit = scalars[e, S_STEP_LIMIT]
        truncated = not terminated and 0 <= limit <= scalars[e, S_STEPS]
        latency[e] = accrued
        reward[e] = -accrued / scale
        rounds_run[e] = rounds
        invalid_step[e] = invalid
        terminations[e] = terminated
        truncations[e] = truncated
        invalid_total[e] = scalars[e, S_INVALID]
        times[e] = reals[e, R_TIME]
        if terminated or truncated:
            ended += 1
        _show(
            ints,
            floats,
            lists,
            memory,
            scalars,
            reals,
            config_i,
            config_f,
            e,
            observations,
            masks,
            advance,
            scratch,
        )
    return ended
