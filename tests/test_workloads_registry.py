"""make_workload, the registry, and properties every registered workload must have."""

import os
from pathlib import Path

import numpy as np
import pytest

from agents import MCSF
from mcsf_gym import simulate
from mcsf_gym.workloads import WORKLOADS, Scenario, Workload, make_workload
from mcsf_gym.workloads.poisson import PoissonWorkload

# Trace files: the folder named by MCSF_TRACE_DATA, or ../shared/data beside the repository.
DATA = Path(
    os.environ.get("MCSF_TRACE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
AZURE_CONV = DATA / "azure_llm_2023_conv.csv"
needs_data = pytest.mark.skipif(
    not AZURE_CONV.exists(), reason="trace data not present (set MCSF_TRACE_DATA)"
)


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    rows = [
        f"{t:.3f},{p},{o}"
        for t, p, o in zip(
            np.cumsum(rng.exponential(0.2, 300)),
            rng.integers(1, 500, 300),
            rng.integers(1, 300, 300),
            strict=True,
        )
    ]
    path = tmp_path_factory.mktemp("trace") / "small.csv"
    path.write_text("arrived_at,num_prefill_tokens,num_decode_tokens\n" + "\n".join(rows) + "\n")
    return path


SPECS = {
    "paper-model1": ["paper-model1", "paper-model1:n=12,prediction=upper:alpha=2"],
    "paper-model2": ["paper-model2:n=20", "paper-model2:n=20,load=1.5,prediction=interval:eps=0.5"],
    "poisson": ["poisson:n=200,rate=20", "poisson:n=200,memory=2000,prediction=noisy:eps=0.5"],
    "lmsys": ["lmsys:n=200,rate=50"],
    "heavy-tail": ["heavy-tail:n=200,frac=0.05", "heavy-tail:n=200,memory=3000,long_max=2999"],
    "adversarial-style": [
        "adversarial-style:memory=30",
        "adversarial-style:prediction=noisy:eps=0.8",
    ],
    "trace": [
        "trace:path={trace},n=50",
        "trace:path={trace},rate=8,n=100,memory=400,on_oversize=clip",
    ],
}


def all_specs():
    return [spec for name in sorted(SPECS) for spec in SPECS[name]]


def test_every_registered_workload_is_tested():
    assert set(SPECS) == set(WORKLOADS.names())


@pytest.mark.parametrize("spec", all_specs())
def test_scenarios_are_valid_reproducible_and_seed_dependent(spec, small_trace):
    workload = make_workload(spec.format(trace=small_trace))
    assert isinstance(workload, Workload)
    first = [workload.sample(np.random.default_rng(seed)) for seed in range(8)]
    again = [workload.sample(np.random.default_rng(seed)) for seed in range(8)]
    assert first == again
    distinct = {tuple(s.instance.arrival) + tuple(s.instance.prediction) for s in first}
    deterministic = spec.startswith("adversarial-style") and "prediction" not in spec
    assert len(distinct) == 1 if deterministic else len(distinct) > 1
    for scenario in first:
        assert isinstance(scenario, Scenario)
        inst = scenario.instance
        assert np.all(inst.prompt + inst.output <= scenario.memory)
        assert np.all(np.diff(inst.arrival) >= 0) and inst.arrival[0] >= 0
        if scenario.time_model == "unit":
            assert np.all(inst.arrival == np.round(inst.arrival))
        if "prediction" not in spec:
            assert np.array_equal(inst.prediction, inst.output)


@pytest.mark.parametrize("spec", all_specs())
def test_scenarios_run_in_the_simulator(spec, small_trace):
    scenario = make_workload(spec.format(trace=small_trace)).sample(np.random.default_rng(3))
    inst = scenario.instance
    result = simulate(inst, MCSF(), memory=scenario.memory, time_model=scenario.time_model)
    assert np.all(result.finish >= inst.arrival + 0)
    assert result.metrics["peak_memory"] <= scenario.memory


def test_predictions_come_from_the_same_generator():
    workload = make_workload("lmsys:n=500,prediction=noisy:eps=0.5")
    a = workload.sample(np.random.default_rng(4)).instance
    assert not np.array_equal(a.prediction, a.output)
    assert np.all(np.abs(a.prediction - a.output) <= 0.5 * a.output + 0.5)
    exact = make_workload("lmsys:n=500").sample(np.random.default_rng(4)).instance
    assert np.array_equal(exact.output, a.output)  # predictions are drawn after the requests


def test_unknown_workload_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown workload 'zipf'") as error:
        make_workload("zipf:n=3")
    for name in WORKLOADS.names():
        assert name in str(error.value)


def test_unknown_parameter_is_named():
    with pytest.raises(ValueError, match="burstiness"):
        make_workload("poisson:burstiness=3")


def test_overrides_and_workload_objects():
    workload = make_workload("lmsys:rate=10", n=7, rate=20)
    assert (workload.n, workload.rate) == (7, 20.0)
    assert make_workload(workload) is workload
    copy = make_workload(workload, n=9)
    assert isinstance(copy, PoissonWorkload) and (copy.n, copy.rate) == (9, 20.0)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        make_workload(workload, n=0)
    with pytest.raises(ValueError, match="bad parameters"):
        make_workload(workload, speed=2)
    with pytest.raises(ValueError, match="spec string"):
        make_workload(42)  # type: ignore[arg-type]


@needs_data
def test_trace_replay_windows_and_resampling():
    workload = make_workload(f"trace:path={AZURE_CONV},n=1000")
    trace = workload.trace.instance
    starts = set()
    for seed in range(5):
        inst = workload.sample(np.random.default_rng(seed)).instance
        assert inst.n == 1000 and inst.arrival[0] == 0
        hits = np.flatnonzero(
            (trace.prompt[: trace.n - 999] == inst.prompt[0])
            & (trace.output[: trace.n - 999] == inst.output[0])
        )
        start = next(h for h in hits if np.array_equal(trace.prompt[h : h + 1000], inst.prompt))
        assert np.allclose(inst.arrival, trace.arrival[start : start + 1000] - trace.arrival[start])
        starts.add(start)
    assert len(starts) == 5
    whole = make_workload(f"trace:{AZURE_CONV}").sample(np.random.default_rng(0)).instance
    assert whole.n == 19366 and np.array_equal(whole.arrival, trace.arrival)
    faster = make_workload(f"trace:path={AZURE_CONV},time_scale=0.5").trace.instance
    assert np.allclose(faster.arrival, trace.arrival * 0.5)
    resampled = make_workload(f"trace:path={AZURE_CONV},rate=20,n=4000")
    inst = resampled.sample(np.random.default_rng(0)).instance
    assert inst.n == 4000
    assert np.diff(np.concatenate([[0.0], inst.arrival])).mean() == pytest.approx(0.05, rel=0.05)
    assert inst.output.mean() == pytest.approx(trace.output.mean(), rel=0.05)


def test_trace_workload_errors(tmp_path, small_trace):
    with pytest.raises(ValueError, match="n must be <= the trace's 300"):
        make_workload(f"trace:path={small_trace},n=301")
    lengths = tmp_path / "lengths.csv"
    lengths.write_text("num_prefill_tokens,num_decode_tokens\n3,4\n5,6\n")
    with pytest.raises(ValueError, match="no arrival times; give rate="):
        make_workload(f"trace:path={lengths}")
    assert (
        make_workload(f"trace:path={lengths},rate=1,n=3")
        .sample(np.random.default_rng(0))
        .instance.n
        == 3
    )
    with pytest.raises(ValueError, match="memory 100"):
        make_workload(f"trace:path={small_trace},memory=100")
    dropped = make_workload(f"trace:path={small_trace},memory=300,on_oversize=drop")
    assert dropped.trace.dropped > 0 and dropped.trace.instance.n == 300 - dropped.trace.dropped
    for spec, field in [
        (f"trace:path={small_trace},rate=0", "rate"),
        (f"trace:path={small_trace},n=0", "n"),
        (f"trace:path={small_trace},time_scale=-1", "time_scale"),
        (f"trace:path={small_trace},format=xml", "format"),
        (f"trace:path={small_trace},time_model=unit", "time_model"),
        ("trace:path=", "path"),
    ]:
        with pytest.raises(ValueError, match=field):
            make_workload(spec)
