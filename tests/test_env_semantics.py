"""What the environment's actions, masks and rewards mean, pinned by hand and against oracles."""

import gymnasium as gym
import numpy as np
import pytest

import mcsf_gym  # noqa: F401
from agents import make_agent
from agents.mcsf import MCSF
from mcsf_gym import Instance, simulate
from mcsf_gym.env import KVCacheSchedulingEnv, run_scheduler
from mcsf_gym.workloads import make_workload

ADMIT = "mcsf_gym/KVCacheScheduling-v0"
PRIORITY = "mcsf_gym/KVCacheSchedulingPriority-v0"
RULE_AGENTS = ["mcsf", "mc-benchmark", "alpha-greedy:alpha=0.2", "vllm-fcfs", "sf-no-lookahead"]


def worked_example() -> Instance:
    # docs/model.md section 2: A(s=2, o=3), B(s=2, o=2), both at t=0.
    return Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])


def step(env, action):
    _, reward, terminated, truncated, info = env.step(action)
    return reward, terminated, truncated, info


def test_worked_example_memory_seven_by_hand():
    env = gym.make(ADMIT, workload=worked_example(), memory=7, window=2)
    obs, _ = env.reset(seed=0)
    base = env.unwrapped
    assert base.boundary.window() == [1, 0]  # B (prediction 2) before A (prediction 3)
    # nothing runs: both allowed; "advance" would idle the worker, so it is masked
    assert base.action_masks().tolist() == [True, True, False]
    assert obs[8 + 4] == 1 and obs[8 + 6 + 4] == 1  # both pass the look-ahead check alone

    assert step(env, 0)[:2] == (0.0, False)  # admit B: pending, no time passes
    assert base.boundary.pending == [1]
    # A with B: 3 + 3 = 6 after round 1, 4 + 4 = 8 > 7 after round 2: the check fails,
    # though the coming round alone would fit (6 <= 7).
    assert base.action_masks().tolist() == [False, False, True]
    obs = base.observation_type.observe(base.boundary)
    assert obs[8 + 4] == 0 and obs[8 + 5] == 1
    assert obs[1] == pytest.approx(3 / 7)  # the coming round: B's 2 + 1 tokens
    assert obs[2] == pytest.approx(4 / 7)  # B's predicted peak: 4 tokens after round 2

    reward, terminated, _, info = step(env, 2)  # advance: round 1 with B; A waits
    assert (reward, terminated, info["rounds"]) == (-2.0, False, 1)
    assert base.boundary.view.time == 1
    assert base.action_masks().tolist() == [True, False, True]  # now A fits: B 4 + A 3 = 7

    assert step(env, 0)[0] == 0.0  # admit A
    reward, terminated, _, info = step(env, 2)  # rounds 2, 3, 4 (nobody waits after 2)
    assert (reward, terminated, info["rounds"]) == (-4.0, True, 3)
    result = info["result"]
    assert result.total_latency == 6.0 and info["metrics"]["total_latency"] == 6.0
    np.testing.assert_array_equal(result.start, [1, 0])
    np.testing.assert_array_equal(result.finish, [4, 2])
    assert info["invalid_actions"] == 0


def test_worked_example_memory_ten_one_advance_runs_three_rounds():
    env = gym.make(ADMIT, workload=worked_example(), memory=10, window=2)
    env.reset(seed=0)
    assert step(env, 0)[0] == 0.0
    assert env.unwrapped.action_masks().tolist() == [True, False, True]
    assert step(env, 0)[0] == 0.0
    reward, terminated, _, info = step(env, 2)
    assert (reward, terminated, info["rounds"]) == (-5.0, True, 3)  # 2 + 2 + 1 = TEL 5


def test_idle_waits_accrue_latency_and_gaps_do_not():
    # A (s=1, o=1) at t=0; B (s=1, o=1) at t=5.
    instance = Instance(arrival=[0, 5], prompt=[1, 1], output=[1, 1])
    env = gym.make(ADMIT, workload=instance, memory=10, window=2, allow_idle=True)
    env.reset(seed=0)
    reward, _, _, info = step(env, 2)  # advance with nothing running: idle one round
    assert (reward, info["rounds"], info["time"]) == (-1.0, 0, 1.0)
    assert step(env, 0)[0] == 0.0
    reward, _, _, info = step(env, 2)  # A runs [1, 2]; the empty gap to t=5 costs nothing
    assert (reward, info["rounds"], info["time"]) == (-1.0, 1, 5.0)
    assert step(env, 0)[0] == 0.0
    reward, terminated, _, info = step(env, 2)
    assert (reward, terminated) == (-1.0, True)
    assert info["result"].total_latency == 3.0


