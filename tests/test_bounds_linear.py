"""The linear-time lower bound: hand-computed cases, exhaustive search, every agent above it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import NotApplicableError, make_agent, run_agent
from evaluation.bench_reference import default_agents
from evaluation.bounds_linear import linear_bound_parts, linear_lower_bound
from mcsf_gym import Instance, simulate
from mcsf_gym.core.view import StateView
from mcsf_gym.workloads import make_workload

D0 = (44.6 + 0.52) / 1000


def test_single_request_bound_is_its_own_latency() -> None:
    # one request s=10, o=2: rounds of 44.6+0.52+3.78 ms and 44.6+0.52+0.0027 ms
    inst = Instance([0.0], [10], [2])
    bound = linear_lower_bound(inst, memory=100)
    expected = (2 * 45.12 + 3.78 + 0.0027) / 1000
    assert bound.method == "isolation"
    assert bound.bound == pytest.approx(expected, rel=1e-12)
    assert run_agent(inst, "mcsf", memory=100, time_model="linear").total_latency == (
        pytest.approx(expected, rel=1e-12)
    )


def test_parts_hand_computed() -> None:
    # two requests at 0: s=(2, 4), o=(3, 1), M=10
    inst = Instance([0.0, 0.0], [2, 4], [3, 1])
    parts = linear_bound_parts(inst, 10)
    isolation = (3 * 45.12 + 0.378 * 2 + 0.0027 * 3) + (45.12 + 0.378 * 4)
    assert parts["isolation"] == pytest.approx(isolation / 1000)
    # volume: 2*3 + 6 = 12 and 4*1 + 1 = 5 token-rounds; SRPT at speed M/d0 finishes the
    # short one at 5 d0/10, the long one at 17 d0/10
    assert parts["volume"] == pytest.approx((5 + 17) * D0 / 10)
    # compute: p = 0.52*o + 0.378*s + 0.0027*o(o-1)/2 ms = 2.3448 and 2.032; SRPT sum
    assert parts["compute"] == pytest.approx((2.032 + 2.032 + 2.3241) / 1000)


def test_rejects_unit_time_and_oversize() -> None:
    inst = Instance([0.0], [10], [2])
    with pytest.raises(ValueError, match="linear"):
        linear_lower_bound(inst, memory=100, time_model="unit")
    with pytest.raises(ValueError):
        linear_lower_bound(inst, memory=11)


class _Stop(Exception):
    """Raised at the boundary where the explored decision sequence ends."""

    def __init__(self, view: StateView) -> None:
        super().__init__()
        self.view = view


class _Script:
    """Admits the scripted sets at successive decision boundaries, then stops."""

    def __init__(self, script: list[tuple[int, ...]]) -> None:
        self.script = script
        self.k = 0

    def reset(self, rng: np.random.Generator) -> None:
        self.k = 0

    def schedule(self, view: StateView) -> list[int]:
        if view.waiting.size == 0:
            return []
        if self.k == len(self.script):
            raise _Stop(view)
        self.k += 1
        return list(self.script[self.k - 1])


def _fits(view: StateView, subset: tuple[int, ...]) -> bool:
    """Whether admitting ``subset`` now keeps memory within M (exact predictions)."""
    check = view.admission_check()
    for request, length in zip(subset, view.predicted_length(list(subset)), strict=True):
        prompt = int(view.prompt[request])
        if not check.fits(prompt, int(length)):
            return False
        check.add(prompt, int(length))
    return True


def exhaustive_optimum(inst: Instance, memory: int) -> float:
    """Smallest total latency over every admission sequence that never overflows memory.

    At every boundary with waiting requests, every subset that fits is tried, and admitting
    none while something runs (waiting on an idle worker never helps and would not end).
    """
    best = math.inf
    stack: list[list[tuple[int, ...]]] = [[]]
    while stack:
        script = stack.pop()
        try:
            result = simulate(inst, _Script(script), memory=memory, time_model="linear")
        except _Stop as stop:
            waiting = stop.view.waiting.tolist()
            for size in range(len(waiting) + 1):
                if size == 0 and stop.view.n_running == 0:
                    continue
                for subset in itertools.combinations(waiting, size):
                    if _fits(stop.view, subset):
                        stack.append([*script, subset])
            continue
        assert result.metrics["evictions"] == 0
        best = min(best, result.total_latency)
    return best


tiny = st.integers(2, 3).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from([0.0, 0.01, 0.05, 0.2]), min_size=n, max_size=n),
        st.lists(st.integers(1, 6), min_size=n, max_size=n),
        st.lists(st.integers(1, 3), min_size=n, max_size=n),
        st.integers(9, 14),  # every request fits: s + o <= 6 + 3
    )
)


@settings(max_examples=25, deadline=None)
@given(tiny)
def test_bound_below_exhaustive_optimum(case: tuple) -> None:
    arrival, prompt, output, memory = case
    inst = Instance(sorted(arrival), prompt, output)
    optimum = exhaustive_optimum(inst, memory)
    assert math.isfinite(optimum)
    assert linear_lower_bound(inst, memory).bound <= optimum + 1e-12
    # and the optimum is no worse than MC-SF's schedule
    mcsf = run_agent(inst, "mcsf", memory=memory, time_model="linear").total_latency
    assert optimum <= mcsf + 1e-12


@pytest.mark.parametrize(
    "spec",
    [
        "lmsys:rate=50,n=150",
        "lmsys:rate=1000000,n=150",
        "heavy-tail:n=60,memory=3000,rate=40,extreme=prompt,frac=0.1,long_min=300,long_max=1500",
        "lmsys:rate=50,n=150,prediction=noisy:eps=0.5",
    ],
)
def test_bound_below_every_agent(spec: str) -> None:
    workload = make_workload(spec)
    for seed in range(2):
        scenario = workload.sample(np.random.default_rng(seed))
        bound = linear_lower_bound(scenario.instance, scenario.memory).bound
        for name in default_agents():
            try:
                result = run_agent(
                    scenario.instance, make_agent(name), memory=scenario.memory,
                    time_model="linear", seed=seed,
                )  # fmt: skip
            except NotApplicableError:  # a-max, a-min: no interval predictions here
                continue
            assert bound <= result.total_latency * (1 + 1e-12), (name, seed)
