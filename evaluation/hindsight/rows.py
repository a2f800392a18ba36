"""The rows of the time-indexed program: memory at every round and the head inequalities.

A column ``(g, p)`` counts requests of group ``g`` admitted for the round that starts at
``p`` (docs/model.md section 6). Such a request is active at the times ``t = p+1 .. p+o`` and
holds ``s + t - p`` tokens at time ``t``; constraint (3) of docs/model.md section 2 bounds the sum
by ``M`` at every ``t``.

Head inequalities (valid for every schedule, derived here; they make the relaxation much
stronger because memory only peaks at completion times). Let ``sigma`` be the smallest
prompt and, for a level ``r >= 1`` and a request ``i``,
``g_i(r) = max(0, floor((M - s_i - o_i) / r) - sigma)`` and ``h_i(r) = o_i - g_i(r)``.
Call the first ``h_i(r)`` rounds of ``i``'s life, the times ``p_i < t <= p_i + h_i(r)``, its
``r``-head. Claim: at every time at most ``r`` requests are in their ``r``-heads.
Proof: suppose ``r + 1`` are, at time ``t``, and let ``i`` be the first of them to complete.
The other ``r`` started before ``t`` and complete at or after ``C_i``, so they are active at
``C_i`` with age at least ``C_i - t + 1 >= g_i(r) + 1`` (``t`` is in ``i``'s head, so
``C_i - t >= g_i(r)``): each holds at least ``sigma + g_i(r) + 1`` tokens. With ``i``'s own
``s_i + o_i`` the memory at ``C_i`` is at least
``s_i + o_i + r (sigma + g_i(r) + 1) > s_i + o_i + r ((M - s_i - o_i) / r) = M``,
a contradiction. For ``r = 1`` this says the big requests form a one-machine schedule: the
next one may only start ``g_i(1)`` rounds before the current one completes. Heads of length
``0`` add nothing and are skipped.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from evaluation.hindsight.problem import HindsightProblem


def head_lengths(problem: HindsightProblem, max_level: int) -> tuple[list[int], NDArray[np.int64]]:
    """The levels ``r <= max_level`` whose heads are not all empty, and ``h_g(r)`` for each.

    Returns one row per kept level and one column per group.
    """
    free = problem.memory - problem.prompt - problem.output  # M - s - o >= 0
    levels, rows = [], []
    for level in range(1, max_level + 1):
        slack = np.maximum(0, free // level - problem.min_prompt)
        head = np.maximum(0, problem.output - slack)
        if head.any():
            levels.append(level)
            rows.append(head)
    if not rows:
        return [], np.zeros((0, problem.n_groups), dtype=np.int64)
    return levels, np.stack(rows).astype(np.int64)


def column_entries(
    problem: HindsightProblem,
    heads: NDArray[np.int64],
    group: NDArray[np.int64],
    start: NDArray[np.int64],
    first: int,
    last: int,
) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float64]]:
    """Column-wise (CSC) entries of columns ``(group[k], start[k])`` in rows ``first..last``.

    Rows are laid out in blocks of ``T = last - first + 1``: block 0 is memory, block ``b``
    (``1 <= b <= len(heads)``) the ``b``-th head row; row ``b * T + (t - first)`` is time
    ``t``. Entries outside ``first..last`` are left out (a relaxation when the window cuts a
    column short).

    Returns:
        ``(starts, indices, values)`` with ``len(starts) == len(group)`` (HiGHS's layout).
    """
    group = np.asarray(group, dtype=np.int64)
    start = np.asarray(start, dtype=np.int64)
    span = last - first + 1
    pieces_index, pieces_value, pieces_column = [], [], []
    lengths = [problem.output[group], *(head[group] for head in heads)]
    weights = [problem.prompt[group], *(None for _ in heads)]
    for block, (length, weight) in enumerate(zip(lengths, weights, strict=True)):
        total = int(length.sum())
        if total == 0:
            continue
        column = np.repeat(np.arange(group.size), length)
        offset = np.arange(total) - np.repeat(np.cumsum(length) - length, length)  # 0..len-1
        time = np.repeat(start, length) + 1 + offset
        if weight is None:
            value = np.ones(total)
        else:
            value = (np.repeat(weight, length) + 1 + offset).astype(np.float64)
        keep = (time >= first) & (time <= last)
        pieces_index.append(block * span + time[keep] - first)
        pieces_value.append(value[keep])
        pieces_column.append(column[keep])
    if not pieces_index:
        return np.zeros(group.size, np.int32), np.zeros(0, np.int32), np.zeros(0)
    column = np.concatenate(pieces_column)
    order = np.argsort(column, kind="stable")
    index = np.concatenate(pieces_index)[order]
    value = np.concatenate(pieces_value)[order]
    counts = np.bincount(column, minlength=group.size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return starts.astype(np.int32), index.astype(np.int32), value
