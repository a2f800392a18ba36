"""MC-SF and MC-Benchmark: hand-computed schedules, the naive reference, memory invariants."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import MCSF, MCBenchmark, MCSFReference, make_agent, run_agent
from mcsf_gym import Instance
from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.engine import Engine
from mcsf_gym.core.predictions import apply_predictions


def run(instance: Instance, spec: str, memory: int, time_model: str = "unit"):
    return run_agent(instance, spec, memory=memory, time_model=time_model, seed=0)


# ----------------------------------------------------------------- hand-computed schedules
def test_worked_example_memory_ten_admits_both() -> None:
    # A(s2,o3), B(s2,o2) at 0, M=10: both fit (peak 8 after round 2) -> c = 3, 2; TEL 5.
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    for spec in ("mcsf", "mc-benchmark", "mcsf-reference"):
        result = run(inst, spec, memory=10)
        np.testing.assert_array_equal(result.start, [0, 0])
        np.testing.assert_array_equal(result.finish, [3, 2])
        assert result.total_latency == 5.0


def test_worked_example_memory_seven_mcsf_admits_b_first() -> None:
    # M=7. Sorted: B(o2), A(o3). B alone: T1 3, T2 4 -> admit. A with B: T2 = 4 + 4 = 8 > 7
    # -> stop. Boundary 1: B holds 3; A: T2 = B 4 + A 3 = 7, T4 = A 5 -> admit at 1, c_A = 4.
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    result = run(inst, "mcsf", memory=7)
    np.testing.assert_array_equal(result.start, [1, 0])
    np.testing.assert_array_equal(result.finish, [4, 2])
    assert result.total_latency == 6.0


def test_worked_example_memory_seven_mc_benchmark_differs() -> None:
    # M=7, FCFS: A first: T3 = 5 -> admit. B with A: T2 = 4 + 4 = 8 > 7 -> stop.
    # Boundary 1: B with A at T3 = A 5 + B 4 = 9 > 7; boundary 2: A 5 + B 3 = 8 > 7.
    # Boundary 3: A done -> B at 3, c_B = 5. TEL = 3 + 5 = 8 (MC-SF: 6).
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    result = run(inst, "mc-benchmark", memory=7)
    np.testing.assert_array_equal(result.start, [0, 3])
    np.testing.assert_array_equal(result.finish, [3, 5])
    assert result.total_latency == 8.0


def test_stops_at_first_request_that_does_not_fit() -> None:
    # M=10. R(s1,o6) at 0 runs alone. At 1: C1(s8,o1), C2(s1,o2) arrive. Sorted: C1, C2.
    # C1: T2 = R 3 + 9 = 12 > 10 -> stop, although C2 would fit (T2 = 5, T3 = 7).
    # C1 fits only once R is done: boundary 6, c_C1 = 7; C2 with C1 at T7 = 9 + 2 = 11 > 10,
    # so C2 at 7, c_C2 = 9. TEL = 6 + 6 + 8 = 20. FCFS (C1 before C2) does the same.
    inst = Instance(arrival=[0, 1, 1], prompt=[1, 8, 1], output=[6, 1, 2])
    for spec in ("mcsf", "mc-benchmark", "mcsf-reference"):
        result = run(inst, spec, memory=10)
        np.testing.assert_array_equal(result.start, [0, 6, 7])
        np.testing.assert_array_equal(result.finish, [6, 7, 9])


def test_alpha_protection_lowers_the_cap() -> None:
    # M=10, alpha=0.5 -> cap 5. B(s2,o2): T1 3, T2 4 -> admit. A(s2,o3) with B: T1 6 > 5.
    # Boundary 1: A with B: T2 = 4 + 3 = 7 > 5. Boundary 2: B done; A: T3..5 = 3, 4, 5 -> admit.
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    result = run(inst, "mcsf:alpha=0.5", memory=10)
    np.testing.assert_array_equal(result.start, [2, 0])
    assert result.total_latency == 7.0


def test_nothing_fits_the_cap_and_nothing_runs_admits_the_first_alone() -> None:
    # M=10, alpha=0.8 -> cap 2: no request fits, so with nothing running the first of the
    # order is admitted alone: MC-SF takes B at 0 (c 2), then A at 2 (c 5);
    # MC-Benchmark takes A at 0 (c 3), then B at 3 (c 5).
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    np.testing.assert_array_equal(run(inst, "mcsf:alpha=0.8", memory=10).start, [2, 0])
    np.testing.assert_array_equal(run(inst, "mc-benchmark:alpha=0.8", memory=10).start, [0, 3])


def test_overrun_raises_the_prediction_and_eviction_keeps_it() -> None:
    # M=8. A(s2, o3, pred 1) at 0; B(s3, o2, pred 2) at 1.
    # b0: A: T1 = 3 -> admit. After round 1 A outlived its prediction: length raised to 2.
    # b1: B: T2 = A 4 + B 4 = 8, T3 = B 5 -> admit. Round 2 holds 8; A raised to 3.
    # b2: round 3 would hold A 5 + B 5 = 10 > 8 -> clear-all evicts both (A keeps length 3).
    # b2 again: A (pred 1, length 3): T3..5 = 3, 4, 5 -> admit; B: T4 = A 4 + B 5 = 9 -> stop.
    # b3: B: T5 = A 5 + B 5 = 10; b4: T5 = 5 + 4 = 9 -> wait. b5: A done -> B at 5, c 7.
    inst = Instance(arrival=[0, 1], prompt=[2, 3], output=[3, 2], prediction=[1, 2])
    for spec in ("mcsf", "mcsf-reference"):
        result = run(inst, spec, memory=8)
        np.testing.assert_array_equal(result.start, [2, 5])
        np.testing.assert_array_equal(result.finish, [5, 7])
        np.testing.assert_array_equal(result.evicted, [1, 1])


def test_ties_are_broken_by_arrival() -> None:
    # Equal predictions: the earlier arrival goes first. M=6: only one of the two fits at 0
    # (together 3 + 3 = 6 after round 1, 8 after round 2).
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[2, 2])
    np.testing.assert_array_equal(run(inst, "mcsf", memory=6).start, [0, 2])


def test_agent_survives_reuse_across_episodes_without_reset() -> None:
    # Driving two engines with one agent and no reset: the sorted queue notices the new view.
    inst = Instance(arrival=[0, 0, 1, 2], prompt=[2, 2, 1, 3], output=[3, 2, 4, 1])
    agent = MCSF()
    expected = run(inst, "mcsf", memory=8)
    for _ in range(2):
        engine = Engine(inst, SimConfig(memory=8))
        while not engine.done:
            waiting = engine.view.waiting.size > 0
            engine.run_round(agent.schedule(engine.view) if waiting else ())
        np.testing.assert_array_equal(engine.result().start, expected.start)


def test_linear_time_check_counts_rounds_not_seconds() -> None:
    # The worked example (M=7) under the linear time model: the same admissions as in unit
    # time, since t and t' count rounds. Round 1: B, b=1, P=2: 44.6 + 0.52 + 0.756 = 45.876 ms.
    # Round 2: B decodes (C=1), A admitted (P=2), b=2: 44.6 + 1.04 + 0.0027 + 0.756 = 46.3987
    # ms, ends at 92.2747 ms: B completes. Rounds 3, 4: A (C=1, 2): 45.1227, 45.1254 ms,
    # A completes at 182.5228 ms. TEL = 92.2747 + 182.5228 = 274.7975 ms.
    inst = Instance(arrival=[0.0, 0.0], prompt=[2, 2], output=[3, 2])
    for spec in ("mcsf", "mcsf-reference"):
        result = run(inst, spec, memory=7, time_model="linear")
        assert result.start.tolist() == pytest.approx([0.045876, 0.0], abs=1e-12)
        assert result.finish.tolist() == pytest.approx([0.1825228, 0.0922747], abs=1e-12)
        assert result.total_latency == pytest.approx(0.2747975, abs=1e-12)
        assert result.metrics["peak_memory"] == 7


def test_mc_benchmark_blocks_behind_the_head_of_the_queue() -> None:
    # M=10. A(s=1, o=6, a=0) runs alone; B(s=6, o=3) and C(s=1, o=1) arrive at 1.
    # MC-Benchmark at b1, FCFS: B: T2 = A 3 + B 7 = 10, T3 = A 4 + B 8 = 12 > 10: stop; C is
    # never tried. B fits only once A is done (b6: 7, 8, 9), and C with it (T7 = 7 + 2).
    # TEL = 6 + (9 - 1) + (7 - 1) = 20.
    inst = Instance(arrival=[0, 1, 1], prompt=[1, 6, 1], output=[6, 3, 1])
    bench = run(inst, "mc-benchmark", memory=10)
    np.testing.assert_array_equal(bench.start, [0, 6, 6])
    np.testing.assert_array_equal(bench.finish, [6, 9, 7])
    assert bench.total_latency == 20.0
    # MC-SF at b1, shortest first: C (T2 = 3 + 2 = 5) admitted; B with A and C: T2 = 12 > 10:
    # stop. B waits for A as before. TEL = 6 + 8 + 1 = 15.
    for spec in ("mcsf", "mcsf-reference"):
        result = run(inst, spec, memory=10)
        np.testing.assert_array_equal(result.start, [0, 6, 1])
        np.testing.assert_array_equal(result.finish, [6, 9, 2])
        assert result.total_latency == 15.0


def test_overestimates_are_safe_but_conservative() -> None:
    # Worked example with M=9 and predictions A 3 (exact), B 4 (true 2). Order A, B.
    # b0: A: 3, 4, 5. B with A: T1 6, T2 8, T3 5 + 5 = 10 > 9: stop (exactly, B would end at
    # 2 and both would fit: 6, 8, 5). b1: B: T2 = A 4 + B 3 = 7, T3 = 5 + 4 = 9, T4, T5 = B 5, 6:
    # admitted; B really completes at 1 + 2 = 3. TEL = 3 + 3 = 6 (exact predictions: 5).
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2], prediction=[3, 4])
    result = run(inst, "mcsf", memory=9)
    np.testing.assert_array_equal(result.start, [0, 1])
    np.testing.assert_array_equal(result.finish, [3, 3])
    assert result.total_latency == 6.0
    assert run(inst.with_predictions(None), "mcsf", memory=9).total_latency == 5.0


# ----------------------------------------------------------------- random instances
@st.composite
def instances(draw, time_model: str, max_n: int = 24) -> tuple[Instance, int]:
    n = draw(st.integers(1, max_n))
    prompt = draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    output = draw(st.lists(st.integers(1, 14), min_size=n, max_size=n))
    if time_model == "unit":
        gaps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
        arrival = np.cumsum(gaps) - gaps[0]
    else:
        gaps = draw(st.lists(st.floats(0, 0.3), min_size=n, max_size=n))
        arrival = np.cumsum(gaps) - gaps[0]
    need = max(s + o for s, o in zip(prompt, output, strict=True))
    memory = need + draw(st.integers(0, 40))
    return Instance(arrival, prompt, output), memory


def _same_schedule(first, second) -> None:
    np.testing.assert_array_equal(first.start, second.start)
    np.testing.assert_array_equal(first.finish, second.finish)
    np.testing.assert_array_equal(first.evicted, second.evicted)


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fast_mcsf_equals_reference(time_model: str, data: st.DataObject) -> None:
    inst, memory = data.draw(instances(time_model))
    prediction = data.draw(st.sampled_from(["exact", "noisy:eps=0.5"]))
    alpha = data.draw(st.sampled_from([0.0, 0.1]))
    seed = data.draw(st.integers(0, 2**16))
    inst = apply_predictions(inst, prediction, np.random.default_rng(seed))
    fast = run_agent(inst, MCSF(alpha), memory=memory, time_model=time_model, seed=seed)
    naive = run_agent(inst, MCSFReference(alpha), memory=memory, time_model=time_model, seed=seed)
    _same_schedule(fast, naive)


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@pytest.mark.parametrize("spec", ["mcsf", "mc-benchmark", "mcsf:alpha=0.1"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_exact_predictions_never_overflow_nor_evict(
    time_model: str, spec: str, data: st.DataObject
) -> None:
    inst, memory = data.draw(instances(time_model))
    agent = make_agent(spec)
    result = run_agent(inst, agent, memory=memory, time_model=time_model)
    assert result.metrics["evictions"] == 0
    assert result.metrics["peak_memory"] <= memory
    # Beyond M (1 - alpha) only while a request admitted alone (by the empty-worker rule) runs.
    cap = max(np.floor(memory * (1 - agent.alpha)), (inst.prompt + inst.output).max())
    assert result.metrics["peak_memory"] <= cap
    assert np.isfinite(result.finish).all()


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@pytest.mark.parametrize("spec", ["mcsf", "mc-benchmark"])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_overestimating_predictions_never_overflow(
    time_model: str, spec: str, data: st.DataObject
) -> None:
    # upper(2): o <= õ <= 2 o. The predicted profile dominates the true one, so the check that
    # holds for the predictions holds for the true lengths: no eviction, never above M.
    inst, memory = data.draw(instances(time_model))
    inst = apply_predictions(
        inst, "upper:alpha=2", np.random.default_rng(data.draw(st.integers(0, 99)))
    )
    result = run_agent(inst, spec, memory=memory, time_model=time_model)
    assert result.metrics["evictions"] == 0
    assert result.metrics["peak_memory"] <= memory


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@pytest.mark.parametrize("prediction", ["exact", "noisy:eps=0.5", "interval:eps=0.5"])
def test_fast_mcsf_equals_reference_on_lmsys_like_traffic(time_model: str, prediction: str) -> None:
    from mcsf_gym.workloads import make_workload

    scenario = make_workload(f"lmsys:rate=20,n=300,memory=3000,prediction={prediction}").sample(
        np.random.default_rng(5)
    )
    inst = scenario.instance
    if time_model == "unit":
        inst = Instance(np.floor(inst.arrival * 10), inst.prompt, inst.output, inst.prediction)
    fast = run_agent(inst, "mcsf", memory=3000, time_model=time_model, seed=5)
    naive = run_agent(inst, "mcsf-reference", memory=3000, time_model=time_model, seed=5)
    assert fast.metrics["peak_memory"] >= 0.9 * 3000  # memory is contended
    _same_schedule(fast, naive)


def test_mc_benchmark_is_fcfs_under_the_same_check() -> None:
    # MC-Benchmark never admits a request while an earlier arrival waits.
    rng = np.random.default_rng(3)
    n = 60
    inst = Instance(np.sort(rng.integers(0, 30, n)), rng.integers(1, 6, n), rng.integers(1, 20, n))
    result = run(inst, "mc-benchmark", memory=60)
    assert (np.diff(result.start) >= 0).all()


def test_mcbenchmark_and_mcsf_reject_bad_alpha() -> None:
    for cls in (MCSF, MCBenchmark, MCSFReference):
        with pytest.raises(ValueError, match="alpha"):
            cls(alpha=1.0)
        with pytest.raises(ValueError, match="alpha"):
            cls(alpha="high")  # type: ignore[arg-type]
