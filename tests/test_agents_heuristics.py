"""The literature's strongest heuristics as agents: each rule on a hand-computed instance.

Unit time throughout. Notation: at a boundary a running request that has produced ``p`` of
its tokens holds ``s + p``; the look-ahead profile ``h = 1, 2, ...`` counts the boundaries
after the coming rounds. Every test pins the rule (or its documented reconstruction), not a
claim that it is better than MC-SF.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents import NotApplicableError, make_agent, run_agent
from agents.geometric import round_up
from mcsf_gym import Instance


def run(instance: Instance, spec: str, memory: int, time_model: str = "unit"):
    return run_agent(instance, spec, memory=memory, time_model=time_model, seed=0)


# ----------------------------------------------------------------- mcsf-skip
def test_mcsf_skip_passes_over_a_request_mcsf_stops_at() -> None:
    # M=9. R(s2, o4) at 0; X(s5, o1) and Y(s1, o2) at 1.
    # b0: R alone. b1: R holds 3 -> 4, 5, 6 at h=1..3. X first (õ 1): 4 + 6 = 10 > 9.
    # MC-SF stops there; skip goes on: Y: 4 + 2 = 6, 5 + 3 = 8 -> admitted at 1, c 3.
    # b2: X: R 5 + Y 3 + X 6 = 14; b3: R 6 + 6 = 12; b4: R done -> X at 4, c 5.
    # MC-SF: b2, b3 stop at X as well; b4: X (6), then Y: 6 + 2 = 8 -> both at 4: c 5, 6.
    inst = Instance(arrival=[0, 1, 1], prompt=[2, 5, 1], output=[4, 1, 2])
    skip = run(inst, "mcsf-skip", memory=9)
    np.testing.assert_array_equal(skip.start, [0, 4, 1])
    np.testing.assert_array_equal(skip.finish, [4, 5, 3])
    assert skip.total_latency == 4 + 4 + 2
    mcsf = run(inst, "mcsf", memory=9)
    np.testing.assert_array_equal(mcsf.start, [0, 4, 4])
    assert mcsf.total_latency == 4 + 4 + 5


# ----------------------------------------------------------------- area-skip
def test_area_skip_orders_by_predicted_memory_time() -> None:
    # M=13. A(s10, o2): area key (2*10 + 2) * 2 = 44; B(s1, o3): (2 + 3) * 3 = 15: B first.
    # b0: B (2, 3, 4); A: 2 + 11 = 13, 3 + 12 = 15 > 13: skipped. b1: B 3 + 11 = 14;
    # b2: 4 + 11 = 15; b3: B done -> A at 3, c 5. TEL 3 + 5 = 8.
    # MC-SF takes A first (õ 2): c 2, then B at 2 (c 5): TEL 7, shortest output first.
    inst = Instance(arrival=[0, 0], prompt=[10, 1], output=[2, 3])
    area = run(inst, "area-skip", memory=13)
    np.testing.assert_array_equal(area.start, [3, 0])
    assert area.total_latency == 8
    np.testing.assert_array_equal(run(inst, "mcsf", memory=13).start, [0, 2])


# ----------------------------------------------------------------- sorted-f
def test_sorted_f_holds_back_a_long_request_that_would_raise_f() -> None:
    # M=100, A, B (s1, o1) and C (s1, o10) at 0; everything fits at once.
    # Prefix F: {A} 1/1 = 1, {A,B} 2/4 = 0.5, {A,B,C} 12/9 = 1.33: admit A, B only.
    # b1: A, B done; C alone: c 11. TEL 1 + 1 + 11 = 13 (MC-SF: all at 0, TEL 12).
    inst = Instance(arrival=[0, 0, 0], prompt=[1, 1, 1], output=[1, 1, 10])
    res = run(inst, "sorted-f", memory=100)
    np.testing.assert_array_equal(res.start, [0, 0, 1])
    assert res.total_latency == 13
    assert run(inst, "mcsf", memory=100).total_latency == 12


def test_sorted_f_takes_the_larger_batch_when_f_falls() -> None:
    # õ = 10, 12: F {A} = 10, {A,B} = 22/4 = 5.5: both at 0.
    inst = Instance(arrival=[0, 0], prompt=[1, 1], output=[10, 12])
    np.testing.assert_array_equal(run(inst, "sorted-f", memory=100).start, [0, 0])


# ----------------------------------------------------------------- a-max / a-min
def interval_instance() -> Instance:
    # A and B (s2, o3, interval [1, 5]) at 0.
    return Instance(
        arrival=[0, 0], prompt=[2, 2], output=[3, 3], prediction=[5, 5], lower=[1, 1]
    )


def test_a_max_plans_with_the_upper_ends() -> None:
    # M=9, u = 5: A: 3, 4, 5, 6, 7; B: 6, 8, 10 > 9 -> B waits. A done at 3 (true o = 3);
    # b3: B alone, c 6. Never an eviction.
    res = run(interval_instance(), "a-max", memory=9)
    np.testing.assert_array_equal(res.start, [0, 3])
    np.testing.assert_array_equal(res.evicted, [0, 0])
    assert res.total_latency == 9


def test_a_min_plans_with_the_lower_ends_and_evicts_on_overflow() -> None:
    # M=9, l = 1: A: 3; B: 3 + 3 = 6 -> both at 0. Rounds hold 6, 8; round 3 would hold
    # 5 + 5 = 10 > 9: newest-first evicts B (2 tokens thrown away); A finishes at 3.
    # b3: B alone, c 6. TEL 3 + 6 = 9 with one eviction.
    res = run(interval_instance(), "a-min", memory=9)
    np.testing.assert_array_equal(res.start, [0, 3])
    np.testing.assert_array_equal(res.finish, [3, 6])
    np.testing.assert_array_equal(res.evicted, [0, 1])
    assert res.metrics["tokens_discarded"] == 2
    # With room for both (M=10) the optimistic plan costs nothing: both finish at 3.
    np.testing.assert_array_equal(run(interval_instance(), "a-min", memory=10).finish, [3, 3])


def test_a_min_keeps_what_it_saw_an_evicted_request_produce() -> None:
    # M=9. A, B (s2, o3, [1, 5]) at 0 as above; C (s6, o1, [1, 1]) at 1 keeps the agent
    # consulted. b1: A, B produced 1 (estimates 2): 4 + 4 = 8, C + 7 = 15 > 9. b2: they
    # produced 2: 5 + 5 = 10 > 9, nothing fits; the engine evicts B (newest) having seen 2
    # tokens. A done at 3. b3: C (estimate 1) before B (estimate max(1, 2 + 1) = 3): C: 7;
    # B: 7 + 3 = 10 > 9, stop. C at 3 (c 4); b4: B at 4 (c 7). Were B's estimate back at
    # l = 1, B (lower id) would go first at 3 and C would wait until 6.
    inst = Instance(
        arrival=[0, 0, 1], prompt=[2, 2, 6], output=[3, 3, 1], prediction=[5, 5, 1],
        lower=[1, 1, 1],
    )
    res = run(inst, "a-min", memory=9)
    np.testing.assert_array_equal(res.start, [0, 4, 3])
    np.testing.assert_array_equal(res.finish, [3, 7, 4])
    np.testing.assert_array_equal(res.evicted, [0, 1, 0])


@pytest.mark.parametrize("spec", ["a-max", "a-min"])
def test_interval_agents_refuse_point_predictions(spec: str) -> None:
    inst = Instance(arrival=[0], prompt=[1], output=[2])
    with pytest.raises(NotApplicableError, match="needs interval predictions"):
        run(inst, spec, memory=10)
    assert issubclass(NotApplicableError, ValueError)


# ----------------------------------------------------------------- gba / gsa
def test_round_up_to_geometric_classes() -> None:
    np.testing.assert_array_equal(round_up(np.array([1, 2, 3, 4, 5, 17]), 1), [1, 2, 4, 4, 8, 32])
    np.testing.assert_array_equal(round_up(np.array([1, 16, 17]), 16), [16, 16, 32])


def test_gba_plans_each_request_at_its_class_end() -> None:
    # M=10, A1, A2 (s2, o3) at 0: class end 4. A1: 3, 4, 5, 6; A2 on top: 6, 8, 10, 12 > 10.
    # b1: A1 holds 3 (remaining 3: 4, 5, 6); A2: 7, 9, 11 > 10. b2: A1 remaining 2 (5, 6);
    # A2: 8, 10, then 5, 6 alone -> admitted at 2, c 5 (A1 really ends at 3).
    # MC-SF plans 3 and admits both at 0 (6, 8, 10).
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 3])
    np.testing.assert_array_equal(run(inst, "gba", memory=10).start, [0, 2])
    np.testing.assert_array_equal(run(inst, "mcsf", memory=10).start, [0, 0])


def test_gsa_ignores_predictions_and_doubles_its_plan() -> None:
    # first=1, M=5: A, B (s1, o2) at 0, both planned 1 token: 2 + 2 = 4 -> both at 0.
    # Round 2 would hold 3 + 3 = 6 > 5: newest-first evicts B; A done at 2. b2: B alone,
    # c 4. A misleading prediction (õ = 1000) changes nothing.
    for prediction in ([2, 2], [1000, 1000]):
        inst = Instance(arrival=[0, 0], prompt=[1, 1], output=[2, 2], prediction=prediction)
        res = run(inst, "gsa:first=1", memory=5)
        np.testing.assert_array_equal(res.start, [0, 2])
        np.testing.assert_array_equal(res.finish, [2, 4])
        np.testing.assert_array_equal(res.evicted, [0, 1])


# ----------------------------------------------------------------- wait / nested-wait
def test_wait_launches_a_class_in_batches_of_its_stage_limit() -> None:
    # Four requests (s1, õ = o = 1) at 0, all class 0; M=8. Class 0: weight 4 * 2 = 8,
    # tokens 1 + 2/2 = 2: L = 8 * 8 / 16 = 4, stage limit b = floor(4 / 2) = 2.
    # b0: need min(2, 4 - 0) = 2 <= 4 waiting: the 2 oldest. b1: the other 2. TEL 6
    # (MC-SF: all four at 0, 4 * 2 = 8 <= 8, TEL 4).
    inst = Instance(arrival=[0, 0, 0, 0], prompt=[1, 1, 1, 1], output=[1, 1, 1, 1])
    res = run(inst, "wait", memory=8)
    np.testing.assert_array_equal(res.start, [0, 0, 1, 1])
    assert res.total_latency == 6


def test_wait_holds_a_class_below_its_threshold_while_the_worker_is_busy() -> None:
    # M=8. L (s2, õ = o = 5, class 2) at 0 runs alone. S1 (s1, o1, class 0) arrives at 1.
    # Class statistics at b1: class 0 weight 2, tokens 2; class 2 weight 6, tokens 5:
    # L0 = 8 * 2 / (4 + 30) = 0.47 -> need min(1, floor(0.47) - 0) = 0: no launch while L
    # runs. b5: L done, nothing runs -> arrival order under the check: S1 at 5.
    inst = Instance(arrival=[0, 1], prompt=[2, 1], output=[5, 1])
    res = run(inst, "wait", memory=8)
    np.testing.assert_array_equal(res.start, [0, 5])
    np.testing.assert_array_equal(run(inst, "mcsf", memory=8).start, [0, 1])


def test_nested_wait_admits_a_cohort_when_the_first_segment_threshold_is_met() -> None:
    # first=1 (segment ends 1, 2, 4, ...), M=8, alpha=0. R (s1, o3) at 0, X, Y (s1, o1) at 1.
    # b0: nothing runs: R. b1: reach = [3, 1] (R produced 1); weights [3, 1], tokens
    # [1.5, 2.5]: L0 = 8 * 3 / 7 = 3.43, stage 3, need min(3, 3 - 0) = 3 > 2 waiting: wait.
    # b2: R in segment 2: reach [3, 1, 1], weights [3, 1, 2], tokens [1.5, 2.5, 4]:
    # L0 = 24 / 15 = 1.6, need 1: X, planned 1: R (plan 4, 2 left) 4 + X 2 = 6 -> at 2.
    # b3: R done: Y alone at 3. TEL 3 + 2 + 3 = 8.
    inst = Instance(arrival=[0, 1, 1], prompt=[1, 1, 1], output=[3, 1, 1])
    res = run(inst, "nested-wait:first=1,alpha=0", memory=8)
    np.testing.assert_array_equal(res.start, [0, 2, 3])
    assert res.total_latency == 8


# ----------------------------------------------------------------- vllm-v1
def test_vllm_v1_starts_a_prompt_longer_than_the_token_budget_left() -> None:
    # M=20, max_num_batched_tokens=4. R (s1, o3) at 0; X (s5, o1) at 1. b1: one running
    # request leaves 3 tokens of budget, > 0 before X: X starts (vLLM chunks its prefill).
    # vllm-fcfs counts the whole prompt: 5 > 3, X waits for the empty worker (b3).
    inst = Instance(arrival=[0, 1], prompt=[1, 5], output=[3, 1])
    spec = "max_num_batched_tokens=4"
    np.testing.assert_array_equal(run(inst, f"vllm-v1:{spec}", memory=20).start, [0, 1])
    np.testing.assert_array_equal(run(inst, f"vllm-fcfs:{spec}", memory=20).start, [0, 3])


def test_vllm_v1_caps_sequences_and_admits_nothing_in_a_preempting_round() -> None:
    # max_num_seqs=1: B waits for A.
    inst = Instance(arrival=[0, 0], prompt=[1, 1], output=[2, 2])
    np.testing.assert_array_equal(run(inst, "vllm-v1:max_num_seqs=1", memory=20).start, [0, 2])
    # M=9: A, B (s2, o3) at 0 (3 + 3); C (s1, o1) at 2. b2: the running pair alone needs
    # 5 + 5 = 10 > 9: no admission, B (newest) preempted; A done at 3. b3: B, C in arrival
    # order: 3 + 2 = 5 -> both. TEL 3 + 6 + 2 = 11.
    inst = Instance(arrival=[0, 0, 2], prompt=[2, 2, 1], output=[3, 3, 1])
    res = run(inst, "vllm-v1", memory=9)
    np.testing.assert_array_equal(res.start, [0, 3, 3])
    np.testing.assert_array_equal(res.evicted, [0, 1, 0])
    assert res.total_latency == 11


# ----------------------------------------------------------------- parameters
NEW_AGENTS = [
    "mcsf-skip", "area-skip", "sorted-f", "a-max", "a-min", "wait", "nested-wait", "gba",
    "gsa", "vllm-v1",
]


@pytest.mark.parametrize("spec", NEW_AGENTS)
def test_every_agent_takes_an_eviction_policy_and_defaults_to_newest_first(spec: str) -> None:
    assert make_agent(spec).default_eviction == "newest-first"
    assert make_agent(f"{spec}:eviction=clear-all").default_eviction == "clear-all"
    assert make_agent(f"{spec}:eviction=random:beta=0.3").default_eviction == "random:beta=0.3"
    with pytest.raises(ValueError, match="eviction='bogus'"):
        make_agent(f"{spec}:eviction=bogus")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("mcsf-skip:alpha=1", "alpha"),
        ("area-skip:alpha=-0.1", "alpha"),
        ("gba:first=0", "first"),
        ("gsa:first=1.5", "first"),
        ("wait:base=1", "base"),
        ("nested-wait:first=0", "first"),
        ("vllm-v1:max_num_seqs=0", "max_num_seqs"),
    ],
)
def test_bad_parameters_name_the_field(spec: str, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        make_agent(spec)
