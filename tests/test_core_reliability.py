"""Every run ends, and what cannot be represented exactly is refused (issue 17).

The over-admitting instance: three requests (s=2, o=6) at 0, each predicted to produce 1 token,
M = 10. A rule that admits all three fills 9 tokens after round 1 and would need 12 after
round 2: an overflow at every second round. Under ``clear-all`` a rule that re-admits the
evicted batch repeats that forever; ``simulate`` must say so instead of hanging.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_core_helpers import FitNextRound

from agents import make_agent
from mcsf_gym import Instance, simulate
from mcsf_gym.core import MAX_TOKENS, NoProgressError
from mcsf_gym.core.eviction import RandomEviction
from mcsf_gym.core.simulate import STALL_PATIENCE


def over_admitted() -> Instance:
    return Instance([0, 0, 0], [2, 2, 2], [6, 6, 6], prediction=[1, 1, 1])


@pytest.mark.parametrize("agent", ["vllm-fcfs", "sf-no-lookahead", "alpha-beta"])
def test_simulate_uses_the_agents_own_eviction_policy_by_default(agent: str) -> None:
    scheduler = make_agent(agent)
    default = simulate(over_admitted(), scheduler, memory=10, seed=0)
    explicit = simulate(
        over_admitted(), make_agent(agent), memory=10, eviction=scheduler.default_eviction, seed=0
    )
    np.testing.assert_array_equal(default.finish, explicit.finish)
    assert default.metrics["evictions"] == explicit.metrics["evictions"]


@pytest.mark.parametrize("agent", ["vllm-fcfs", "sf-no-lookahead", "alpha-beta"])
def test_a_livelock_under_clear_all_raises_naming_agent_and_policy(agent: str) -> None:
    with pytest.raises(NoProgressError) as error:
        simulate(over_admitted(), make_agent(agent), memory=10, eviction="clear-all")
    message = str(error.value)
    assert "clear-all" in message
    assert type(make_agent(agent)).__name__ in message
    assert f"no request finished in {6 + STALL_PATIENCE + 1} rounds" in message
    assert "evicted" in message


@pytest.mark.parametrize("eviction", ["clear-all", "newest-first"])
def test_a_scheduler_admitting_everything_raises(eviction: str) -> None:
    class AdmitAll(FitNextRound):
        def schedule(self, view):  # type: ignore[no-untyped-def]
            return list(view.waiting)

    # The engine evicts running requests to make room for the admitted ones, so even
    # newest-first evicts the oldest request when the admissions need its memory.
    with pytest.raises(NoProgressError, match=f"AdmitAll.*{eviction}"):
        simulate(over_admitted(), AdmitAll(), memory=10, eviction=eviction)


def test_newest_first_progresses_with_a_scheduler_that_admits_what_fits() -> None:
    # FitNextRound admits only what fits the coming round, so every eviction is for the
    # running requests' own growth, and newest-first never evicts the oldest request.
    done = simulate(over_admitted(), FitNextRound(), memory=10, eviction="newest-first")
    assert np.isfinite(done.finish).all()
    with pytest.raises(NoProgressError):
        simulate(over_admitted(), FitNextRound(), memory=10, eviction="clear-all")


@pytest.mark.parametrize("beta", [1e-300, 5e-324, 1e-6])
def test_a_tiny_random_eviction_beta_does_not_stall(beta: float) -> None:
    res = simulate(over_admitted(), make_agent("mcsf"), memory=10, eviction=RandomEviction(beta))
    assert np.isfinite(res.finish).all()
    assert res.metrics["peak_memory"] <= 10


def test_random_eviction_direct_draw_frees_enough() -> None:
    policy = RandomEviction(1e-12)
    rng = np.random.default_rng(0)
    for excess in (1, 5, 9, 20):
        victims = policy.victims([0, 1, 2, 3], [5, 5, 5, 5], excess, rng)
        assert 5 * len(victims) >= excess
        assert len(set(victims)) == len(victims)


def test_a_huge_memory_allocates_nothing_proportional_to_it() -> None:
    inst = Instance([0, 0], [2, 2], [3, 2])
    res = simulate(inst, make_agent("mcsf"), memory=MAX_TOKENS)
    assert res.total_latency == 5.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"memory": MAX_TOKENS + 1}, "memory must be an integer"),
        ({"memory": 10**11}, "memory must be an integer"),
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
        ({"seed": True}, "seed must be an integer >= 0, got True"),
        ({"eviction": 7}, "eviction must be a policy name"),
        ({"eviction": "random:beta=abc"}, "random eviction beta must be a finite number"),
        ({"eviction": "random:beta=0"}, r"beta must be in \(0, 1\]"),
        ({"time_model": "linear:base=inf"}, "linear time base must be a finite number"),
    ],
)
def test_bad_settings_are_one_value_error(kwargs: dict, match: str) -> None:
    inst = Instance([0, 0], [2, 2], [3, 2])
    settings = {"memory": 7, **kwargs}
    with pytest.raises(ValueError, match=match):
        simulate(inst, make_agent("mcsf"), **settings)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("prompt", 1e19, r"prompt\[0\] = 1e\+19 must be in \[1, 2147483647\]"),
        ("prompt", 2**63, r"prompt\[0\] = 9223372036854775808 must be"),
        ("output", 2**53 + 1, r"output\[0\] = 9007199254740993 must be"),
        ("output", True, r"output\[0\] = True is a boolean"),
        ("prediction", "3", r"prediction\[0\] = '3' is not a number"),
        ("arrival", 1e20, r"arrival\[0\] = 1e\+20 must be in \[0, 1e\+09\]"),
        ("arrival", -math.inf, r"arrival\[0\] = -inf is not a finite number"),
    ],
)
def test_values_that_cannot_be_represented_exactly_are_refused(
    field: str, value: object, match: str
) -> None:
    columns: dict[str, list[object]] = {"arrival": [0], "prompt": [1], "output": [1]}
    columns[field] = [value]
    with pytest.raises(ValueError, match=match):
        Instance(**columns)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("noisy:eps=abc", "noisy prediction eps must be a finite number .* got 'abc'"),
        ("noisy:eps=true", "noisy prediction eps must be a finite number .* got True"),
        ("upper:alpha=abc", "upper prediction alpha must be a finite number"),
        ("upper:alpha=inf", "upper prediction alpha must be a finite number"),
        ("interval:eps=abc", "interval prediction eps must be a finite number"),
        ("interval:eps=2", r"interval prediction eps must be in \[0, 1\]"),
        ("noisy:epsilon=0.5", "unknown parameter 'epsilon'; did you mean 'eps'"),
        ("noisy:eps", "expected key=value after ':'"),
    ],
)
def test_bad_prediction_specs_are_one_value_error(spec: str, match: str) -> None:
    from mcsf_gym.core import make_predictor

    with pytest.raises(ValueError, match=match):
        make_predictor(spec)
