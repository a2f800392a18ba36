"""The integer program over a set of columns, in a solver-neutral sparse form.

Variables ``z_k`` count the requests of group ``group[k]`` admitted at ``start[k]`` (integer,
``0 <= z_k <= count``); the objective is the total waiting ``sum_k (start_k - a_g) z_k``
(the total latency is that plus ``sum_i o_i``). Rows, all exact (nothing truncated):

- memory (docs/model.md section 2, constraint (3)) at every time a column is active, ``<= M``;
- the head inequalities of :mod:`evaluation.hindsight.rows` (valid cuts), ``<= r``;
- symmetry breaking between groups with the same prompt and output but different arrivals:
  swapping the start times of two such requests changes neither memory nor latency when the
  earlier arrival takes the earlier start, so some optimal schedule starts them in arrival
  order. For consecutive groups ``g`` (earlier) and ``h`` of one shape, with ``Z_x(t)`` the
  number started by ``t``: ``count_g Z_h(t) - count_h Z_g(t) <= 0``;
- one convexity row per group, ``= count``.

Rows that no assignment within the bounds can violate are dropped.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from evaluation.hindsight.problem import HindsightProblem
from evaluation.hindsight.rows import column_entries, head_lengths


@dataclass(frozen=True)
class IntegerProgram:
    """A minimisation ``min cost.z  s.t.  lower <= A z <= upper, 0 <= z <= bound, z integer``.

    ``A`` is stored column-wise (CSC): column ``k`` has entries
    ``index[col_start[k]:col_start[k+1]]`` with values ``value[...]``.

    Attributes:
        group: group of each column.
        start: start time of each column.
        cost: waiting cost of each column.
        bound: upper bound of each variable (its group's size).
        col_start: CSC column pointers (length ``columns + 1``).
        index: CSC row indices.
        value: CSC values (integers stored as floats).
        lower: row lower bounds (``-inf`` for ``<=`` rows).
        upper: row upper bounds.
        hint: a feasible assignment (from a known schedule), or ``None``.
    """

    group: NDArray[np.int64]
    start: NDArray[np.int64]
    cost: NDArray[np.float64]
    bound: NDArray[np.int64]
    col_start: NDArray[np.int64]
    index: NDArray[np.int64]
    value: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    hint: NDArray[np.int64] | None

    @property
    def n_columns(self) -> int:
        """Number of variables."""
        return int(self.group.size)

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.upper.size)

    def rows(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Row-wise (CSR) view ``(row_start, column, value)``."""
        column = np.repeat(np.arange(self.n_columns), np.diff(self.col_start))
        order = np.argsort(self.index, kind="stable")
        counts = np.bincount(self.index, minlength=self.n_rows)
        row_start = np.concatenate([[0], np.cumsum(counts)])
        return row_start, column[order], self.value[order]


def _symmetry_rows(
    problem: HindsightProblem, group: NDArray[np.int64], start: NDArray[np.int64]
) -> list[tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """Rows ``count_g Z_h(t) - count_h Z_g(t) <= 0`` as (columns, coefficients)."""
    rows = []
    shapes: dict[tuple[int, int], list[int]] = {}
    for g in range(problem.n_groups):
        shapes.setdefault((int(problem.prompt[g]), int(problem.output[g])), []).append(g)
    for members in shapes.values():
        for g, h in itertools.pairwise(members):  # sorted by arrival
            cols_g = np.flatnonzero(group == g)
            cols_h = np.flatnonzero(group == h)
            if cols_g.size == 0 or cols_h.size == 0:
                continue
            begin, end = int(start[cols_h].min()), int(start[cols_g].max()) - 1
            for t in range(begin, end + 1):
                early_h = cols_h[start[cols_h] <= t]
                early_g = cols_g[start[cols_g] <= t]
                columns = np.concatenate([early_h, early_g])
                coefs = np.concatenate(
                    [
                        np.full(early_h.size, float(problem.count[g])),
                        np.full(early_g.size, -float(problem.count[h])),
                    ]
                )
                rows.append((columns, coefs))
    return rows


def build_program(
    problem: HindsightProblem,
    group: NDArray[np.int64],
    start: NDArray[np.int64],
    *,
    levels: int = 3,
    hint: NDArray[np.int64] | None = None,
    symmetry: bool = True,
) -> IntegerProgram:
    """The integer program restricted to the columns ``(group[k], start[k])``.

    Args:
        problem: the validated problem.
        group: group of each column.
        start: start time of each column (``>=`` its group's arrival).
        levels: head inequalities for ``r = 1..levels`` (``0``: none).
        hint: per-request start times of a feasible schedule whose columns are all present.
        symmetry: add the symmetry-breaking rows.

    Raises:
        ValueError: if a column starts before its group's arrival or the hint uses a column
            that is not present.
    """
    group = np.asarray(group, dtype=np.int64)
    start = np.asarray(start, dtype=np.int64)
    if np.any(start < problem.arrival[group]):
        k = int(np.flatnonzero(start < problem.arrival[group])[0])
        raise ValueError(f"column {k} starts at {start[k]}, before its group's arrival")
    rhs_levels, heads = head_lengths(problem, levels)
    first = int(start.min()) + 1
    last = int((start + problem.output[group]).max())
    span = last - first + 1
    n_blocks = 1 + len(rhs_levels)
    col_start, index, value = column_entries(problem, heads, group, start, first, last)
    column = np.repeat(np.arange(group.size), np.diff(np.append(col_start, index.size)))
    upper = [np.full(span, float(problem.memory))] + [np.full(span, float(r)) for r in rhs_levels]
    lower = [np.full(n_blocks * span, -np.inf)]
    row_of = [index.astype(np.int64)]
    col_of = [column]
    val_of = [value]
    next_row = n_blocks * span
    if symmetry:
        for columns, coefs in _symmetry_rows(problem, group, start):
            row_of.append(np.full(columns.size, next_row))
            col_of.append(columns)
            val_of.append(coefs)
            upper.append(np.zeros(1))
            lower.append(np.full(1, -np.inf))
            next_row += 1
    # convexity
    row_of.append(next_row + group)
    col_of.append(np.arange(group.size))
    val_of.append(np.ones(group.size))
    count = problem.count.astype(np.float64)
    upper.append(count)
    lower.append(count)
    rows = np.concatenate(row_of)
    cols = np.concatenate(col_of)
    vals = np.concatenate(val_of)
    row_upper = np.concatenate(upper)
    row_lower = np.concatenate(lower)
    bound = problem.count[group]
    # drop rows that cannot be violated (their largest activity is within the bound)
    largest = np.bincount(rows, weights=np.maximum(vals, 0) * bound[cols], minlength=row_upper.size)
    keep_row = ~np.isinf(row_lower) | (largest > row_upper + 1e-9)
    renumber = np.cumsum(keep_row) - 1
    keep_entry = keep_row[rows]
    rows, cols, vals = renumber[rows[keep_entry]], cols[keep_entry], vals[keep_entry]
    order = np.lexsort((rows, cols))
    counts = np.bincount(cols, minlength=group.size)
    program_hint = None
    if hint is not None:
        lookup = {(int(g), int(p)): k for k, (g, p) in enumerate(zip(group, start, strict=True))}
        program_hint = np.zeros(group.size, dtype=np.int64)
        for (g, p), number in problem.group_counts(np.asarray(hint)).items():
            if (g, p) not in lookup:
                raise ValueError(f"the hint starts a request of group {g} at {p}: no such column")
            program_hint[lookup[(g, p)]] = number
    return IntegerProgram(
        group=group,
        start=start,
        cost=(start - problem.arrival[group]).astype(np.float64),
        bound=bound.astype(np.int64),
        col_start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        index=rows[order].astype(np.int64),
        value=vals[order],
        lower=row_lower[keep_row],
        upper=row_upper[keep_row],
        hint=program_hint,
    )