@pytest.mark.parametrize("time_model", ["unit", "linear"])
def test_time_features_count_base_rounds(time_model):
    # A (s=1, o=1) at t=0; B (s=1, o=1) at t=5 (seconds under linear).
    instance = Instance(arrival=[0, 5], prompt=[1, 1], output=[1, 1])
    env = gym.make(
        ADMIT, workload=instance, memory=10, window=2, time_model=time_model, allow_idle=True
    )
    obs, _ = env.reset(seed=0)
    assert obs[6] == 0 and obs[7] == 0  # nothing has happened yet
    obs, *_ = env.step(2)  # idle for one empty round: one base round
    assert obs[7] == pytest.approx(1 / 2) and obs[6] == pytest.approx(1 / 65)
    base = 1.0 if time_model == "unit" else 0.0446
    # The round of A: 1 (unit) or 44.6 + 0.52 * 1 + 0.378 * 1 ms (linear), then the gap to 5.
    round_length = 1.0 if time_model == "unit" else (44.6 + 0.52 + 0.378) / 1000
    env.step(0)
    obs, *_ = env.step(2)
    x = round_length / base
    assert obs[7] == pytest.approx(x / (x + 1), rel=1e-6)
    assert obs[6] == pytest.approx((5 / base) / (5 / base + 64), rel=1e-6)
    assert obs[8 + 3] == 0  # B has just arrived: it has waited 0


def test_invalid_actions_are_harmless_advances():
    kwargs = {"workload": "paper-model2:n=20", "window": 4}
    env, twin = gym.make(ADMIT, **kwargs), gym.make(ADMIT, **kwargs)
    env.reset(seed=4)
    twin.reset(seed=4)
    assert step(env, 0)[0] == 0.0 and step(twin, 0)[0] == 0.0
    invalid = [a for a, ok in enumerate(env.unwrapped.action_masks()) if not ok]
    assert invalid, "the instance should leave some slot masked after one admission"
    expected = step(twin, 4)  # an explicit advance
    for count, action in enumerate([invalid[0], 99, -1], start=1):
        got = step(env, action)
        assert got[3]["invalid_action"] and got[3]["invalid_actions"] == count
        if count == 1:
            assert got[0] == expected[0] and got[3]["rounds"] == expected[3]["rounds"]
            obs_env = env.unwrapped.observation_type.observe(env.unwrapped.boundary)
            obs_twin = twin.unwrapped.observation_type.observe(twin.unwrapped.boundary)
            assert np.array_equal(obs_env, obs_twin)
    assert not step(env, 4)[3]["invalid_action"]


def test_truncation_after_max_steps():
    env = gym.make(ADMIT, workload="paper-model2:n=20", max_steps=3)
    env.reset(seed=0)
    for expected in (False, False, True):
        _, terminated, truncated, info = step(env, 8)
        assert not terminated and truncated == expected
    assert "result" not in info


@pytest.mark.parametrize("masking", ["none", "next-round"])
def test_the_auto_step_limit_cuts_off_runaway_episodes(masking):
    # Random admissions without the look-ahead keep overflowing M; clear-all eviction then
    # throws away all progress, so the episode would go on for a very long time.
    env = gym.make(ADMIT, workload="paper-model2:n=15", masking=masking)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    base = env.unwrapped
    instance = base.engine.instance
    assert base.step_limit == 10 * (instance.n + int(instance.output.sum())) + 100
    steps, done = 0, False
    while not done:
        action = int(rng.choice(np.flatnonzero(base.action_masks())))
        _, _, terminated, truncated, info = env.step(action)
        steps += 1
        done = terminated or truncated
    assert truncated and not terminated and steps == base.step_limit
    assert info["invalid_actions"] == 0


def test_max_steps_none_and_integers():
    env = gym.make(ADMIT, workload="paper-model2:n=15", max_steps=None)
    env.reset(seed=0)
    assert env.unwrapped.step_limit is None
    env = gym.make(ADMIT, workload="paper-model2:n=15", max_steps=7.0)
    env.reset(seed=0)
    assert env.unwrapped.step_limit == 7


def random_valid_episode(env, seed, scores=False):
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    total, done, info = 0.0, False, {}
    while not done:
        if scores:
            # about a quarter of the slots scored >= 0 (admitted when allowed)
            action = (rng.uniform(-1, 1, env.action_space.shape) - 0.5).astype(np.float32)
        else:  # advance half the time, else a random allowed action
            mask = env.unwrapped.action_masks()
            action = len(mask) - 1 if rng.random() < 0.5 else int(rng.choice(np.flatnonzero(mask)))
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        done = terminated or truncated
    assert terminated
    return total, info["result"]


