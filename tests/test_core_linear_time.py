"""Hand-computed episodes in the ``linear`` time model (docs/model.md section 3).

A round lasts ``44.6 + 0.52 b + 0.0027 C + 0.378 P`` milliseconds: ``b`` requests in the round,
``C`` output tokens produced so far by the round's decoding (already running) requests, ``P``
prompt tokens of the requests admitted for it. Times are in seconds. Memory semantics are the
unit model's (rounds are counted, not seconds). Every expected number is worked out in the
comment next to its assertion; ``ms(...)`` sums are written in milliseconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_core_helpers import AdmitAll, FitNextRound, drive

from mcsf_gym import Instance, simulate
from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.engine import Engine, RoundReport
from mcsf_gym.core.time_models import LinearTime, make_time_model
from mcsf_gym.core.view import StateView

LINEAR = SimConfig(memory=100, time_model="linear")


def approx(value: float | list[float]) -> object:
    return pytest.approx(value, rel=1e-12, abs=1e-12)


class NotBefore:
    """Admits every waiting request once the clock reaches ``time``; nothing before."""

    def __init__(self, time: float) -> None:
        self.time = time
        self.calls: list[float] = []

    def reset(self, rng: np.random.Generator) -> None:
        self.calls = []

    def schedule(self, view: StateView) -> list[int]:
        self.calls.append(view.time)
        return view.waiting.tolist() if view.time >= self.time else []


def test_duration_formula_and_units() -> None:
    model = LinearTime()
    # (44.6 + 0.52*3 + 0.0027*100 + 0.378*50) ms = (44.6 + 1.56 + 0.27 + 18.9) ms = 65.33 ms
    assert model.duration(3, 100, 50) == approx(0.06533)
    assert model.duration(1, 0, 0) == approx(0.04512)  # 44.6 + 0.52
    assert model.idle_duration == approx(0.0446)  # an empty round: the base only
    custom = make_time_model("linear:base=10,per_request=1,per_context=0.5,per_prefill=2")
    # (10 + 1*2 + 0.5*4 + 2*3) ms = 20 ms
    assert custom.duration(2, 4, 3) == approx(0.020)
    assert custom.idle_duration == approx(0.010)
    assert make_time_model("linear") == LinearTime()  # the named preset is the default fit


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("linear:base=0", r"base must be in \(0, 1e\+09\], got 0"),
        ("linear:base=inf", "base must be a finite number"),
        ("linear:per_context=-1", r"per_context must be in \[0, 1e\+09\], got -1"),
        ("linear:per_prefill=abc", "per_prefill must be a finite number .* got 'abc'"),
        ("linear:per_request=true", "per_request must be a finite number .* got True"),
        ("linear:per_token=1", "unknown linear time coefficient"),
        ("linear:preset=h100", "unknown linear time preset 'h100'"),
    ],
)
def test_bad_linear_specs_are_value_errors(spec: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_time_model(spec)


def test_single_request_round_by_round() -> None:
    inst = Instance(arrival=[0.0], prompt=[10], output=[3])
    res = simulate(inst, AdmitAll(), LINEAR, record=True)
    # round 1: b=1, C=0, P=10: 44.6 + 0.52 + 3.78 = 48.9 ms
    # round 2: b=1, C=1, P=0:  44.6 + 0.52 + 0.0027 = 45.1227 ms
    # round 3: b=1, C=2:       44.6 + 0.52 + 0.0054 = 45.1254 ms
    assert res.trace.duration.tolist() == approx([0.0489, 0.0451227, 0.0451254])
    assert res.trace.start.tolist() == approx([0.0, 0.0489, 0.0940227])
    np.testing.assert_array_equal(res.trace.memory, [11, 12, 13])  # s + j tokens
    assert res.finish.tolist() == approx([0.1391481])  # 48.9 + 45.1227 + 45.1254 ms
    assert res.first_token.tolist() == approx([0.0489])
    assert res.total_latency == approx(0.1391481)
    assert res.metrics["rounds"] == 3
    assert res.metrics["makespan"] == approx(0.1391481)
    assert res.metrics["throughput_tokens_per_s"] == approx(3 / 0.1391481)


def test_arrival_mid_round_waits_for_the_boundary_and_accrues_partial_latency() -> None:
    # A(s=2, o=3, a=0), B(s=3, o=2, a=0.03): B arrives during A's first round.
    inst = Instance(arrival=[0.0, 0.03], prompt=[2, 3], output=[3, 2])
    engine, reports = drive(inst, AdmitAll(), LINEAR)
    # round 1 [0, 45.876 ms): A alone, b=1, P=2: 44.6 + 0.52 + 0.756 = 45.876 ms.
    # round 2: A decodes (C=1), B admitted (P=3), b=2: 44.6 + 1.04 + 0.0027 + 1.134 = 46.7767 ms,
    #   ends at 92.6527 ms.
    # round 3: A (C=2) and B (C=1) decode, C=3, b=2: 44.6 + 1.04 + 0.0081 = 45.6481 ms,
    #   ends at 138.3008 ms; A ends its 3rd round, B its 2nd: both complete.
    assert [r.duration for r in reports] == approx([0.045876, 0.0467767, 0.0456481])
    assert [r.admitted for r in reports] == [(0,), (1,), ()]
    assert [r.finished for r in reports] == [(), (), (0, 1)]
    res = engine.result()
    assert res.start.tolist() == approx([0.0, 0.045876])
    assert res.finish.tolist() == approx([0.1383008, 0.1383008])
    assert res.first_token.tolist() == approx([0.045876, 0.0926527])
    # latency accrued per step: round 1: A the whole round (45.876) + B from 30 ms (15.876);
    # rounds 2 and 3: both present: 2 * 46.7767 and 2 * 45.6481 ms.
    assert [r.latency for r in reports] == approx([0.061752, 0.0935534, 0.0912962])
    # TEL = 138.3008 + (138.3008 - 30) = 246.6016 ms, the same as the sum of the step latencies.
    assert res.total_latency == approx(0.2466016)
    assert sum(r.latency for r in reports) == approx(0.2466016)
    # ttft: A 45.876 ms, B 92.6527 - 30 = 62.6527 ms, mean 54.26435 ms
    assert res.metrics["ttft_mean"] == approx(0.05426435)
    # memory after each round: A 3; A 4 + B 4; A 5 + B 5
    np.testing.assert_array_equal(res.trace.memory, [3, 8, 10])


def test_arrival_exactly_at_a_boundary_is_admitted_there() -> None:
    # B arrives at the very end of A's first round (the same float the engine computes).
    first_round = LinearTime().duration(1, 0, 2)  # 45.876 ms
    inst = Instance(arrival=[0.0, first_round], prompt=[2, 3], output=[3, 2])
    res = simulate(inst, AdmitAll(), LINEAR)
    # B joins round 2 exactly as in the mid-round case; it just accrues no waiting time.
    assert res.start.tolist() == approx([0.0, 0.045876])
    assert res.finish.tolist() == approx([0.1383008, 0.1383008])
    assert res.total_latency == approx(0.1383008 + 0.1383008 - 0.045876)


def test_idle_gap_jumps_to_next_arrival_without_rounds() -> None:
    # A(s=4, o=2, a=0), B(s=6, o=1, a=1.0): nothing runs or waits between A's end and 1.0.
    inst = Instance(arrival=[0.0, 1.0], prompt=[4, 6], output=[2, 1])
    engine, reports = drive(inst, AdmitAll(), LINEAR)
    # A: 44.6 + 0.52 + 1.512 = 46.632 ms, then 44.6 + 0.52 + 0.0027 = 45.1227 ms -> 91.7547 ms.
    # The engine jumps to 1.0 (no step); B: 44.6 + 0.52 + 2.268 = 47.388 ms -> 1.047388 s.
    assert len(reports) == 3
    assert all(r.ran for r in reports)
    res = engine.result()
    assert res.trace.start.tolist() == approx([0.0, 0.046632, 1.0])
    assert res.finish.tolist() == approx([0.0917547, 1.047388])
    assert res.total_latency == approx(0.0917547 + 0.047388)  # nobody waits in the gap
    assert res.metrics["rounds"] == 3
    assert res.metrics["makespan"] == approx(1.047388)


def test_idle_wait_is_one_empty_round_or_until_the_next_arrival() -> None:
    # A(s=1, o=1, a=0), B(s=1, o=1, a=0.1); the scheduler admits nothing before t = 0.1.
    inst = Instance(arrival=[0.0, 0.1], prompt=[1, 1], output=[1, 1])
    scheduler = NotBefore(0.1)
    engine, reports = drive(inst, scheduler, LINEAR)
    # t=0: idle one empty round, 44.6 ms; t=44.6 ms: again, to 89.2 ms; t=89.2 ms: the next
    # arrival (100 ms) comes before 133.8 ms, so idle 10.8 ms. A waits through all of it.
    assert [r.ran for r in reports] == [False, False, False, True]
    assert [r.duration for r in reports[:3]] == approx([0.0446, 0.0446, 0.0108])
    assert [r.latency for r in reports[:3]] == approx([0.0446, 0.0446, 0.0108])
    assert scheduler.calls == approx([0.0, 0.0446, 0.0892, 0.1])
    # t=0.1: both admitted: b=2, P=2: 44.6 + 1.04 + 0.756 = 46.396 ms -> both end at 146.396 ms.
    res = engine.result()
    assert res.finish.tolist() == approx([0.146396, 0.146396])
    assert res.total_latency == approx(0.146396 + 0.046396)  # 192.792 ms
    assert sum(r.latency for r in reports) == approx(0.192792)
    assert res.metrics["rounds"] == 1  # idle waits are not rounds


def test_memory_released_at_completion_is_usable_the_next_round() -> None:
    # M=4. A(s=2, o=2), B(s=3, o=1) at 0. FCFS fit-the-next-round: B needs 4, fits only after A.
    inst = Instance(arrival=[0.0, 0.0], prompt=[2, 3], output=[2, 1])
    res = simulate(inst, FitNextRound(), memory=4, time_model="linear", record=True)
    # r1: A, P=2: 45.876 ms (holds 3). r2: A, C=1: 45.1227 ms (holds 4 = M, completes).
    # r3: B, P=3: 44.6 + 0.52 + 1.134 = 46.254 ms (holds 4 right after A released 4).
    np.testing.assert_array_equal(res.trace.memory, [3, 4, 4])
    assert res.trace.duration.tolist() == approx([0.045876, 0.0451227, 0.046254])
    assert res.start.tolist() == approx([0.0, 0.0909987])
    assert res.finish.tolist() == approx([0.0909987, 0.1372527])
    assert res.total_latency == approx(0.2282514)
    assert res.metrics["evictions"] == 0


def test_deferred_admissions_pay_no_prefill() -> None:
    # M=6: A s=2, B s=3, C s=1, all o=1 at 0; admitting all needs 3 + 4 + 2 = 9 > 6.
    inst = Instance(arrival=[0.0, 0.0, 0.0], prompt=[2, 3, 1], output=[1, 1, 1])
    engine, reports = drive(inst, AdmitAll(), SimConfig(memory=6, time_model="linear"))
    # C then B deferred; round 1 prefills A only: 44.6 + 0.52 + 0.756 = 45.876 ms.
    # Round 2: B and C, b=2, P=4: 44.6 + 1.04 + 1.512 = 47.152 ms -> 93.028 ms.
    assert reports[0].deferred == (2, 1)
    assert [r.duration for r in reports] == approx([0.045876, 0.047152])
    res = engine.result()
    assert res.finish.tolist() == approx([0.045876, 0.093028, 0.093028])
    assert res.total_latency == approx(0.045876 + 2 * 0.093028)


def test_eviction_costs_no_time_and_a_restart_prefills_again() -> None:
    # M=9. A and B (s=2, o=3) admitted at 0. Driven by hand: after the eviction, A then B alone.
    inst = Instance(arrival=[0.0, 0.0], prompt=[2, 2], output=[3, 3])
    engine = Engine(inst, SimConfig(memory=9, time_model="linear"), record=True)
    first = engine.run_round([0, 1])  # b=2, P=4: 44.6 + 1.04 + 1.512 = 47.152 ms, holds 6
    second = engine.run_round()  # C=2: 44.6 + 1.04 + 0.0054 = 45.6454 ms, holds 8
    assert (first.duration, second.duration) == approx((0.047152, 0.0456454))
    # Round 3 would hold 10 > 9: clear-all evicts both; no round, no time, no latency.
    evicted = engine.run_round()
    assert evicted == RoundReport(0.0, 0.0, (), (), (0, 1), (), ran=False)
    assert engine.view.time == approx(0.0927974)
    # A restarts from scratch: C counts none of its discarded tokens, its prompt is prefilled
    # again: 45.876, 45.1227, 45.1254 ms; then B the same way.
    restart = [engine.run_round([0]), engine.run_round(), engine.run_round()]
    assert [r.duration for r in restart] == approx([0.045876, 0.0451227, 0.0451254])
    assert restart[-1].finished == (0,)
    for report in (engine.run_round([1]), engine.run_round(), engine.run_round()):
        assert report.ran
    res = engine.result()
    # A: 92.7974 + 136.1241 = 228.9215 ms; B: 228.9215 + 136.1241 = 365.0456 ms.
    assert res.start.tolist() == approx([0.0927974, 0.2289215])
    assert res.finish.tolist() == approx([0.2289215, 0.3650456])
    assert res.first_token.tolist() == approx([0.047152, 0.047152])  # the first run's
    np.testing.assert_array_equal(res.evicted, [1, 1])
    assert res.metrics["evictions"] == 2
    assert res.metrics["tokens_discarded"] == 4  # 2 produced tokens each
    assert res.metrics["rounds"] == 8  # 2 + 3 + 3; the eviction is not a round
    np.testing.assert_array_equal(res.trace.memory, [6, 8, 3, 4, 5, 3, 4, 5])
    assert res.total_latency == approx(0.5939671)  # 228.9215 + 365.0456 ms


def test_real_valued_arrivals_are_for_the_linear_model_only() -> None:
    inst = Instance(arrival=[0.0, 0.5], prompt=[1, 1], output=[1, 1])
    assert simulate(inst, AdmitAll(), LINEAR).finish.tolist() == approx([0.045498, 0.545498])
    # 44.6 + 0.52 + 0.378 = 45.498 ms each; the unit model needs integer rounds.
    with pytest.raises(ValueError, match=r"arrival\[1\] = 0.5 is not an integer round"):
        simulate(inst, AdmitAll(), memory=100, time_model="unit")
