"""Hand-computed episodes in the unit-time model (docs/model.md sections 2, 3 and 5).

Every expected number is worked out in the comment next to its assertion. Notation: a request
of prompt ``s`` admitted at boundary ``p`` holds ``s + j`` tokens after its ``j``-th round and
completes at ``p + o``.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_core_helpers import AdmitAll, Never, Plan, drive

from agents import MCSF, MCBenchmark
from mcsf_gym import Instance, simulate
from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.engine import Engine, RoundReport


def test_single_request() -> None:
    inst = Instance(arrival=[0], prompt=[3], output=[4])
    res = simulate(inst, AdmitAll(), memory=10, record=True)
    # Admitted at 0, rounds 1..4 hold 3+1, 3+2, 3+3, 3+4; completes at 0 + 4.
    np.testing.assert_array_equal(res.trace.memory, [4, 5, 6, 7])
    np.testing.assert_array_equal(res.trace.start, [0, 1, 2, 3])
    np.testing.assert_array_equal(res.start, [0])
    np.testing.assert_array_equal(res.finish, [4])
    assert res.total_latency == 4.0  # 4 - 0
    assert res.metrics["rounds"] == 4
    assert res.metrics["peak_memory"] == 7
    assert res.metrics["mean_memory"] == 5.5  # (4+5+6+7)/4
    assert res.metrics["ttft_mean"] == 1.0  # first token at the end of round 1
    assert res.metrics["makespan"] == 4.0


def test_idle_gap_jumps_to_next_arrival() -> None:
    inst = Instance(arrival=[0, 10], prompt=[1, 1], output=[2, 1])
    engine, reports = drive(inst, AdmitAll(), SimConfig(memory=10))
    res = engine.result()
    # A runs rounds starting at 0 and 1 (holds 2, 3), completes at 2; nothing runs or waits,
    # so the engine jumps to B's arrival at 10: B runs the round [10, 11).
    np.testing.assert_array_equal(res.trace.start, [0, 1, 10])
    np.testing.assert_array_equal(res.trace.memory, [2, 3, 2])
    np.testing.assert_array_equal(res.start, [0, 10])
    np.testing.assert_array_equal(res.finish, [2, 11])
    assert len(reports) == 3  # the gap costs no step
    assert all(r.ran for r in reports)
    assert res.total_latency == 3.0  # (2-0) + (11-10)
    assert sum(r.latency for r in reports) == 3.0  # nobody is present during the gap
    assert res.metrics["rounds"] == 3
    assert res.metrics["makespan"] == 11.0  # 11 - 0


def test_arrival_at_a_boundary_is_admissible_there() -> None:
    inst = Instance(arrival=[0, 1], prompt=[1, 1], output=[2, 1])
    res = simulate(inst, AdmitAll(), memory=10, record=True)
    # B arrives at 1, the boundary after round 1, and runs round 2 with A.
    np.testing.assert_array_equal(res.start, [0, 1])
    np.testing.assert_array_equal(res.finish, [2, 2])
    # after round 1: A 1+1 = 2; after round 2: A 1+2 + B 1+1 = 5
    np.testing.assert_array_equal(res.trace.memory, [2, 5])
    assert res.total_latency == 3.0  # (2-0) + (2-1)


def test_memory_released_at_completion_is_usable_the_next_round() -> None:
    # M = 4. A (s=2, o=2) holds 3, 4 and completes at 2; B (s=3, o=1) needs 4 in its round.
    inst = Instance(arrival=[0, 0], prompt=[2, 3], output=[2, 1])
    res = simulate(inst, Plan({0: [0], 2: [1]}), memory=4, record=True)
    # B admitted at 2 holds 3+1 = 4 = M right after A released its 4 tokens.
    np.testing.assert_array_equal(res.trace.memory, [3, 4, 4])
    np.testing.assert_array_equal(res.start, [0, 2])
    np.testing.assert_array_equal(res.finish, [2, 3])
    assert res.metrics["evictions"] == 0
    assert res.total_latency == 5.0  # 2 + 3


def test_memory_checked_after_completing_rounds_too() -> None:
    # M = 7, A (s=2, o=2), B (s=2, o=3), both admitted at 0: after round 1 they hold 3+3 = 6;
    # round 2 would leave 4+4 = 8 > 7 even though A completes in it, so clear-all evicts both.
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[2, 3])
    plan = Plan({0: [0, 1], 1: [0], 3: [1]})
    res = simulate(inst, plan, memory=7, eviction="clear-all", record=True)
    # t=1: both evicted (1 token each thrown away), plan re-admits A: rounds 2, 3 hold 3, 4,
    # A completes at 1 + 2 = 3. B waits (t=2: plan admits nothing), starts at 3: holds 3, 4, 5,
    # completes at 3 + 3 = 6.
    np.testing.assert_array_equal(res.trace.memory, [6, 3, 4, 3, 4, 5])
    np.testing.assert_array_equal(res.start, [1, 3])
    np.testing.assert_array_equal(res.finish, [3, 6])
    np.testing.assert_array_equal(res.first_token, [1, 1])  # first run's first round
    np.testing.assert_array_equal(res.evicted, [1, 1])
    assert res.metrics["evictions"] == 2
    assert res.metrics["tokens_discarded"] == 2  # 1 + 1
    assert res.metrics["rounds"] == 6
    assert res.total_latency == 9.0  # 3 + 6
    # At t=1 nothing waits, so the scheduler is asked again only after the eviction.
    assert plan.calls == [0.0, 1.0, 2.0, 3.0]


def test_everything_evicted_returns_ran_false_at_the_same_boundary() -> None:
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[2, 3])
    engine = Engine(inst, SimConfig(memory=7))
    engine.run_round([0, 1])
    report = engine.run_round()
    # need 6 + 2 = 8 > 7: clear-all evicts both, nothing is admitted: no round, no time.
    assert report == RoundReport(0.0, 0.0, (), (), (0, 1), (), ran=False)
    assert engine.view.time == 1.0
    assert engine.view.round_index == 1
    assert engine.view.memory_in_use == 0
    np.testing.assert_array_equal(engine.view.waiting, [0, 1])


def test_admissions_deferred_from_the_end_when_they_alone_overflow() -> None:
    # M = 6; A s=2, B s=3, C s=1, all o=1 at 0: admitting all needs 3+4+2 = 9 > 6.
    inst = Instance(arrival=[0, 0, 0], prompt=[2, 3, 1], output=[1, 1, 1])
    engine, reports = drive(inst, AdmitAll(), SimConfig(memory=6))
    # Nothing runs, so nothing to evict; defer C (need 7), then B (need 3 <= 6).
    assert reports[0].admitted == (0,)
    assert reports[0].deferred == (2, 1)
    assert reports[0].evicted == ()
    # t=1: B and C need 4 + 2 = 6 <= 6.
    assert reports[1].admitted == (1, 2)
    res = engine.result()
    np.testing.assert_array_equal(res.trace.memory, [3, 6])
    np.testing.assert_array_equal(res.finish, [1, 2, 2])
    assert res.total_latency == 5.0  # 1 + 2 + 2
    assert res.metrics["evictions"] == 0


def test_running_requests_evicted_before_admissions_deferred() -> None:
    # Pins the documented order (evict by policy, then defer): M = 6, A (s=2, o=3) at 0,
    # B (s=4, o=1) at 1. At t=1 admitting B needs A 3+1 + B 4+1 = 9 > 6: clear-all evicts A
    # (1 token thrown away), then B alone (5) fits and runs round 2, completing at 2.
    inst = Instance(arrival=[0, 1], prompt=[2, 4], output=[3, 1])
    engine, reports = drive(inst, AdmitAll(), SimConfig(memory=6))
    assert reports[1].admitted == (1,)
    assert reports[1].evicted == (0,)
    assert reports[1].deferred == ()
    assert reports[1].finished == (1,)
    res = engine.result()
    # A restarts at 2: holds 3, 4, 5, completes at 5.
    np.testing.assert_array_equal(res.trace.memory, [3, 5, 3, 4, 5])
    np.testing.assert_array_equal(res.start, [2, 1])
    np.testing.assert_array_equal(res.finish, [5, 2])
    assert res.metrics["tokens_discarded"] == 1
    assert res.total_latency == 6.0  # (5-0) + (2-1)


def test_idle_wait_when_scheduler_declines() -> None:
    inst = Instance(arrival=[0, 3], prompt=[1, 1], output=[1, 1])
    engine, reports = drive(inst, Plan({3: [0, 1]}), SimConfig(memory=10))
    # t=0, 1, 2: A waits, nothing admitted: idle one round each (A accrues 1 each time).
    assert [(r.duration, r.latency, r.ran) for r in reports[:3]] == [(1.0, 1.0, False)] * 3
    # t=3: both admitted, one round, both present: latency 2.
    assert (reports[3].duration, reports[3].latency, reports[3].ran) == (1.0, 2.0, True)
    res = engine.result()
    np.testing.assert_array_equal(res.finish, [4, 4])
    assert res.total_latency == 5.0  # (4-0) + (4-3)
    assert sum(r.latency for r in reports) == 5.0
    assert res.metrics["rounds"] == 1  # idle waits are not rounds
    assert res.metrics["mean_memory"] == 4.0  # one round holding 2 + 2
    assert res.metrics["ttft_mean"] == 2.5  # ((4-0) + (4-3)) / 2


def test_scheduler_that_never_admits_raises() -> None:
    inst = Instance(arrival=[0, 2], prompt=[1, 1], output=[1, 1])
    # It idles through t=0, 1 (an arrival is still to come), then at t=2 nothing can change.
    with pytest.raises(RuntimeError, match="would wait forever"):
        simulate(inst, Never(), memory=10)


def test_worked_example_mc_benchmark_serves_a_first() -> None:
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    res = simulate(inst, MCBenchmark(), memory=7, record=True)
    # FCFS order: A fits alone (3, 4, 5 <= 7); B at t=0 would make 4+4 = 8 at t'=2: stop.
    # t=1: A holds 5 at t'=3, B would add 4 -> 9; t=2: A 5 + B 3 = 8 > 7; t=3: A done.
    np.testing.assert_array_equal(res.start, [0, 3])
    np.testing.assert_array_equal(res.finish, [3, 5])
    np.testing.assert_array_equal(res.trace.memory, [3, 4, 5, 3, 4])
    assert res.total_latency == 8.0  # 3 + 5, docs/model.md: "A first gives at best TEL = 8"


def test_mcsf_stops_at_first_request_that_does_not_fit() -> None:
    # M = 8: B (s=1, o=1), C (s=6, o=2), D (s=1, o=3), all at 0; õ order B, C, D.
    inst = Instance(arrival=[0, 0, 0], prompt=[1, 6, 1], output=[1, 2, 3])
    res = simulate(inst, MCSF(), memory=8, record=True)
    # t=0: B fits (2). C: 2 + 7 = 9 > 8 at t'=1: stop, although D (2, 3, 4) would fit.
    # t=1: C alone holds 7, 8 <= 8; then D: 7 + 2 = 9 > 8: stop.
    # t=2: C running holds 8 at t'=3; D would add 2: no. t=3: D holds 2, 3, 4, ends at 6.
    np.testing.assert_array_equal(res.start, [0, 1, 3])
    np.testing.assert_array_equal(res.finish, [1, 3, 6])
    np.testing.assert_array_equal(res.trace.memory, [2, 7, 8, 2, 3, 4])
    assert res.total_latency == 10.0  # 1 + 3 + 6


def test_mcsf_admits_shortest_first_and_uses_freed_memory() -> None:
    # M = 8: A (s=1, o=4), B (s=1, o=1), C (s=5, o=2), all at 0; õ order B, C, A.
    inst = Instance(arrival=[0, 0, 0], prompt=[1, 1, 5], output=[4, 1, 2])
    res = simulate(inst, MCSF(), memory=8, record=True)
    # t=0: B (2 at t'=1), C (6, 7 at t'=1, 2) -> 8, 7; A would add 2 at t'=1 -> 10: stop.
    # t=1: C holds 7 at t'=2, A would add 2 -> 9: no. t=2: A runs 2, 3, 4, 5, ends at 6.
    np.testing.assert_array_equal(res.start, [2, 0, 0])
    np.testing.assert_array_equal(res.finish, [6, 1, 2])
    np.testing.assert_array_equal(res.trace.memory, [8, 7, 2, 3, 4, 5])
    assert res.total_latency == 9.0  # 6 + 1 + 2
    assert res.metrics["peak_memory"] == 8


def test_tel_is_sum_of_start_plus_output_minus_arrival() -> None:
    inst = Instance(arrival=[0, 1, 1, 4], prompt=[2, 1, 3, 2], output=[3, 2, 1, 2])
    res = simulate(inst, MCSF(), memory=9)
    # unit time: c_i = p_i + o_i, so TEL = sum(p_i + o_i - a_i).
    expected = float(np.sum(res.start + inst.output - inst.arrival))
    assert res.total_latency == expected
    np.testing.assert_array_equal(res.finish, res.start + inst.output)