@pytest.mark.parametrize("masking", ["lookahead", "next-round", "none"])
@pytest.mark.parametrize("env_id", [ADMIT, PRIORITY])
def test_rewards_sum_to_minus_total_latency_in_unit_time(env_id, masking):
    # Newest-first eviction guarantees progress even for random admissions (clear-all can
    # evict a badly under-predicted request forever when a random policy keeps co-admitting).
    env = gym.make(
        env_id,
        workload="paper-model2:n=25",
        masking=masking,
        prediction="noisy:eps=0.8",
        eviction="newest-first",
        reward_scale=4.0,
        max_steps=20_000,
    )
    for seed in range(3):
        total, result = random_valid_episode(env, seed, scores=env_id == PRIORITY)
        assert total == -result.total_latency / 4.0  # exact: integer latencies, scale 2^2


@pytest.mark.parametrize("env_id", [ADMIT, PRIORITY])
def test_rewards_sum_to_minus_total_latency_in_linear_time(env_id):
    env = gym.make(
        env_id,
        workload="lmsys:n=150,rate=40",
        prediction="noisy:eps=0.5",
        eviction="newest-first",
        max_steps=20_000,
    )
    for seed in range(2):
        total, result = random_valid_episode(env, seed, scores=env_id == PRIORITY)
        assert total == pytest.approx(-result.total_latency, rel=1e-9)


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@pytest.mark.parametrize("env_id", [ADMIT, PRIORITY])
def test_mcsf_in_the_environment_equals_simulate(env_id, time_model):
    workload = make_workload("paper-model2:n=40,load=1.5,prediction=noisy:eps=0.5")
    for seed in range(3):
        scenario = workload.sample(np.random.default_rng(seed))
        instance, memory = scenario.instance, scenario.memory
        env = gym.make(env_id, workload=instance, memory=memory, time_model=time_model)
        episode = run_scheduler(env, MCSF(), seed=seed)
        expected = simulate(instance, MCSF(), memory=memory, time_model=time_model)
        assert episode.terminated and episode.skipped == 0 and episode.invalid_actions == 0
        assert episode.result.total_latency == expected.total_latency
        np.testing.assert_array_equal(episode.result.start, expected.start)
        np.testing.assert_array_equal(episode.result.finish, expected.finish)
        assert episode.total_reward == pytest.approx(-expected.total_latency, rel=1e-12)


def test_mcsf_equivalence_on_the_paper_setting_with_a_small_window():
    # LMSYS-like lengths, long queues: MC-SF only ever takes the front of the window.
    scenario = make_workload("lmsys:n=400,rate=60").sample(np.random.default_rng(1))
    env = gym.make(ADMIT, workload=scenario, window=2)
    episode = run_scheduler(env, MCSF(), seed=1)
    expected = simulate(scenario.instance, MCSF(), memory=scenario.memory, time_model="linear")
    assert episode.skipped == 0
    np.testing.assert_array_equal(episode.result.finish, expected.finish)


@pytest.mark.parametrize("agent", RULE_AGENTS)
@pytest.mark.parametrize("env_id", [ADMIT, PRIORITY])
def test_any_rule_agent_is_reproduced_with_a_full_window(env_id, agent):
    workload = make_workload("paper-model2:n=30,load=1.5,prediction=noisy:eps=0.5")
    scenario = workload.sample(np.random.default_rng(7))
    env = gym.make(env_id, workload=scenario, window=30, masking="none", eviction="newest-first")
    episode = run_scheduler(env, make_agent(agent), seed=3)
    expected = simulate(
        scenario.instance,
        make_agent(agent),
        memory=scenario.memory,
        eviction="newest-first",
        seed=3,
    )
    assert episode.skipped == 0
    np.testing.assert_array_equal(episode.result.finish, expected.finish)
    assert episode.result.metrics == expected.metrics


def test_choices_outside_the_window_are_skipped_and_counted():
    instance = Instance(arrival=[0, 0], prompt=[1, 1], output=[5, 1])
    env = gym.make(ADMIT, workload=instance, memory=20, window=1, order="arrival")
    episode = run_scheduler(env, MCSF(), seed=0)
    assert episode.skipped == 1  # MC-SF wants request 1 first; the window shows request 0
    assert episode.terminated


