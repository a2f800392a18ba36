"""The hindsight optimum against hand values, exhaustive search, agents and the simulator."""

import numpy as np
import pytest
from hypothesis import given, settings
from test_agents_optimum import brute_force_optimum, tiny_instances

from agents import AGENTS, Replay, run_agent
from evaluation import hindsight_optimum
from mcsf_gym import Instance, simulate

BUILT_IN = [name for name in AGENTS.names() if name not in ("ppo", "maskable-ppo")]


def test_worked_example() -> None:
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    opt = hindsight_optimum(inst, memory=7, time_limit=10)
    assert opt.value == 6.0 and opt.bound == 6.0 and opt.proven_optimal and opt.gap == 0.0
    np.testing.assert_array_equal(opt.start, [1, 0])
    assert hindsight_optimum(inst, memory=10, time_limit=10).value == 5.0


def test_shortest_first_is_not_optimal_when_everything_arrives_at_once() -> None:
    # docs/hindsight.md, by hand: M = 6, s = 1, outputs 3, 3, 2, 2, all at t = 0. MC-SF runs the
    # two short requests together (done at 2), then the long ones one after the other: A at
    # 2 (done 5), B at 4 (5 + 2 at t = 5; done 7): TEL 16. Pairing each long request with a
    # short one: A and C at 0, D at 2, B at 3: TEL 3 + 6 + 2 + 4 = 15, peak memory 6.
    inst = Instance(arrival=[0, 0, 0, 0], prompt=[1, 1, 1, 1], output=[3, 3, 2, 2])
    mcsf = run_agent(inst, "mcsf", memory=6, time_model="unit")
    assert mcsf.total_latency == 16.0
    np.testing.assert_array_equal(mcsf.start, [2, 4, 0, 0])
    opt = hindsight_optimum(inst, memory=6, time_limit=10)
    assert opt.value == 15.0 and opt.proven_optimal
    replay = run_agent(inst, Replay(np.array([0, 3, 0, 2])), memory=6, time_model="unit")
    assert replay.total_latency == 15.0 and replay.metrics["peak_memory"] == 6


@settings(max_examples=25, deadline=None)
@given(case=tiny_instances())
def test_matches_exhaustive_search_and_replays(case) -> None:
    inst, memory = case
    opt = hindsight_optimum(inst, memory=memory, time_limit=10)
    assert opt.proven_optimal
    assert opt.value == brute_force_optimum(inst, memory)[0]
    replay = simulate(inst, Replay(opt.start), memory=memory, time_model="unit")
    np.testing.assert_array_equal(replay.start, opt.start)
    assert replay.metrics["evictions"] == 0 and replay.total_latency == opt.value
    for name in BUILT_IN:
        try:
            agent = run_agent(inst, name, memory=memory, time_model="unit", seed=0)
        except ValueError as error:  # agents that need interval predictions (a-max, ...)
            assert "interval predictions" in str(error), name
            continue
        assert agent.total_latency >= opt.value - 1e-9, name


def test_time_limited_answer_states_its_gap() -> None:
    from mcsf_gym.workloads import make_workload

    scenario = make_workload("paper-model2:n=30").sample(np.random.default_rng(0))
    opt = hindsight_optimum(scenario.instance, memory=scenario.memory, time_limit=2)
    assert opt.bound <= opt.value
    assert opt.proven_optimal == (opt.bound == opt.value)
    replay = simulate(scenario.instance, Replay(opt.start), memory=scenario.memory)
    assert replay.total_latency == opt.value and replay.metrics["evictions"] == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"memory": 0}, "memory"),
        ({"memory": 7, "time_limit": 0}, "time_limit"),
        ({"memory": 7, "threads": 0}, "threads"),
        ({"memory": 3}, "request"),
    ],
)
def test_bad_input_is_a_value_error(kwargs, field) -> None:
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    with pytest.raises(ValueError, match=field):
        hindsight_optimum(inst, **kwargs)
