"""Hand-computed overflows under each eviction policy (docs/model.md section 4), unit time.

Notation as in ``test_core_unit_time.py``: a request of prompt ``s`` admitted at boundary ``p``
holds ``s + j`` tokens after its ``j``-th round. Before a round, a running request's footprint
is ``s + produced + 1`` (what it would hold after the round). An evicted request loses its
produced tokens (counted in ``tokens_discarded``), waits again with its original arrival time
and starts over; its ``first_token`` stays that of its first run, its ``start`` becomes the
start of its final run.

The random policy's coin flips come from ``numpy.random.default_rng(seed)``: the draws used
below are listed in the comments (``default_rng(s).random(k)``), one array per pass over the
requests still running, in admission order.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_core_helpers import FitNextRound

from agents import MCSF
from mcsf_gym import Instance, simulate
from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.engine import Engine
from mcsf_gym.core.eviction import ClearAll, NewestFirst, RandomEviction, make_eviction


def underestimated() -> Instance:
    # A and B (s=2, o=3) at 0, both predicted to produce 1 token.
    return Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 3], prediction=[1, 1])


# MC-SF on underestimated() with M = 8, common to every policy up to the overflow:
# b0: order A, B (equal predictions, by id). A: 3 <= 8; B with A: 3 + 3 = 6 <= 8: both admitted.
# Round 1 holds 6; both outlived their prediction: assumed lengths raised to 2.
# b1: nothing waits. Round 2 holds 4 + 4 = 8; lengths raised to 3.
# b2: round 3 would hold 5 + 5 = 10 > 8 (excess 2; each footprint 2 + 2 + 1 = 5): overflow.


def test_clear_all_evicts_every_running_request() -> None:
    res = simulate(underestimated(), MCSF(), memory=8, eviction="clear-all", record=True)
    # b2: both evicted, 2 produced tokens each thrown away. They wait with assumed length 3.
    # b2 again: A (3 rounds: 3, 4, 5) fits; B with A: 6, 8, 10 > 8: stop. A runs rounds 3-5.
    # b3: B with A: A 4 + B 3 = 7, A 5 + B 4 = 9 > 8: no. b4: A 5 + B 3 = 8, B 4, B 5: admit.
    # A completes at 2 + 3 = 5, B at 4 + 3 = 7.
    np.testing.assert_array_equal(res.start, [2, 4])
    np.testing.assert_array_equal(res.finish, [5, 7])
    np.testing.assert_array_equal(res.first_token, [1, 1])  # the first run's first round
    np.testing.assert_array_equal(res.evicted, [1, 1])
    assert res.metrics["evictions"] == 2
    assert res.metrics["tokens_discarded"] == 4
    np.testing.assert_array_equal(res.trace.memory, [6, 8, 3, 4, 8, 4, 5])
    assert res.metrics["rounds"] == 7  # the overflow itself is not a round
    assert res.total_latency == 12.0  # 5 + 7
    assert res.metrics["ttft_mean"] == 1.0  # (1 - 0 + 1 - 0) / 2


def test_newest_first_evicts_only_what_the_round_needs() -> None:
    res = simulate(underestimated(), MCSF(), memory=8, eviction="newest-first", record=True)
    # b2: excess 2; the newest (B, admitted after A in the same admit list) frees 5 >= 2: only
    # B is evicted (2 tokens). Round 3 runs with A (holds 5) and A completes at 3.
    # b3: B (assumed length 3) restarts: 3, 4, 5 -> completes at 6.
    np.testing.assert_array_equal(res.start, [0, 3])
    np.testing.assert_array_equal(res.finish, [3, 6])
    np.testing.assert_array_equal(res.first_token, [1, 1])
    np.testing.assert_array_equal(res.evicted, [0, 1])
    assert res.metrics["tokens_discarded"] == 2
    np.testing.assert_array_equal(res.trace.memory, [6, 8, 5, 3, 4, 5])
    assert res.total_latency == 9.0  # 3 + 6


@pytest.mark.parametrize(
    ("seed", "start", "finish", "evicted"),
    [
        # seed 0: draws [0.637, 0.270] < 0.5 for B only: as newest-first.
        (0, [0, 3], [3, 6], [0, 1]),
        # seed 8: draws [0.327, 0.987]: A only. B completes at 3; A restarts at 3, ends at 6.
        (8, [3, 0], [6, 3], [1, 0]),
        # seed 1: [0.512, 0.951] hits nobody, so a second pass over both: [0.144, 0.949]: A.
        (1, [3, 0], [6, 3], [1, 0]),
        # seed 5: [0.805, 0.808] nobody, then [0.515, 0.286]: B.
        (5, [0, 3], [3, 6], [0, 1]),
        # seed 2: [0.262, 0.299]: both, as clear-all (see above).
        (2, [2, 4], [5, 7], [1, 1]),
    ],
)
def test_random_eviction_flips_a_coin_per_request_until_the_round_fits(
    seed: int, start: list[int], finish: list[int], evicted: list[int]
) -> None:
    res = simulate(underestimated(), MCSF(), memory=8, eviction="random:beta=0.5", seed=seed)
    np.testing.assert_array_equal(res.start, start)
    np.testing.assert_array_equal(res.finish, finish)
    np.testing.assert_array_equal(res.evicted, evicted)
    assert res.metrics["tokens_discarded"] == 2 * sum(evicted)  # 2 produced tokens each
    assert res.metrics["peak_memory"] == 8


def test_random_eviction_is_reproducible_and_beta_one_clears_all() -> None:
    config = SimConfig(memory=8, eviction="random:beta=0.5", seed=8)
    first = simulate(underestimated(), MCSF(), config)
    again = simulate(underestimated(), MCSF(), config)
    np.testing.assert_array_equal(first.evicted, again.evicted)
    every = simulate(underestimated(), MCSF(), memory=8, eviction="random:beta=1", seed=8)
    np.testing.assert_array_equal(every.evicted, [1, 1])  # a sure coin: clear-all
    np.testing.assert_array_equal(every.finish, [5, 7])


def test_newest_first_follows_admission_order_across_rounds() -> None:
    # M=12. A, B, C (s=1, o=5) arrive at 0, 1, 2; FCFS fit-the-next-round admits each on arrival.
    inst = Instance(arrival=[0, 1, 2], prompt=[1, 1, 1], output=[5, 5, 5])
    res = simulate(inst, FitNextRound(), memory=12, eviction="newest-first", record=True)
    # Rounds 1-4 hold 2; 3 + 2; 4 + 3 + 2; 5 + 4 + 3 = 12. At b4 the next round needs
    # 6 + 5 + 4 = 15 > 12, excess 3: C, the newest, frees 1 + 2 + 1 = 4 >= 3 and is the only
    # one evicted (2 tokens). Round 5: A 6 + B 5 = 11; A completes at 5.
    # b5: C restarts (free 12 - (5 + 1) = 6 >= 2); B completes at 6, C at 5 + 5 = 10.
    np.testing.assert_array_equal(res.start, [0, 1, 5])
    np.testing.assert_array_equal(res.finish, [5, 6, 10])
    np.testing.assert_array_equal(res.first_token, [1, 2, 3])
    np.testing.assert_array_equal(res.evicted, [0, 0, 1])
    assert res.metrics["tokens_discarded"] == 2
    np.testing.assert_array_equal(res.trace.memory, [2, 5, 9, 12, 11, 8, 3, 4, 5, 6])
    assert res.total_latency == 18.0  # 5 + 5 + 8
    # Under clear-all the same overflow evicts all three: 4 + 3 + 2 = 9 tokens thrown away.
    engine = Engine(inst, SimConfig(memory=12, eviction="clear-all"))
    for admit in ([0], [1], [2], []):
        engine.run_round(admit)
    report = engine.run_round()
    assert (report.ran, report.evicted) == (False, (0, 1, 2))
    assert engine.view.memory_in_use == 0
    for request in (0, 1, 2):  # then each alone: 5 rounds apiece
        engine.run_round([request])
        for _ in range(4):
            engine.run_round()
    assert engine.result().metrics["tokens_discarded"] == 9
    np.testing.assert_array_equal(engine.result().finish, [9, 14, 19])


def test_running_requests_make_room_for_an_admission_newest_first() -> None:
    # M=12. A, B, C (s=1, o=5) admitted at 0 in that order; D (s=6, o=1) arrives at 2 and is
    # admitted by hand. Rounds 1, 2 hold 6, 9. At b2 the round needs 9 + 3 + (6 + 1) = 19:
    # excess 7. Newest first: C frees 1 + 2 + 1 = 4 (< 7), then B 4 (8 >= 7): both evicted,
    # then D fits (need 19 - 8 = 11 <= 12) and is not deferred.
    inst = Instance(arrival=[0, 0, 0, 2], prompt=[1, 1, 1, 6], output=[5, 5, 5, 1])
    engine = Engine(inst, SimConfig(memory=12, eviction="newest-first"), record=True)
    engine.run_round([0, 1, 2])
    engine.run_round()
    report = engine.run_round([3])
    assert report.evicted == (2, 1)
    assert report.admitted == (3,)
    assert report.deferred == ()
    assert report.finished == (3,)  # D: one token
    assert engine.view.memory_in_use == 4  # A holds 1 + 3; D released its 7
    np.testing.assert_array_equal(engine.view.waiting, [1, 2])  # arrival order again
    np.testing.assert_array_equal(engine.view.running, [0])


def test_clear_all_when_admissions_alone_overflow_evicts_then_defers() -> None:
    # Same start, clear-all: at b2 all three running requests go (6 tokens: 2 each), then D
    # alone (7) fits. The scheduler's list is honoured after the policy's evictions.
    inst = Instance(arrival=[0, 0, 0, 2], prompt=[1, 1, 1, 6], output=[5, 5, 5, 1])
    engine = Engine(inst, SimConfig(memory=12, eviction="clear-all"))
    engine.run_round([0, 1, 2])
    engine.run_round()
    report = engine.run_round([3])
    assert report.evicted == (0, 1, 2)
    assert report.admitted == (3,)
    np.testing.assert_array_equal(engine.view.waiting, [0, 1, 2])


def test_evicted_requests_keep_their_arrival_time_and_lead_the_queue() -> None:
    # M=8, underestimated() plus C (s=1, o=1) arriving at 1; driven by hand, clear-all.
    inst = Instance(arrival=[0, 0, 1], prompt=[2, 2, 1], output=[3, 3, 1], prediction=[1, 1, 1])
    engine = Engine(inst, SimConfig(memory=8, eviction="clear-all"))
    engine.run_round([0, 1])  # holds 6
    engine.run_round()  # holds 8; C arrived at 1 and waits
    report = engine.run_round()  # round 3 would hold 10: A and B evicted (2 tokens each)
    assert (report.ran, report.evicted) == (False, (0, 1))
    # Back in the queue with their arrival time 0, so ahead of C (arrival 1).
    np.testing.assert_array_equal(engine.view.waiting, [0, 1, 2])
    np.testing.assert_array_equal(engine.view.arrival, [0, 0, 1])
    # Their assumed lengths stay raised to 3: they were seen to produce 2 tokens unfinished.
    np.testing.assert_array_equal(engine.view.predicted_length([0, 1]), [3, 3])
    engine.run_round([2])  # C: round 3, completes at 3
    engine.run_round([0])  # A: rounds 4-6, completes at 6
    engine.run_round()
    engine.run_round()
    engine.run_round([1])  # B: rounds 7-9, completes at 9
    engine.run_round()
    engine.run_round()
    res = engine.result()
    np.testing.assert_array_equal(res.start, [3, 6, 2])
    np.testing.assert_array_equal(res.finish, [6, 9, 3])
    np.testing.assert_array_equal(res.latency, [6, 9, 2])  # from the original arrivals
    np.testing.assert_array_equal(res.first_token, [1, 1, 3])
    assert res.metrics["ttft_mean"] == pytest.approx(4 / 3)  # (1 + 1 + 2) / 3
    assert res.metrics["tokens_discarded"] == 4


@pytest.mark.parametrize("policy", [ClearAll(), NewestFirst(), RandomEviction(0.3)])
def test_policies_free_at_least_the_excess(policy: object) -> None:
    # Directly on the policy interface: running ids in admission order, their footprints.
    rng = np.random.default_rng(0)
    running, need = [4, 7, 9, 2], [5, 3, 8, 6]
    for excess in range(1, 23):
        victims = policy.victims(running, need, excess, rng)  # type: ignore[attr-defined]
        assert len(set(victims)) == len(victims)
        assert set(victims) <= set(running)
        freed = sum(n for r, n in zip(running, need, strict=True) if r in victims)
        assert freed >= excess
    # newest-first, excess 7: 2 frees 6, then 9 frees 8: [2, 9].
    if isinstance(policy, NewestFirst):
        assert policy.victims(running, need, 7, rng) == [2, 9]
        assert policy.victims(running, need, 6, rng) == [2]


def test_eviction_specs() -> None:
    assert make_eviction("random:beta=0.2") == RandomEviction(0.2)
    assert make_eviction("random") == RandomEviction(0.1)
    assert make_eviction("newest-first") == NewestFirst()
    policy = ClearAll()
    assert make_eviction(policy) is policy
    for bad in ("random:beta=0", "random:beta=1.5"):
        with pytest.raises(ValueError, match="beta must be in"):
            make_eviction(bad)
    with pytest.raises(ValueError, match="clear-all"):  # the message lists the known names
        make_eviction("oldest-first")
    with pytest.raises(ValueError, match="clear-all"):
        SimConfig(eviction="lru")
