"""PolicyScheduler: a policy of the environment runs under ``simulate`` with the same result."""

import doctest
import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import mcsf_gym.env.policy as policy_module
from agents import run_agent
from agents.mcsf import MCSF
from mcsf_gym import Instance, simulate
from mcsf_gym.env import PolicyScheduler
from mcsf_gym.workloads import make_workload

ADMIT = "mcsf_gym/KVCacheScheduling-v0"
PRIORITY = "mcsf_gym/KVCacheSchedulingPriority-v0"


def mcsf_admit(observation, mask):
    """MC-SF in admit mode: take slot 0 while the look-ahead mask allows it, then advance."""
    return 0 if mask[0] else len(mask) - 1


def mcsf_priority(observation, mask):
    """MC-SF in priority mode: every slot scored, in window order (admission stops at a miss)."""
    return np.linspace(1.0, 0.0, len(mask), dtype=np.float32)


class RandomPolicy:
    """Seeded random actions, invalid ones included (slots out of range, masked, empty)."""

    def __init__(self, seed, priority):
        self.seed = seed
        self.priority = priority
        self.rng = np.random.default_rng(seed)

    def reset(self, rng):
        self.rng = np.random.default_rng(self.seed)  # the same stream in the env and the bridge

    def __call__(self, observation, mask):
        if self.priority:
            return self.rng.uniform(-1.5, 1.0, len(mask)).astype(np.float32)
        if self.rng.random() < 0.4:
            return len(mask) - 1
        return int(self.rng.integers(-1, len(mask) + 1))


class Recorder:
    """Wraps a policy and keeps every (observation, mask) it was shown."""

    def __init__(self, policy):
        self.policy = policy
        self.seen = []

    def reset(self, rng):
        self.seen = []
        if hasattr(self.policy, "reset"):
            self.policy.reset(rng)

    def __call__(self, observation, mask):
        self.seen.append((observation, mask.copy()))
        return self.policy(observation, mask)


def run_env(env, policy, seed=0):
    """One episode of ``policy`` in ``env``; returns the result and what the policy saw."""
    recorder = Recorder(policy)
    recorder.reset(None)
    obs, _ = env.reset(seed=seed)
    while True:
        action = recorder(obs, env.unwrapped.action_masks())
        obs, _, terminated, truncated, info = env.step(action)
        assert not truncated
        if terminated:
            return info["result"], recorder.seen


def assert_same_observations(left, right):
    assert len(left) == len(right)
    np.testing.assert_array_equal([m for _, m in left], [m for _, m in right])
    if isinstance(left[0][0], dict):
        for key in left[0][0]:
            np.testing.assert_array_equal([o[key] for o, _ in left], [o[key] for o, _ in right])
    else:
        np.testing.assert_array_equal([o for o, _ in left], [o for o, _ in right])


def assert_same_result(left, right):
    np.testing.assert_array_equal(left.start, right.start)
    np.testing.assert_array_equal(left.finish, right.finish)
    assert left.total_latency == right.total_latency
    assert left.metrics == right.metrics


def scenario(seed, n=40):
    workload = make_workload(f"paper-model2:n={n},load=1.5,prediction=noisy:eps=0.5")
    return workload.sample(np.random.default_rng(seed))


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@pytest.mark.parametrize(("env_id", "policy"), [(ADMIT, mcsf_admit), (PRIORITY, mcsf_priority)])
def test_mcsf_as_a_policy_equals_simulate_mcsf_and_the_env_episode(env_id, policy, time_model):
    for seed in range(3):
        problem = scenario(seed)
        instance, memory = problem.instance, problem.memory
        expected = simulate(instance, MCSF(), memory=memory, time_model=time_model)
        bridge = PolicyScheduler(Recorder(policy), {"window": 8}, env_id=env_id)
        bridged = simulate(instance, bridge, memory=memory, time_model=time_model)
        env = gym.make(env_id, workload=instance, memory=memory, time_model=time_model)
        episode, seen = run_env(env, policy, seed)
        assert_same_result(bridged, expected)
        assert_same_result(episode, expected)
        assert_same_observations(bridge.policy.seen, seen)
        assert bridge.steps == len(seen) and bridge.invalid_actions == 0


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        (ADMIT, {"masking": "none", "eviction": "newest-first", "window": 4}),
        (ADMIT, {"masking": "next-round", "order": "arrival", "eviction": "newest-first"}),
        (ADMIT, {"masking": "lookahead", "alpha": 0.1, "observation": "dict", "window": 3}),
        # random scores with no mask evict a lot: room beyond the automatic step limit
        (PRIORITY, {"masking": "none", "eviction": "newest-first", "window": 5, "max_steps": 9**5}),
        (PRIORITY, {"masking": "lookahead", "observation": "dict:bins=4,time_scale=16"}),
    ],
)
@pytest.mark.parametrize("time_model", ["unit", "linear"])
def test_a_random_policy_acts_identically_in_the_env_and_through_the_bridge(
    env_id, kwargs, time_model
):
    for seed in range(2):
        problem = scenario(seed, n=25)
        instance, memory = problem.instance, problem.memory
        priority = env_id == PRIORITY
        env = gym.make(env_id, workload=instance, memory=memory, time_model=time_model, **kwargs)
        episode, seen = run_env(env, RandomPolicy(seed, priority), seed)
        bridge = PolicyScheduler(Recorder(RandomPolicy(seed, priority)), kwargs, env_id=env_id)
        bridged = simulate(
            instance,
            bridge,
            memory=memory,
            time_model=time_model,
            eviction=env.unwrapped.config.eviction,
        )
        assert_same_result(bridged, episode)
        assert_same_observations(bridge.policy.seen, seen)
        if not priority:
            assert bridge.invalid_actions > 0  # the random policy also tried invalid actions


