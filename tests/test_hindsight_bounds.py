"""Lower bounds, head inequalities, solver backends and the priority-list search."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_agents_optimum import brute_force_optimum, tiny_instances

from agents import run_agent
from evaluation.hindsight import hindsight_lower_bound, hindsight_optimum
from evaluation.hindsight.bounds import srpt_completions
from evaluation.hindsight.problem import HindsightProblem
from evaluation.hindsight.rows import head_lengths
from mcsf_gym import Instance
from mcsf_gym.workloads import make_workload


def memory_profile(instance: Instance, start: np.ndarray) -> np.ndarray:
    """Memory at every time ``t = 1..T`` by the paper's constraint (3), written out again."""
    start = np.asarray(start, dtype=np.int64)
    prompt, output = instance.prompt.astype(np.int64), instance.output.astype(np.int64)
    last = int((start + output).max())
    times = np.arange(1, last + 1)[:, None]
    active = (start < times) & (times <= start + output)
    return np.where(active, prompt + times - start, 0).sum(axis=1)


def paper_scenario(workload: str, seed: int, n: int = 30):
    return make_workload(f"{workload}:n={n}").sample(np.random.default_rng(seed))


def test_srpt_on_a_hand_example() -> None:
    # job 0 (p=4) at 0 is preempted at 1 by job 1 (p=1): 1 ends at 2, 0 at 5; job 2 (p=2, r=6)
    np.testing.assert_allclose(srpt_completions([0, 1, 6], [4, 1, 2]), [5, 2, 8])


def test_head_lengths_by_hand() -> None:
    # M = 10, s = 2: o = 6 has free memory 2, so g(1) = max(0, 2 - 2) = 0 and its whole life
    # is its 1-head; o = 2 has free 6: g(1) = 4 >= 2, no head.
    problem = HindsightProblem.from_instance(Instance([0, 0], [2, 2], [6, 2]), 10)
    levels, heads = head_lengths(problem, 1)
    assert levels == [1]
    np.testing.assert_array_equal(heads[0], [0, 6])  # groups sorted by output: 2, then 6


@settings(max_examples=40, deadline=None)
@given(case=tiny_instances(), level=st.integers(1, 3))
def test_head_inequality_holds_for_feasible_schedules(case, level) -> None:
    inst, memory = case
    problem = HindsightProblem.from_instance(inst, memory)
    levels, heads = head_lengths(problem, level)
    if level not in levels:
        return
    head = heads[levels.index(level)][problem.group_of]
    for name in ("mcsf", "mc-benchmark"):
        start = np.rint(run_agent(inst, name, memory=memory, time_model="unit").start)
        start = start.astype(np.int64)
        assert memory_profile(inst, start).max() <= memory
        times = np.arange(1, int((start + inst.output).max()) + 1)[:, None]
        in_head = (start < times) & (times <= start + head)
        assert in_head.sum(axis=1).max() <= level


@settings(max_examples=25, deadline=None)
@given(case=tiny_instances())
def test_every_bound_is_below_the_exhaustive_optimum(case) -> None:
    inst, memory = case
    optimum = brute_force_optimum(inst, memory)[0]
    bound = hindsight_lower_bound(inst, memory, time_limit=10)
    assert bound.bound <= optimum
    for name, part in bound.parts.items():
        assert part <= optimum + 1e-6, name


@pytest.mark.parametrize("workload", ["paper-model1", "paper-model2"])
def test_bounds_on_paper_sizes_are_below_every_schedule(workload) -> None:
    scenario = paper_scenario(workload, seed=3)
    inst, memory = scenario.instance, scenario.memory
    bound = hindsight_lower_bound(inst, memory, time_limit=20)
    assert set(bound.parts) == {"output", "volume", "heads", "lp"}
    assert bound.bound == max(np.ceil(v - 1e-6) for v in bound.parts.values())
    for name in ("mcsf", "mc-benchmark", "alpha-greedy:alpha=0.2"):
        value = run_agent(inst, name, memory=memory, time_model="unit").total_latency
        assert bound.bound <= value, name
    # the relaxation with head rows beats the combinatorial bounds on these sizes
    assert bound.parts["lp"] > max(bound.parts["volume"], bound.parts["heads"])
    assert bound.to_dict()["bound"] == bound.bound


def test_combinatorial_bound_scales_to_thousands_of_requests() -> None:
    scenario = make_workload("lmsys:n=5000").sample(np.random.default_rng(0))
    lmsys = scenario.instance
    inst = Instance(np.floor(lmsys.arrival * 20), lmsys.prompt, lmsys.output)
    bound = hindsight_lower_bound(inst, scenario.memory, method="combinatorial")
    assert bound.method == "combinatorial" and bound.seconds < 30
    mcsf = run_agent(inst, "mcsf", memory=scenario.memory, time_model="unit").total_latency
    assert float(inst.output.sum()) <= bound.bound <= mcsf


@pytest.mark.parametrize("solver", ["highs", "cpsat"])
def test_both_backends_prove_small_instances(solver) -> None:
    scenario = paper_scenario("paper-model2", seed=1, n=8)
    opt = hindsight_optimum(scenario.instance, scenario.memory, time_limit=30, solver=solver)
    assert opt.proven_optimal and opt.verified and opt.bound == opt.value
    assert memory_profile(scenario.instance, opt.start).max() <= scenario.memory


def test_backends_agree_with_each_other() -> None:
    scenario = paper_scenario("paper-model1", seed=4, n=6)
    values = {
        solver: hindsight_optimum(
            scenario.instance, scenario.memory, time_limit=30, solver=solver, search_share=0.0
        )
        for solver in ("highs", "cpsat")
    }
    assert all(v.proven_optimal for v in values.values())
    assert values["highs"].value == values["cpsat"].value


@pytest.mark.parametrize("first", ["ortools.sat.python.cp_model", "highspy"])
def test_solvers_work_whichever_library_loaded_first(first) -> None:
    # OR-Tools and highspy ship clashing libhighs builds; the loser runs in a fresh process
    script = (
        f"import {first}\n"
        "from mcsf_gym import Instance\n"
        "from evaluation.hindsight import hindsight_lower_bound, hindsight_optimum\n"
        "inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])\n"
        "print(hindsight_lower_bound(inst, 7, method='lp', time_limit=10).bound)\n"
        "for solver in ('highs', 'cpsat'):\n"
        "    print(hindsight_optimum(inst, 7, time_limit=10, solver=solver).value)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["6.0", "6.0", "6.0"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"solver": "gurobi"}, "solver"),
        ({"levels": -1}, "levels"),
        ({"search_share": 1.0}, "search_share"),
    ],
)
def test_bad_solver_options_are_value_errors(kwargs, field) -> None:
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    with pytest.raises(ValueError, match=field):
        hindsight_optimum(inst, memory=7, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"method": "exact"}, "method"), ({"levels": 1.5}, "levels"), ({"time_limit": -1}, "time")],
)
def test_bad_bound_options_are_value_errors(kwargs, field) -> None:
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    with pytest.raises(ValueError, match=field):
        hindsight_lower_bound(inst, 7, **kwargs)
