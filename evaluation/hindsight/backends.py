"""Integer-program backends: HiGHS (``highspy``) and OR-Tools CP-SAT, behind one function.

Both take an :class:`~evaluation.hindsight.model.IntegerProgram`, a time limit, a thread
count and the program's hint, and report the best assignment found and the best proven bound
on the objective. The solvers are imported only when called.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from evaluation.hindsight.highs_session import new_highs
from evaluation.hindsight.model import IntegerProgram

SOLVERS = ("highs", "cpsat")


@dataclass(frozen=True)
class Outcome:
    """What a backend found.

    Attributes:
        counts: the best assignment (``None`` if none was found).
        value: its objective (total waiting) computed from ``counts``, or ``inf``.
        bound: the best lower bound on the objective over this program that the solver
            reports (``-inf`` when it reported none); never lifted from the incumbent.
        detail: the solver's own status, for the record.
        objective: the objective the solver reports for its incumbent (``inf`` if none).
        consistent: whether ``objective`` equals ``value``. When it does not, the solver's
            two readings of one answer disagree and neither its bound nor its status can be
            trusted (HiGHS 1.16 does this after ``setSolution``: it reports the optimum's
            objective while the columns still hold the hint).
        retried: whether the answer comes from a second run without the hint, after the
            first run's readings disagreed.
    """

    counts: NDArray[np.int64] | None
    value: float
    bound: float
    detail: str
    objective: float = math.inf
    consistent: bool = True
    retried: bool = False


def solve_program(
    program: IntegerProgram, solver: str, time_limit: float, threads: int, seed: int = 0
) -> Outcome:
    """Solve ``program`` with ``solver`` (``"highs"`` or ``"cpsat"``).

    Raises:
        ValueError: for an unknown solver name.
        ImportError: naming the ``solvers`` extra when the solver is not installed.
    """
    from evaluation.hindsight.isolation import call

    if solver == "highs":
        return call("highs", _solve_highs, program, time_limit, threads, seed)
    if solver == "cpsat":
        return call("cpsat", _solve_cpsat, program, time_limit, threads, seed)
    raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")


def _solve_highs(program: IntegerProgram, time_limit: float, threads: int, seed: int) -> Outcome:
    """HiGHS from the hint; if its objective and columns disagree, once more without it."""
    began = time.perf_counter()
    outcome = _run_highs(program, time_limit, threads, seed, hint=True)
    left = time_limit - (time.perf_counter() - began)
    if outcome.consistent or program.hint is None or left <= 0:
        return outcome
    retry = _run_highs(program, left, threads, seed, hint=False)
    detail = (
        f"{outcome.detail}; with the hint its objective {outcome.objective:g} disagreed "
        f"with its columns' {outcome.value:g}; re-solved without the hint: {retry.detail}"
    )
    return dataclasses.replace(retry, detail=detail, retried=True)


def _run_highs(
    program: IntegerProgram, time_limit: float, threads: int, seed: int, *, hint: bool
) -> Outcome:
    import highspy

    highs = new_highs(threads)
    for option, value in (
        ("time_limit", float(time_limit)),
        ("mip_rel_gap", 0.0),
        ("mip_abs_gap", 0.5),  # the objective is integral
        ("random_seed", int(seed)),
    ):
        highs.setOptionValue(option, value)
    lp = highspy.HighsLp()
    lp.num_col_ = program.n_columns
    lp.num_row_ = program.n_rows
    lp.col_cost_ = program.cost
    lp.col_lower_ = np.zeros(program.n_columns)
    lp.col_upper_ = program.bound.astype(np.float64)
    lp.row_lower_ = np.where(np.isinf(program.lower), -highspy.kHighsInf, program.lower)
    lp.row_upper_ = program.upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = program.col_start.astype(np.int32)
    lp.a_matrix_.index_ = program.index.astype(np.int32)
    lp.a_matrix_.value_ = program.value
    lp.integrality_ = [highspy.HighsVarType.kInteger] * program.n_columns
    highs.passModel(lp)
    if hint and program.hint is not None:
        solution = highspy.HighsSolution()
        solution.col_value = program.hint.astype(np.float64).tolist()
        highs.setSolution(solution)
    highs.run()
    status = highs.getModelStatus()
    info = highs.getInfo()
    counts = None
    value = objective = math.inf
    if info.primal_solution_status == 2:  # kSolutionStatusFeasible
        counts = np.rint(np.asarray(highs.getSolution().col_value)).astype(np.int64)
        value = float(program.cost @ counts)
        objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound)
    return Outcome(
        counts,
        value,
        bound,
        highs.modelStatusToString(status),
        objective=objective,
        consistent=_agree(objective, value),
    )


def _agree(objective: float, value: float) -> bool:
    """Whether a solver's reported objective and its columns' value are the same number."""
    if math.isinf(objective) or math.isinf(value):
        return objective == value
    return abs(objective - value) <= 1e-6 * max(1.0, abs(value))


def _solve_cpsat(program: IntegerProgram, time_limit: float, threads: int, seed: int) -> Outcome:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    variables = [model.new_int_var(0, int(b), f"z{k}") for k, b in enumerate(program.bound)]
    row_start, column, value = program.rows()
    coefficient = np.rint(value).astype(np.int64)
    for row in range(program.n_rows):
        segment = slice(row_start[row], row_start[row + 1])
        terms = [variables[k] for k in column[segment].tolist()]
        expression = cp_model.LinearExpr.weighted_sum(terms, coefficient[segment].tolist())
        upper = program.upper[row]
        if np.isinf(program.lower[row]):
            model.add(expression <= math.floor(upper + 1e-9))
        else:
            model.add(expression == round(upper))
    cost = np.rint(program.cost).astype(np.int64).tolist()
    model.minimize(cp_model.LinearExpr.weighted_sum(variables, cost))
    if program.hint is not None:
        for variable, number in zip(variables, program.hint.tolist(), strict=True):
            model.add_hint(variable, number)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(threads)
    solver.parameters.random_seed = int(seed)
    status = solver.solve(model)
    counts = None
    value = objective = math.inf
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        counts = np.array([solver.value(v) for v in variables], dtype=np.int64)
        value = float(program.cost @ counts)
        objective = float(solver.objective_value)
    bound = math.inf if status == cp_model.INFEASIBLE else float(solver.best_objective_bound)
    return Outcome(
        counts,
        value,
        bound,
        solver.status_name(status),
        objective=objective,
        consistent=_agree(objective, value),
    )
