"""The paper's synthetic arrival models 1 and 2 (docs/model.md section 7)."""

import numpy as np
import pytest

from mcsf_gym.workloads import make_workload
from mcsf_gym.workloads.synthetic import PaperModel1, PaperModel2


def draw(spec: str, count: int, **overrides):
    workload = make_workload(spec, **overrides)
    return [workload.sample(np.random.default_rng(seed)) for seed in range(count)]


def test_model1_sizes_follow_the_paper():
    scenarios = draw("paper-model1", 600)
    memory = np.array([s.memory for s in scenarios])
    n = np.array([s.instance.n for s in scenarios])
    prompt = np.array([s.instance.prompt[0] for s in scenarios])
    assert set(memory) == set(range(30, 51))
    assert set(n) == set(range(40, 61))
    assert set(prompt) == {1, 2, 3, 4, 5}
    assert abs(memory.mean() - 40) < 0.6
    assert abs(n.mean() - 50) < 0.6
    assert abs(prompt.mean() - 3) < 0.15
    ratios, ones, tops, expected_each_end = [], 0, 0, 0.0
    for s in scenarios:
        inst = s.instance
        assert s.time_model == "unit"
        assert np.all(inst.arrival == 0)
        assert np.all(inst.prompt == inst.prompt[0])
        top = s.memory - inst.prompt[0]
        assert inst.output.min() >= 1 and inst.output.max() <= top
        assert np.array_equal(inst.prediction, inst.output)
        ratios.append((inst.output - 0.5) / top)  # o uniform on [1, top]: mean exactly 0.5
        ones += int(np.sum(inst.output == 1))
        tops += int(np.sum(inst.output == top))
        expected_each_end += inst.n / top
    assert abs(np.concatenate(ratios).mean() - 0.5) < 0.01
    assert ones == pytest.approx(expected_each_end, rel=0.1)
    assert tops == pytest.approx(expected_each_end, rel=0.1)


def test_n_range_and_fixed_n():
    assert {s.instance.n for s in draw("paper-model1:n_min=3,n_max=4", 50)} == {3, 4}
    workload = make_workload("paper-model2:n=7")
    assert (workload.n_min, workload.n_max) == (7, 7)
    assert {s.instance.n for s in draw("paper-model2:n=7", 20)} == {7}


def test_model2_arrivals_are_integer_poisson_rounds():
    scenarios = draw("paper-model2", 300)
    observed, expected = [], []
    for s in scenarios:
        inst = s.instance
        assert s.time_model == "unit"
        assert inst.arrival[0] == 0
        assert np.all(inst.arrival == np.round(inst.arrival))
        assert np.all(inst.prompt == inst.prompt[0])
        assert inst.output.max() <= s.memory - inst.prompt[0]
        # the first arrival is shifted to round 0; the rest span n - 1 exponential gaps
        observed.append(inst.arrival[-1] / (inst.n - 1))
        rate = PaperModel2().arrival_rate(s.memory, int(inst.prompt[0]))
        expected.append(1 / rate)
    assert np.mean(observed) == pytest.approx(np.mean(expected), rel=0.03)


def test_model2_counts_per_round_are_poisson_at_a_given_rate():
    (scenario,) = draw("paper-model2:rate=0.5,n=20000", 1)
    counts = np.bincount(scenario.instance.arrival.astype(int))[1:-1]  # whole rounds only
    assert counts.mean() == pytest.approx(0.5, rel=0.03)
    assert counts.var() == pytest.approx(0.5, rel=0.05)  # Poisson: variance = mean
    assert np.mean(counts == 0) == pytest.approx(np.exp(-0.5), rel=0.03)


def test_model2_rate_matches_the_offered_load_by_enumeration():
    model = PaperModel2(load=0.7)
    for memory, prompt in [(30, 5), (50, 1), (41, 3)]:
        k = memory - prompt
        held = np.mean([sum(prompt + j for j in range(1, o + 1)) for o in range(1, k + 1)])
        assert model.arrival_rate(memory, prompt) == pytest.approx(0.7 * memory / held)
    assert PaperModel2(rate=0.25).arrival_rate(30, 5) == 0.25


def test_higher_load_means_denser_arrivals():
    light = draw("paper-model2:n=50", 50, load=0.3)
    heavy = draw("paper-model2:n=50", 50, load=1.2)
    span = [np.mean([s.instance.arrival[-1] for s in group]) for group in (light, heavy)]
    assert span[0] > 3 * span[1]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("paper-model1:n_min=0", "n_min"),
        ("paper-model1:n_min=9,n_max=8", "n_min"),
        ("paper-model1:n=0", "n"),
        ("paper-model1:n=2.5", "n"),
        ("paper-model1:memory_min=60", "memory_min"),
        ("paper-model1:prompt_min=0", "prompt_min"),
        ("paper-model1:prompt_max=30", "prompt_max"),
        ("paper-model1:prediction=psychic", "prediction"),
        ("paper-model2:load=0", "load"),
        ("paper-model2:rate=-1", "rate"),
        ("paper-model2:load=true", "load"),
    ],
)
def test_bad_parameters_name_the_field(spec, field):
    with pytest.raises(ValueError, match=field):
        make_workload(spec)


def test_spec_values_are_normalised():
    workload = make_workload("paper-model1:n_min=4.0,n_max=6")
    assert workload == PaperModel1(n_min=4, n_max=6)
    assert isinstance(workload.n_min, int)
