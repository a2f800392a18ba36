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
        agent = run_agent(inst, name, memory=memory, time_model="unit", seed=0)
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
