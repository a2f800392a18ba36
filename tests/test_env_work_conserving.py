"""Work-conserving default, visible truncation, masks in info, the Dict-mask wrapper, arguments."""

from __future__ import annotations

import time
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mcsf_gym  # noqa: F401
from agents.mcsf import MCSF
from mcsf_gym import Instance, simulate
from mcsf_gym.env import KVCacheSchedulingEnv, PolicyScheduler
from mcsf_gym.env.config import MAX_WINDOW
from mcsf_gym.env.wrappers import ActionMaskObservation

ADMIT = "mcsf_gym/KVCacheScheduling-v0"
PRIORITY = "mcsf_gym/KVCacheSchedulingPriority-v0"


def worked_example() -> Instance:
    # A(s=2, o=3), B(s=2, o=2), both at t=0 (docs/model.md's worked example).
    return Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])


def test_advance_while_idle_admits_slot_zero_instead_of_idling() -> None:
    env = gym.make(ADMIT, workload=worked_example(), memory=7, window=2)
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [True, True, False]
    _, reward, _, _, info = env.step(2)  # "advance" with nothing running: B (slot 0) admitted
    assert reward == 0.0 and info["rounds"] == 0 and info["time"] == 0
    assert env.unwrapped.boundary.pending == [1] and info["invalid_action"]
    assert info["action_mask"].tolist() == [False, False, True]  # A does not fit beside B
    _, reward, _, _, info = env.step(2)  # now "advance" runs round 1 with B
    assert (reward, info["rounds"], info["time"]) == (-2.0, 1, 1.0)


def test_allow_idle_keeps_deliberate_waiting() -> None:
    env = gym.make(ADMIT, workload=worked_example(), memory=7, window=2, allow_idle=True)
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [True, True, True]
    _, reward, _, _, info = env.step(2)  # one empty round: both requests wait, 2 x 1
    assert (reward, info["rounds"], info["time"], info["invalid_action"]) == (-2.0, 0, 1.0, False)


def test_priority_mode_admits_the_best_scored_slot_when_idle() -> None:
    env = gym.make(PRIORITY, workload=worked_example(), memory=7, window=2)
    env.reset(seed=0)
    # every score below 0: held back, but the worker idles, so the best (slot 1 = A) runs
    _, reward, _, _, info = env.step(np.array([-0.9, -0.2], dtype=np.float32))
    assert info["rounds"] == 1 and reward == -2.0
    assert env.unwrapped.engine.view.n_running == 1
    assert int(env.unwrapped.engine.view.running[0]) == 0  # A
    idle = gym.make(PRIORITY, workload=worked_example(), memory=7, window=2, allow_idle=True)
    idle.reset(seed=0)
    _, _, _, _, info = idle.step(np.array([-0.9, -0.2], dtype=np.float32))
    assert info["rounds"] == 0 and idle.unwrapped.engine.view.n_running == 0


def test_a_policy_that_always_advances_finishes_and_equals_simulate_through_the_bridge() -> None:
    # The trap of old: pressing "advance" for ever. Now it is MC-SF's first admission then run.
    env = gym.make(ADMIT, workload="paper-model2:n=20")
    _, info = env.reset(seed=3)
    done = truncated = False
    while not (done or truncated):
        _, _, done, truncated, info = env.step(8)
    assert done and not truncated
    bridge = PolicyScheduler(lambda obs, mask: len(mask) - 1, {})
    engine = env.unwrapped.engine
    result = simulate(engine.instance, bridge, engine.config)
    assert result.total_latency == info["result"].total_latency
    # slot 0 whenever idle, one request per round otherwise: never better than MC-SF
    assert result.total_latency >= simulate(engine.instance, MCSF(), engine.config).total_latency


def test_truncation_is_marked_in_info_and_warns_once() -> None:
    env = gym.make(ADMIT, workload="paper-model2:n=20", max_steps=3)
    for episode in range(2):
        env.reset(seed=episode)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                _, _, terminated, truncated, info = env.step(8)
        assert truncated and not terminated
        assert info["truncation"]["step_limit"] == 3
        assert 0 < info["truncation"]["unfinished"] <= 20
        messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
        expected = 1 if episode == 0 else 0
        assert sum("episode truncated after 3 steps" in m for m in messages) == expected


def test_action_mask_in_every_info_equals_action_masks() -> None:
    for env_id in (ADMIT, PRIORITY):
        env = gym.make(env_id, workload="paper-model2:n=15", window=4)
        _, info = env.reset(seed=1)
        rng = np.random.default_rng(0)
        done = False
        while not done:
            assert np.array_equal(info["action_mask"], env.unwrapped.action_masks())
            action = env.action_space.sample() if env_id == PRIORITY else int(rng.integers(5))
            _, _, done, truncated, info = env.step(action)
            done = done or truncated


def test_action_mask_observation_wrapper() -> None:
    env = ActionMaskObservation(gym.make(ADMIT, workload="paper-model2:n=15", window=4))
    obs, info = env.reset(seed=0)
    assert set(obs) == {"observation", "action_mask"}
    assert env.observation_space.contains(obs)
    assert obs["action_mask"].dtype == np.int8 and obs["action_mask"].shape == (5,)
    np.testing.assert_array_equal(obs["action_mask"], info["action_mask"].astype(np.int8))
    obs, *_ = env.step(int(np.flatnonzero(obs["action_mask"])[0]))
    np.testing.assert_array_equal(obs["action_mask"], env.unwrapped.action_masks())
    priority = ActionMaskObservation(gym.make(PRIORITY, window=3))
    assert priority.observation_space["action_mask"].shape == (3,)
    with pytest.raises(ValueError, match="KVCacheSchedulingEnv"):
        ActionMaskObservation(gym.make("CartPole-v1"))


def test_keyword_typos_and_window_limit() -> None:
    with pytest.raises(ValueError, match=r"'windw' \(did you mean 'window'\?\); known: .*"):
        gym.make(ADMIT, windw=4)
    with pytest.raises(ValueError, match=r"'xyz'; known: action, allow_idle"):
        KVCacheSchedulingEnv(xyz=1)
    started = time.perf_counter()
    with pytest.raises(ValueError, match=f"window must be at most {MAX_WINDOW}, got 10000000"):
        gym.make(ADMIT, window=10**7)
    assert time.perf_counter() - started < 1.0
    with pytest.raises(ValueError, match="allow_idle must be True or False, got 'yes'"):
        gym.make(ADMIT, allow_idle="yes")
    env = gym.make(ADMIT, window=MAX_WINDOW)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (8 + 6 * MAX_WINDOW + 16,)


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(0, 3), max_size=2),
)
_KEYS = st.sampled_from(
    [
        "memory",
        "time_model",
        "prediction",
        "eviction",
        "window",
        "order",
        "masking",
        "alpha",
        "observation",
        "max_steps",
        "reward_scale",
        "render_mode",
        "allow_idle",
        "windw",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_KEYS, _VALUES, max_size=3))
def test_bad_env_arguments_raise_value_error_or_build_a_working_env(kwargs) -> None:
    started = time.perf_counter()
    try:
        # the class itself: gym.make handles render_mode before the environment sees it
        env = KVCacheSchedulingEnv("paper-model2:n=5", **kwargs)
    except ValueError:
        assert time.perf_counter() - started < 2.0
        return
    env.reset(seed=0)
    env.step(int(np.flatnonzero(env.action_masks())[0]))
    assert time.perf_counter() - started < 2.0