def test_random_eviction_matches_with_the_same_engine_seed():
    problem = scenario(4, n=15)
    kwargs = {"masking": "next-round", "eviction": "random:beta=0.5", "window": 4}
    env = gym.make(
        ADMIT, workload=problem.instance, memory=problem.memory, max_steps=None, **kwargs
    )
    episode, _ = run_env(env, RandomPolicy(1, False), seed=9)
    assert episode.metrics["evictions"] > 0
    bridge = PolicyScheduler(RandomPolicy(1, False), kwargs)
    engine_seed = env.unwrapped.engine.config.seed  # drawn by reset from the env's generator
    bridged = run_agent(
        problem.instance, bridge, memory=problem.memory, time_model="unit", seed=engine_seed
    )
    assert_same_result(bridged, episode)  # run_agent used the bridge's default_eviction


def test_the_worked_example_and_the_module_example():
    # docs/model.md section 2, M = 7: MC-SF admits B at t=0 and A at t=1, TEL = 6.
    instance = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    bridge = PolicyScheduler(mcsf_admit, {"window": 2})
    result = simulate(instance, bridge, memory=7)
    np.testing.assert_array_equal(result.start, [1, 0])
    assert result.total_latency == 6.0
    assert bridge.steps == 4  # admit B, advance (A masked); admit A, advance
    assert doctest.testmod(policy_module).failed == 0


@pytest.mark.parametrize("observation", ["flat", "dict", "flat:bins=4"])
@pytest.mark.parametrize("env_id", [ADMIT, PRIORITY])
def test_spaces_match_the_environment_and_check(env_id, observation):
    kwargs = {"window": 5, "observation": observation}
    env = gym.make(env_id, **kwargs)
    bridge = PolicyScheduler(mcsf_admit, kwargs, env_id=env_id)
    assert bridge.observation_space == env.observation_space
    assert bridge.action_space == env.action_space
    bridge.check_spaces(env.observation_space, env.action_space)  # no error


@pytest.mark.parametrize(
    ("trained", "used", "message"),
    [
        (
            {"window": 4},
            {"window": 8},
            "model expects observation shape (48,), the environment gives (72,): "
            "was it trained with window=4?",
        ),
        (
            {"observation": "flat:bins=5"},
            {},
            "model expects observation shape (66,), the environment gives (72,): "
            "was it trained with window=7 or observation bins=5?",
        ),
        ({"observation": "dict"}, {}, "was it trained with observation='dict'?"),
        ({}, {"observation": "dict"}, "was it trained with observation='flat'?"),
        (
            {"observation": "dict", "window": 3},
            {"observation": "dict"},
            "was it trained with window=3?",
        ),
    ],
)
def test_observation_mismatch_is_one_clear_line(trained, used, message):
    model_space = gym.make(ADMIT, **trained).observation_space
    bridge = PolicyScheduler(mcsf_admit, used)
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        bridge.check_spaces(model_space)
    assert "\n" not in str(caught.value)


def test_action_mismatch_is_one_clear_line():
    bridge = PolicyScheduler(mcsf_admit, {"window": 8})
    obs = bridge.observation_space
    with pytest.raises(ValueError, match=r"Discrete\(5\).*window=4\?"):
        bridge.check_spaces(obs, spaces.Discrete(5))
    with pytest.raises(ValueError, match="action='priority'"):
        bridge.check_spaces(obs, spaces.Box(-1, 1, (8,)))
    priority = PolicyScheduler(mcsf_priority, {"window": 8}, env_id=PRIORITY)
    with pytest.raises(ValueError, match="action='admit'"):
        priority.check_spaces(obs, spaces.Discrete(9))


def test_bad_arguments_and_bad_actions():
    with pytest.raises(ValueError, match=r"'windows' \(did you mean 'window'\?\); known: .*window"):
        PolicyScheduler(mcsf_admit, {"windows": 8})
    with pytest.raises(ValueError, match="env_id"):
        PolicyScheduler(mcsf_admit, {}, env_id="CartPole-v1")
    with pytest.raises(ValueError, match="masking"):
        PolicyScheduler(mcsf_admit, {"masking": "strict"})
    with pytest.raises(ValueError, match="observation type"):
        PolicyScheduler(mcsf_admit, {"observation": "pixels"})
    with pytest.raises(ValueError, match="policy must be callable"):
        PolicyScheduler("mcsf", {})
    instance = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    with pytest.raises(ValueError, match="action must be an integer"):
        simulate(instance, PolicyScheduler(lambda obs, mask: "left", {}), memory=7)
    with pytest.raises(ValueError, match="4 scores"):
        simulate(
            instance,
            PolicyScheduler(lambda obs, mask: np.zeros(3), {"window": 4}, env_id=PRIORITY),
            memory=7,
        )
