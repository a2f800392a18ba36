"""A proof is only what the solver proved: the HiGHS hint case of issue 14 and its guards."""

import math

import numpy as np
import pytest

import evaluation.hindsight.solve as solve_module
from agents import Replay
from evaluation import hindsight_optimum
from evaluation.hindsight.backends import Outcome, _agree, solve_program
from evaluation.hindsight.lp import solve_relaxation, surviving_columns
from evaluation.hindsight.model import build_program
from evaluation.hindsight.problem import HindsightProblem, round_up_bound
from mcsf_gym import Instance, simulate

# Issue 14: with the hint set, highspy 1.16 reported "optimal", objective 1 (waiting) and the
# hint's columns (waiting 3); the old code read value 23 from the columns and lifted the bound
# to 23. By hand: the optimum admits both early requests at 1 (memory at t=4: 2+3 + 1+3 = 9;
# request 2 at 7 would hold 3 at t=8 with request 0 gone, fine) and the rest at 8:
# latency 5 + 3 + (8+7-7) + 1 + 4 = 21; CP-SAT and exhaustive search agree.
CASE = Instance(arrival=[1, 1, 7, 8, 8], prompt=[2, 1, 2, 4, 4], output=[5, 3, 7, 1, 4])


@pytest.mark.parametrize("solver", ["highs", "cpsat"])
@pytest.mark.parametrize("search_share", [0.0, 0.3])
def test_the_hint_case_is_solved_right(solver: str, search_share: float) -> None:
    opt = hindsight_optimum(CASE, memory=14, time_limit=5, solver=solver, search_share=search_share)
    assert opt.value == 21.0 and opt.bound == 21.0 and opt.proven_optimal
    replay = simulate(CASE, Replay(opt.start), memory=14, time_model="unit")
    assert replay.total_latency == 21.0 and replay.metrics["evictions"] == 0


@pytest.mark.parametrize("solver", ["highs", "cpsat"])
def test_the_program_from_the_issues_hint(solver: str) -> None:
    # The exact program of the issue: columns surviving for the hint's waiting 3, hint
    # [3, 1, 8, 8, 8] (latency 23). The answer's objective, columns and bound must agree on 1.
    problem = HindsightProblem.from_instance(CASE, 14)
    hint = np.array([3, 1, 8, 8, 8])
    waiting = problem.latency(hint) - problem.total_output
    relaxation = solve_relaxation(problem, hint, levels=3, time_limit=5, threads=1)
    group, begin = surviving_columns(problem, relaxation, waiting)
    program = build_program(problem, group, begin, levels=3, hint=hint)
    outcome = solve_program(program, solver, time_limit=5, threads=1)
    assert outcome.consistent and outcome.value == outcome.objective == 1.0
    assert round_up_bound(outcome.bound) == 1.0
    start = problem.starts_from_counts(program.group, program.start, outcome.counts)
    assert problem.latency(start) == 21


def test_brute_force_agrees_on_the_hint_case() -> None:
    from test_agents_optimum import brute_force_optimum

    assert brute_force_optimum(CASE, 14)[0] == 21.0


def test_agree_reads_integers_and_infinities() -> None:
    assert _agree(3.0, 3.0) and _agree(math.inf, math.inf)
    assert not _agree(1.0, 3.0) and not _agree(1.0, math.inf)


def test_a_disagreeing_solver_proves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # A solver whose objective and columns disagree and that claims a bound at the value of
    # the columns: the result must keep the relaxation's bound only and say why.
    def fake(program, solver, time_limit, threads, seed):
        counts = np.asarray(program.hint)
        value = float(program.cost @ counts)
        return Outcome(counts, value, value, "Optimal", objective=value - 2, consistent=False)

    monkeypatch.setattr(solve_module, "solve_program", fake)
    opt = hindsight_optimum(CASE, memory=14, time_limit=5, search_share=0.0)
    assert opt.value == opt.mcsf_value == 25.0  # the hint, nothing better was found
    assert not opt.proven_optimal and opt.bound == opt.lp_bound == 21.0
    assert "solver_disagreement" in opt.stats


def test_columns_that_are_no_schedule_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every request at its arrival: cheaper than anything feasible, and over the memory.
    def fake(program, solver, time_limit, threads, seed):
        counts = np.zeros(program.n_columns, dtype=np.int64)
        for g in range(program.group.max() + 1):
            columns = np.flatnonzero(program.group == g)
            counts[columns[np.argmin(program.cost[columns])]] = 1
        value = float(program.cost @ counts)
        return Outcome(counts, value, value, "Optimal", objective=value)

    monkeypatch.setattr(solve_module, "solve_program", fake)
    opt = hindsight_optimum(CASE, memory=14, time_limit=5, search_share=0.0)
    assert opt.verified and "solver_schedule_rejected" in opt.stats
    assert not opt.proven_optimal and opt.bound <= 21.0