def lookahead_oracle(view, pending, candidate, alpha):
    """docs/model.md section 5 by brute force: every predicted completion time after now."""
    now = view.round_index
    items = [
        (int(view.prompt[j]), int(view.start_round[j]), int(view.predicted_length([j])[0]))
        for j in view.running
    ]
    items += [(int(view.prompt[j]), now, int(view.predicted_length([j])[0])) for j in pending]
    items.append((int(view.prompt[candidate]), now, int(view.predicted_length([candidate])[0])))
    for t in {start + length for _, start, length in items}:
        used = sum(s + t - start for s, start, length in items if start < t <= start + length)
        if t > now and used > view.memory * (1 - alpha):
            return False
    return True


@pytest.mark.parametrize("masking", ["lookahead", "next-round", "none"])
@pytest.mark.parametrize("order", ["prediction", "arrival"])
def test_masks_and_window_match_oracles(masking, order):
    alpha = 0.1 if order == "arrival" else 0.0
    env = KVCacheSchedulingEnv(
        "paper-model2:n=30,load=1.5",
        prediction="noisy:eps=0.6",
        window=5,
        order=order,
        masking=masking,
        alpha=alpha,
    )
    rng = np.random.default_rng(0)
    checked = 0
    for seed in range(3):
        env.reset(seed=seed)
        for _ in range(400):  # random admissions can evict and retry for long: check a prefix
            boundary = env.boundary
            view = boundary.view
            pending = list(boundary.pending)
            waiting = [int(i) for i in view.waiting if int(i) not in pending]
            if order == "prediction":
                waiting.sort(key=lambda i: (int(view.prediction[i]), i))
            assert boundary.window() == waiting[:5]
            free_start = not pending and view.n_running == 0
            mask = env.action_masks()
            # work-conserving: "advance" is masked exactly while it would idle the worker
            assert mask[-1] == (not (free_start and waiting)) and len(mask) == 6
            for slot in range(5):
                if slot >= len(waiting):
                    assert not mask[slot]
                    continue
                request = waiting[slot]
                fits = lookahead_oracle(view, pending, request, alpha)
                next_round = (
                    view.memory_next_round
                    + sum(int(view.prompt[j]) + 1 for j in pending)
                    + int(view.prompt[request])
                    + 1
                    <= view.memory
                )
                expected = {"lookahead": fits, "next-round": next_round, "none": True}[masking]
                assert mask[slot] == (expected or free_start)
                obs = env.observation_type.observe(boundary)
                assert obs[8 + 6 * slot + 4] == fits and obs[8 + 6 * slot + 5] == next_round
                checked += 1
            valid = np.flatnonzero(mask)
            action = int(rng.choice(valid)) if rng.random() < 0.7 else 5
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
    assert checked > 300


def test_priority_mode_admits_by_score_and_holds_back_negative_scores():
    instance = Instance(arrival=[0, 0, 0, 0], prompt=[1, 1, 1, 1], output=[4, 3, 2, 1])
    env = KVCacheSchedulingEnv(instance, memory=50, window=4, action="priority", masking="none")
    env.reset(seed=0)
    assert env.boundary.window() == [3, 2, 1, 0]  # shortest prediction first
    env.step(np.array([-0.5, 0.2, 0.9, -1.0], dtype=np.float32))  # slots 2, 1: requests 1, 2
    status = env.boundary.view.status
    assert status.tolist() == [1, 2, 2, 1]  # 0 and 3 wait, 1 and 2 run
    _, reward, *_ = env.step(np.full(4, -1.0, dtype=np.float32))  # admit nothing
    # One round: all four were in the system (reward -4); request 2 (o=2) finished at t=2.
    assert status.tolist() == [1, 2, 3, 1] and reward == -4.0


def test_priority_mode_stops_at_the_first_refusal():
    # M = 8: request 0 (s=4, o=3) fills the look-ahead; request 1 (s=1, o=1) would fit after it
    # but comes second in score order behind request 2 (s=4, o=3), which does not fit.
    instance = Instance(arrival=[0, 0, 0], prompt=[4, 1, 4], output=[3, 1, 3])
    env = KVCacheSchedulingEnv(instance, memory=8, window=3, action="priority", order="arrival")
    env.reset(seed=0)
    _, reward, *_ = env.step(np.array([1.0, 0.1, 0.5], dtype=np.float32))
    assert env.boundary.view.status.tolist() == [2, 1, 1]  # only request 0 runs
    assert env.boundary.view.time == 1 and reward == -3.0
