"""Poisson arrivals with LMSYS-like or trace lengths, and the heavy-tailed variant."""

import os
from pathlib import Path

import numpy as np
import pytest

from mcsf_gym.workloads import load_trace, make_workload
from mcsf_gym.workloads.lengths import LogNormalLengths, make_lengths
from mcsf_gym.workloads.poisson import HeavyTailWorkload, PoissonWorkload

# Trace files: the folder named by MCSF_TRACE_DATA, or ../shared/data beside the repository.
DATA = Path(
    os.environ.get("MCSF_TRACE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
AZURE_CONV = DATA / "azure_llm_2023_conv.csv"
needs_data = pytest.mark.skipif(
    not AZURE_CONV.exists(), reason="trace data not present (set MCSF_TRACE_DATA)"
)


def test_lmsys_lengths_match_the_published_statistics():
    scenario = make_workload("lmsys:n=100000").sample(np.random.default_rng(2025))
    inst = scenario.instance
    # published LMSYS-Chat-1M subset: prompt mean 40.62 / median 11, output 85.32 / 45
    assert np.median(inst.prompt) == 11
    assert abs(np.median(inst.output) - 45) <= 1
    assert inst.prompt.mean() == pytest.approx(40.62, rel=0.04)  # sd of the mean ~1.1%
    assert inst.output.mean() == pytest.approx(85.32, rel=0.03)  # sd of the mean ~0.5%
    assert inst.prompt.min() >= 1 and inst.output.min() >= 1
    assert np.all(inst.prompt + inst.output <= scenario.memory)


def test_lognormal_fit_reproduces_mean_and_median():
    mu, sigma = LogNormalLengths.parameters(mean=40.62, median=11)
    assert np.exp(mu) == pytest.approx(11)
    assert np.exp(mu + sigma**2 / 2) == pytest.approx(40.62)


def test_small_memory_clips_every_pair():
    prompt, output = LogNormalLengths(memory=64).sample(20000, np.random.default_rng(0))
    assert prompt.max() <= 63 and np.all(prompt + output <= 64)
    assert np.sum(prompt + output == 64) > 100  # clipping happened


def test_poisson_arrivals_have_the_requested_rate():
    inst = make_workload("poisson:rate=50,n=20000").sample(np.random.default_rng(1)).instance
    gaps = np.diff(np.concatenate([[0.0], inst.arrival]))
    assert gaps.mean() == pytest.approx(1 / 50, rel=0.03)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.03)  # exponential gaps
    assert inst.arrival[0] > 0


def test_lmsys_is_poisson_with_lmsys_lengths():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    a = make_workload("lmsys:rate=10,n=300").sample(rng_a)
    b = make_workload("poisson:rate=10,n=300,lengths=lmsys").sample(rng_b)
    assert a == b
    assert a.time_model == "linear" and a.memory == 16492


def test_memory_preset_and_time_model_options():
    workload = make_workload("poisson:memory=paper-llama2-70b,n=5")
    assert workload.memory == 16492
    scenario = make_workload("poisson", n=5, time_model="linear:base=40").sample(
        np.random.default_rng(0)
    )
    assert scenario.time_model == "linear:base=40"


@needs_data
def test_trace_lengths_resample_pairs_of_the_trace():
    trace = load_trace(AZURE_CONV).instance
    pairs = set(zip(trace.prompt.tolist(), trace.output.tolist(), strict=True))
    workload = make_workload(f"poisson:lengths=trace:{AZURE_CONV},n=20000,rate=5")
    inst = workload.sample(np.random.default_rng(3)).instance
    assert set(zip(inst.prompt.tolist(), inst.output.tolist(), strict=True)) <= pairs
    assert inst.prompt.mean() == pytest.approx(trace.prompt.mean(), rel=0.03)
    assert inst.output.mean() == pytest.approx(trace.output.mean(), rel=0.03)


def test_trace_lengths_oversize_policy(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("num_prefill_tokens,num_decode_tokens\n10,10\n80,80\n")
    with pytest.raises(ValueError, match=r"lengths.*line 3"):
        make_workload(f"poisson:lengths=trace:{path},memory=100")
    inst = (
        make_workload(f"poisson:lengths=trace:{path},memory=100,on_oversize=drop,n=50")
        .sample(np.random.default_rng(0))
        .instance
    )
    assert set(inst.prompt.tolist()) == {10}
    clipped = make_lengths(f"trace:{path}", 100, on_oversize="clip")
    prompt, output = clipped.sample(200, np.random.default_rng(0))
    assert set(zip(prompt.tolist(), output.tolist(), strict=True)) == {(10, 10), (80, 20)}


def test_heavy_tail_replaces_exactly_frac_of_requests():
    params = {"rate": 10.0, "n": 5000}
    base = PoissonWorkload(**params).sample(np.random.default_rng(9)).instance
    heavy = HeavyTailWorkload(**params, frac=0.02).sample(np.random.default_rng(9)).instance
    assert np.array_equal(base.arrival, heavy.arrival)
    assert np.array_equal(base.prompt, heavy.prompt)  # extreme="output" keeps prompts
    changed = np.flatnonzero(base.output != heavy.output)
    assert changed.size == 100
    assert heavy.output[changed].min() >= 2000 and heavy.output[changed].max() <= 8000
    assert heavy.output[changed].mean() == pytest.approx(5000, rel=0.1)
    assert np.all(heavy.prompt + heavy.output <= 16492)


def test_heavy_tail_both_and_prompt_extremes_are_clipped_to_memory():
    workload = make_workload("heavy-tail:n=2000,frac=0.1,extreme=both,memory=9000,long_max=8000")
    inst = workload.sample(np.random.default_rng(0)).instance
    assert np.all(inst.prompt + inst.output <= 9000)
    assert np.sum(inst.prompt >= 2000) >= 200
    prompts = (
        make_workload("heavy-tail:n=1000,frac=0.05,extreme=prompt")
        .sample(np.random.default_rng(0))
        .instance.prompt
    )
    assert np.sum(prompts >= 2000) >= 50


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("poisson:rate=0", "rate"),
        ("poisson:n=0", "n"),
        ("poisson:memory=nope", "memory"),
        ("poisson:lengths=zipf", "lengths"),
        ("poisson:lengths=trace:/no/such/file.csv", "lengths"),
        ("poisson:on_oversize=ignore", "on_oversize"),
        ("poisson:time_model=unit", "time_model"),
        ("poisson:time_model=quantum", "time_model"),
        ("lmsys:prediction=noisy:eps=-1", "prediction"),
        ("heavy-tail:frac=1.5", "frac"),
        ("heavy-tail:extreme=middle", "extreme"),
        ("heavy-tail:long_min=0", "long_min"),
        ("heavy-tail:long_min=9000,long_max=8000", "long_min"),
        ("heavy-tail:long_max=20000", "long_max"),
        ("lmsys:speed=3", "speed"),
    ],
)
def test_bad_parameters_name_the_field(spec, field):
    with pytest.raises(ValueError, match=field):
        make_workload(spec)
