"""The baselines' overflow handling, by hand, and every request still completing.

alpha-greedy (clear-all, with its livelock breaker), alpha-beta (random clearing), vllm-fcfs
(newest-first, no admission in a round that evicts, vLLM's caps) and sf-no-lookahead
(shortest first, newest-first). Unit time throughout; notation as in ``test_core_eviction.py``:
before a round a running request's footprint is ``s + produced + 1``. The random coin flips
are those of ``numpy.random.default_rng(seed).random(k)``, listed in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_core_helpers import drive

from agents import VLLMFCFS, AlphaBeta, AlphaGreedy, make_agent, run_agent
from mcsf_gym import Instance
from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.engine import Engine
from mcsf_gym.core.predictions import apply_predictions


def run(instance: Instance, spec: str, memory: int, seed: int = 0):
    return run_agent(instance, spec, memory=memory, time_model="unit", seed=seed, record=True)


# ----------------------------------------------------------------- alpha-greedy
def test_alpha_greedy_clear_all_then_readmits_in_arrival_order() -> None:
    # M=9, alpha=0.2: threshold 7.2. A(s=2, o=3, a=0), B(s=3, o=2, a=1).
    inst = Instance(arrival=[0, 1], prompt=[2, 3], output=[3, 2])
    agent = AlphaGreedy(0.2)
    res = run(inst, agent, memory=9)
    # b0: A (3 <= 7.2). b1: in use 3, B adds 4: 7 <= 7.2, and the round fits (3 + 1 + 4 = 8).
    # Round 2 holds A 4 + B 4 = 8. b2: round 3 would hold 5 + 5 = 10 > 9: both evicted (A
    # produced 2, B 1: 3 tokens). The worker is empty, a new state (B arrived since b0): both
    # re-admitted (3 + 4 = 7 <= 7.2). Rounds 3, 4 hold 7, 9; B completes at 4, A at 5.
    np.testing.assert_array_equal(res.start, [2, 2])
    np.testing.assert_array_equal(res.finish, [5, 4])
    np.testing.assert_array_equal(res.evicted, [1, 1])
    np.testing.assert_array_equal(res.first_token, [1, 2])
    assert res.metrics["tokens_discarded"] == 3
    np.testing.assert_array_equal(res.trace.memory, [3, 8, 7, 9, 5])
    assert res.total_latency == 8.0  # 5 + (4 - 1)
    assert agent.livelocks_broken == 0


def livelock_instance() -> Instance:
    # A and B (s=2, o=4) at 0; with M=10 they need 6 + 6 = 12 at the end of a joint run.
    return Instance(arrival=[0, 0], prompt=[2, 2], output=[4, 4])


def test_alpha_greedy_paper_rule_cycles_forever_on_this_instance() -> None:
    # The rule without the breaker: b0 admits both (3 + 3 = 6 <= 8); rounds hold 6, 8, 10;
    # round 4 would hold 12 > 10, clear-all, the empty worker sees the same queue and admits
    # both again: every 3 rounds, the same 6 tokens are thrown away and nothing finishes.
    agent = AlphaGreedy(0.2)
    agent.detect_livelock = False  # the paper's rule as written
    engine = Engine(livelock_instance(), SimConfig(memory=10, eviction="clear-all"))
    agent.reset(np.random.default_rng(0))
    batches = []
    for _ in range(60):
        admit = agent.schedule(engine.view) if engine.view.waiting.size else []
        if admit:
            batches.append(tuple(admit))
        engine.run_round(admit)
    assert not engine.done and engine.view.n_finished == 0
    assert set(batches) == {(0, 1)} and len(batches) == 15  # 60 steps = 15 x (3 rounds + 1)
    assert engine.view.round_index == 45


def test_alpha_greedy_breaks_the_livelock_and_every_request_completes() -> None:
    agent = AlphaGreedy(0.2)
    res = run(livelock_instance(), agent, memory=10)
    # b3: both evicted (3 tokens each); the empty worker sees (0 finished, 2 arrived) as at b0:
    # a repeat. The breaker halves the batch: A alone at 3 (holds 3..6, completes at 7); B
    # waits for the completion (no admission while A runs), then runs alone: 7 -> 11.
    np.testing.assert_array_equal(res.start, [3, 7])
    np.testing.assert_array_equal(res.finish, [7, 11])
    np.testing.assert_array_equal(res.evicted, [1, 1])
    assert res.metrics["tokens_discarded"] == 6
    assert agent.livelocks_broken == 1
    np.testing.assert_array_equal(res.trace.memory, [6, 8, 10, 3, 4, 5, 6, 3, 4, 5, 6])
    assert res.total_latency == 18.0  # 7 + 11


def test_alpha_greedy_admissions_never_displace_running_requests() -> None:
    # M=10, alpha=0 (threshold M). A(s=1, o=5, a=0), B(s=7, o=3, a=1). At b1 A holds 2: the
    # current-use rule alone would admit B (2 + 8 = 10 <= 10), but the round would need
    # 2 + 1 + 8 = 11 > 10 and the engine would clear A to fit B; at b2 A (2 + 8 + 1 + 2 = 13)
    # would clear B, and so on for ever with the worker never empty. The cap on the coming
    # round keeps B waiting until A completes at 5; B then runs 5 -> 8 (holds 8, 9, 10).
    inst = Instance(arrival=[0, 1], prompt=[1, 7], output=[5, 3])
    res = run(inst, "alpha-greedy:alpha=0", memory=10)
    np.testing.assert_array_equal(res.start, [0, 5])
    np.testing.assert_array_equal(res.finish, [5, 8])
    assert res.metrics["evictions"] == 0
    np.testing.assert_array_equal(res.trace.memory, [2, 3, 4, 5, 6, 8, 9, 10])


# ----------------------------------------------------------------- alpha-beta
@pytest.mark.parametrize(
    ("seed", "start", "finish", "evicted", "discarded"),
    [
        # seed 0: b3, excess 2, footprints 6 each; draws [0.637, 0.270] < 0.5: B only. A runs
        # round 4 (holds 6) and completes at 4; B restarts at 4 and completes at 8.
        (0, [0, 4], [4, 8], [0, 1], 3),
        # seed 8: [0.327, 0.987]: A only; B completes at 4, A restarts at 4, completes at 8.
        (8, [4, 0], [8, 4], [1, 0], 3),
        # seed 2: [0.262, 0.299]: both (6 tokens). Nothing breaks the cycle but the coins:
        # both re-admitted at 3, rounds hold 6, 8, 10; at b6 the next draws [0.814, 0.092]
        # evict B (3 more tokens). A completes at 3 + 4 = 7, B restarts at 7 -> 11.
        (2, [3, 7], [7, 11], [1, 2], 9),
    ],
)
def test_alpha_beta_clears_each_request_with_probability_beta(
    seed: int, start: list[int], finish: list[int], evicted: list[int], discarded: int
) -> None:
    agent = AlphaBeta(alpha=0.2, beta=0.5)
    assert agent.default_eviction == "random:beta=0.5"
    res = run(livelock_instance(), agent, memory=10, seed=seed)
    np.testing.assert_array_equal(res.start, start)
    np.testing.assert_array_equal(res.finish, finish)
    np.testing.assert_array_equal(res.evicted, evicted)
    assert res.metrics["tokens_discarded"] == discarded
    assert res.metrics["peak_memory"] == 10


def test_alpha_beta_rejects_bad_parameters() -> None:
    for beta in (0, 1.5, True, "half"):
        with pytest.raises(ValueError, match="beta"):
            AlphaBeta(alpha=0.1, beta=beta)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        AlphaBeta(alpha=1.0, beta=0.1)


# ----------------------------------------------------------------- vllm-fcfs
def test_vllm_fcfs_preempts_the_newest_and_admits_nothing_in_that_round() -> None:
    # M=12. A, B, C (s=1, o=5) arrive at 0, 1, 2, D (s=1, o=1) at 4.
    inst = Instance(arrival=[0, 1, 2, 4], prompt=[1, 1, 1, 1], output=[5, 5, 5, 1])
    engine, reports = drive(
        inst, make_agent("vllm-fcfs"), SimConfig(memory=12, eviction="newest-first")
    )
    # b0..b2: each admitted on arrival (free 12, 9, 5). Rounds 1-4 hold 2, 5, 9, 12.
    # b4: the running requests alone need 6 + 5 + 4 = 15 > 12: the budget is negative, so D
    # is not admitted; the engine preempts C (newest, footprint 4 >= excess 3).
    assert reports[4].evicted == (2,)
    assert reports[4].admitted == ()
    # b5: A completed at 5; free 12 - (5 + 1) = 6: C (arrival 2) then D (arrival 4) admitted.
    assert reports[5].admitted == (2, 3)
    res = engine.result()
    np.testing.assert_array_equal(res.start, [0, 1, 5, 5])
    np.testing.assert_array_equal(res.finish, [5, 6, 10, 6])
    np.testing.assert_array_equal(res.evicted, [0, 0, 1, 0])
    assert res.metrics["tokens_discarded"] == 2
    np.testing.assert_array_equal(res.trace.memory, [2, 5, 9, 12, 11, 10, 3, 4, 5, 6])
    assert res.total_latency == 20.0  # 5 + 5 + 8 + 2
    assert all(not (r.evicted and r.admitted) for r in reports)


def test_vllm_fcfs_max_num_seqs() -> None:
    # A, B, C (s=1, o=2) at 0, cap 2: A, B at 0; none at 1 (2 running); C at 2, ends at 4.
    inst = Instance(arrival=[0, 0, 0], prompt=[1, 1, 1], output=[2, 2, 2])
    res = run(inst, "vllm-fcfs:max_num_seqs=2", memory=100)
    np.testing.assert_array_equal(res.start, [0, 0, 2])
    np.testing.assert_array_equal(res.finish, [2, 2, 4])


def test_vllm_fcfs_max_num_batched_tokens() -> None:
    # Cap 4 tokens per round: prompts of admitted requests + 1 per decoding request.
    # A(s=3, o=3), B(s=3, o=1), C(s=1, o=1) at 0. b0: A (3; A + B = 6 > 4). b1: A decodes (1):
    # B (1 + 3 = 4) fits, C (5) does not. b2: B done, A decodes: C (1 + 1 = 2).
    inst = Instance(arrival=[0, 0, 0], prompt=[3, 3, 1], output=[3, 1, 1])
    res = run(inst, "vllm-fcfs:max_num_batched_tokens=4", memory=100)
    np.testing.assert_array_equal(res.start, [0, 1, 2])
    np.testing.assert_array_equal(res.finish, [3, 2, 3])
    # A prompt above the cap, with nothing running, is admitted alone rather than never.
    big = Instance(arrival=[0, 0], prompt=[5, 1], output=[1, 1])
    res = run(big, "vllm-fcfs:max_num_batched_tokens=2", memory=100)
    np.testing.assert_array_equal(res.start, [0, 1])


def test_vllm_fcfs_rejects_bad_caps() -> None:
    for field in ("max_num_seqs", "max_num_batched_tokens"):
        for value in (0, -3, 2.5, True):
            with pytest.raises(ValueError, match=field):
                VLLMFCFS(**{field: value})


# ----------------------------------------------------------------- sf-no-lookahead
def test_sf_no_lookahead_overflows_where_mcsf_looks_ahead() -> None:
    # M=8: A(s=1, o=6), B(s=1, o=2), C(s=1, o=3) at 0; predicted shortest first: B, C, A.
    inst = Instance(arrival=[0, 0, 0], prompt=[1, 1, 1], output=[6, 2, 3])
    res = run(inst, "sf-no-lookahead", memory=8)
    # b0: the coming round fits all three (2 + 2 + 2 = 6), admitted in the order B, C, A.
    # b1: the next round needs 6 + 3 = 9 > 8: the newest, A (footprint 3), is preempted
    # (1 token). Round 2: B 3 + C 3; B completes at 2. b2: free 8 - (3 + 1) = 4: A restarts;
    # round 3: C 4 + A 2, C completes at 3; A alone holds 3..7 and completes at 2 + 6 = 8.
    np.testing.assert_array_equal(res.start, [2, 0, 0])
    np.testing.assert_array_equal(res.finish, [8, 2, 3])
    np.testing.assert_array_equal(res.evicted, [1, 0, 0])
    assert res.metrics["tokens_discarded"] == 1
    np.testing.assert_array_equal(res.trace.memory, [6, 6, 6, 3, 4, 5, 6, 7])
    assert res.total_latency == 13.0
    # MC-SF checks the future: A does not fit at 0 (9 > 8 at round 2) but does at 1, so
    # nothing is evicted and A completes at 7: TEL 12.
    mcsf = run(inst, "mcsf", memory=8)
    np.testing.assert_array_equal(mcsf.start, [1, 0, 0])
    assert mcsf.total_latency == 12.0
    assert mcsf.metrics["evictions"] == 0


def test_sf_no_lookahead_sorts_by_prediction_not_true_length() -> None:
    # Same instance, A predicted shortest (predictions 1, 2, 3): admitted in the order A, B, C,
    # so C is the newest. b1: 6 + 3 = 9 > 8: C preempted (1 token). Round 2: A 3 + B 3, B
    # completes. b2: free 8 - (3 + 1) = 4: C restarts; rounds 3, 4 hold A 4 + C 2, A 5 + C 3.
    # b4: 8 + 2 = 10 > 8: C preempted again (2 tokens). A holds 6, 7 and completes at 6; b5:
    # free 8 - 7 = 1 < 2. b6: C restarts, completes at 9.
    inst = Instance(arrival=[0, 0, 0], prompt=[1, 1, 1], output=[6, 2, 3], prediction=[1, 2, 3])
    res = run(inst, "sf-no-lookahead", memory=8)
    np.testing.assert_array_equal(res.start, [0, 0, 6])
    np.testing.assert_array_equal(res.finish, [6, 2, 9])
    np.testing.assert_array_equal(res.evicted, [0, 0, 2])
    assert res.metrics["tokens_discarded"] == 3
    np.testing.assert_array_equal(res.trace.memory, [6, 6, 6, 8, 6, 7, 2, 3, 4])


# ----------------------------------------------------------------- every request completes
@st.composite
def noisy_instances(draw) -> tuple[Instance, int, int]:
    n = draw(st.integers(1, 20))
    prompt = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    output = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    gaps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    memory = max(s + o for s, o in zip(prompt, output, strict=True)) + draw(st.integers(0, 20))
    seed = draw(st.integers(0, 2**16))
    inst = Instance(np.cumsum(gaps) - gaps[0], prompt, output)
    return apply_predictions(inst, "noisy:eps=0.8", np.random.default_rng(seed)), memory, seed


@pytest.mark.parametrize(
    "spec",
    [
        "alpha-greedy:alpha=0.1",
        "alpha-greedy:alpha=0",
        "alpha-beta:alpha=0.1,beta=0.2",
        "vllm-fcfs",
        "vllm-fcfs:max_num_seqs=4,max_num_batched_tokens=12",
        "sf-no-lookahead",
    ],
)
@settings(max_examples=40, deadline=None)
@given(case=noisy_instances())
def test_baselines_complete_every_request_and_never_admit_into_an_eviction(
    spec: str, case: tuple[Instance, int, int]
) -> None:
    inst, memory, seed = case
    agent = make_agent(spec)
    config = SimConfig(memory=memory, eviction=agent.default_eviction, seed=seed)
    engine, reports = drive(inst, agent, config, max_steps=20_000)
    res = engine.result()
    assert np.isfinite(res.finish).all()
    assert res.trace.memory.max() <= memory
    # Their own admissions always fit the coming round: evictions come from growth only.
    assert all(not (r.evicted and r.admitted) for r in reports)


def test_alpha_greedy_paper_settings_finish_on_lmsys_like_traffic() -> None:
    # 400 LMSYS-like requests at 50/s, linear time, M = 16492: every request completes.
    from mcsf_gym.workloads import make_workload

    scenario = make_workload("lmsys:rate=50,n=400").sample(np.random.default_rng(1))
    for spec in ("alpha-greedy:alpha=0.1", "alpha-beta:alpha=0.1,beta=0.1", "vllm-fcfs"):
        res = run_agent(scenario.instance, spec, memory=16492, time_model="linear", seed=1)
        assert np.isfinite(res.finish).all()
        assert res.metrics["peak_memory"] <= 16492
