"""The adversarial-style family: its closed forms hold in the engine, and the gap grows."""

import itertools

import numpy as np
import pytest

from agents import MCSF, MCBenchmark
from agents.mcsf import admit_prefix
from mcsf_gym import simulate
from mcsf_gym.workloads import make_workload
from mcsf_gym.workloads.adversarial import AdversarialWorkload


class ServeBurstFirst:
    """Holds the long request (id 0) back until the burst has arrived; burst first."""

    def __init__(self, burst_time: int) -> None:
        self.burst_time = burst_time

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def schedule(self, view):
        if view.time < self.burst_time and np.any(view.status == 0):
            return []  # a request is still to come: wait for the burst
        waiting = [int(i) for i in view.waiting]
        order = [i for i in waiting if i != 0] + [i for i in waiting if i == 0]
        return admit_prefix(view, np.array(order), 0.0)


def run(workload: AdversarialWorkload, scheduler) -> float:
    scenario = workload.sample(np.random.default_rng(0))
    return simulate(
        scenario.instance, scheduler, memory=scenario.memory, time_model="unit"
    ).total_latency


def test_instance_shape():
    workload = AdversarialWorkload(memory=100)
    assert (workload.burst, workload.burst_time, workload.short_prompt) == (24, 49, 49)
    scenario = workload.sample(np.random.default_rng(0))
    inst = scenario.instance
    assert (scenario.memory, scenario.time_model, inst.n) == (100, "unit", 25)
    assert (inst.arrival[0], inst.prompt[0], inst.output[0]) == (0, 1, 99)
    assert np.all(inst.arrival[1:] == 49) and np.all(inst.prompt[1:] == 49)
    assert np.all(inst.output[1:] == 1)
    assert (workload.greedy_total_latency, workload.waiting_total_latency) == (1455, 316)


@pytest.mark.parametrize(
    ("memory", "burst"), [(4, 3), (9, 5), (20, 6), (51, None), (100, None), (60, 0), (33, 1)]
)
def test_closed_forms_match_the_engine(memory, burst):
    workload = AdversarialWorkload(memory=memory, burst=burst)
    greedy = workload.greedy_total_latency
    assert run(workload, MCSF()) == greedy
    assert run(workload, MCBenchmark()) == greedy
    assert (
        run(workload, ServeBurstFirst(int(workload.burst_time))) == workload.waiting_total_latency
    )


def test_late_burst_closed_form():
    workload = AdversarialWorkload(memory=40, burst=6, burst_time=45)  # after the long one ends
    assert run(workload, MCSF()) == workload.greedy_total_latency == 39 + 2 * (1 + 2 + 3)


def test_the_gap_grows_like_sqrt_memory():
    ratios = []
    for memory in (24, 96, 384, 1536):
        workload = AdversarialWorkload(memory=memory)
        ratios.append(workload.greedy_total_latency / workload.waiting_total_latency)
    assert all(b > 1.7 * a for a, b in itertools.pairwise(ratios))  # about x2 per x4 memory
    assert ratios[-1] == pytest.approx(np.sqrt(1536 / 6), rel=0.1)


def test_predictions_use_the_generator():
    workload = make_workload("adversarial-style:memory=40,prediction=noisy:eps=0.5")
    a = workload.sample(np.random.default_rng(1)).instance
    b = workload.sample(np.random.default_rng(1)).instance
    c = workload.sample(np.random.default_rng(2)).instance
    assert a == b and not np.array_equal(a.prediction, c.prediction)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("adversarial-style:memory=3", "memory"),
        ("adversarial-style:burst=-1", "burst"),
        ("adversarial-style:burst_time=-2", "burst_time"),
        ("adversarial-style:prediction=oracle", "prediction"),
    ],
)
def test_bad_parameters_name_the_field(spec, field):
    with pytest.raises(ValueError, match=field):
        make_workload(spec)


def test_greedy_closed_form_refuses_an_early_burst():
    with pytest.raises(ValueError, match="burst_time >= 19"):
        _ = AdversarialWorkload(memory=40, burst_time=3).greedy_total_latency
