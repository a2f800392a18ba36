"""Invariants of the environment: seeding, vectorisation, and random or invalid actions."""

import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mcsf_gym  # noqa: F401  (registers the environments)
from mcsf_gym import Instance, simulate
from mcsf_gym.env import ENV_IDS, PolicyScheduler

ADMIT = "mcsf_gym/KVCacheScheduling-v0"
PRIORITY = "mcsf_gym/KVCacheSchedulingPriority-v0"
SMALL = "paper-model2:n=12"


def rollout(env, seed, steps):
    """Reset with ``seed`` and take ``steps`` random valid actions (resetting when done)."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    trajectory = [(obs, 0.0, False, False, info["time"])]
    for _ in range(steps):
        mask = env.unwrapped.action_masks()
        if isinstance(env.action_space, gym.spaces.Discrete):
            action = int(rng.choice(np.flatnonzero(mask)))
        else:
            action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        trajectory.append((obs, reward, terminated, truncated, info["time"]))
        if terminated or truncated:
            obs, info = env.reset()
            trajectory.append((obs, 0.0, False, False, info["time"]))
    return trajectory


def flatten(observation):
    if isinstance(observation, dict):
        return np.concatenate([observation[key] for key in sorted(observation)])
    return observation


@pytest.mark.parametrize("observation", ["flat", "dict"])
@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_identical_seeds_give_identical_trajectories(env_id, observation):
    kwargs = {
        "workload": SMALL,
        "observation": observation,
        "prediction": "noisy:eps=0.5",
        "eviction": "random:beta=0.5",
        "max_steps": 150,
    }
    first = rollout(gym.make(env_id, **kwargs), seed=11, steps=500)
    second = rollout(gym.make(env_id, **kwargs), seed=11, steps=500)
    other = rollout(gym.make(env_id, **kwargs), seed=12, steps=500)
    assert sum(step[2] or step[3] for step in first) >= 3  # several episodes, resets included
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(flatten(a[0]), flatten(b[0]))
        assert a[1:] == b[1:]
    assert any(
        not np.array_equal(flatten(a[0]), flatten(b[0])) for a, b in zip(first, other, strict=True)
    )


def test_reset_with_the_same_seed_replays_the_same_episode():
    env = gym.make(ADMIT, workload=SMALL)
    once = rollout(env, seed=5, steps=50)
    again = rollout(env, seed=5, steps=50)
    for a, b in zip(once, again, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_make_vec(env_id, mode):
    kwargs = {"workload": SMALL, "max_steps": 40}  # truncation makes the sub-envs reset
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode, **kwargs)
    try:
        single = gym.make(env_id, **kwargs)
        assert envs.single_observation_space == single.observation_space
        assert envs.single_action_space == single.action_space
        obs, _ = envs.reset(seed=[3, 4])
        assert obs.shape == (2, *single.observation_space.shape)
        # Each sub-environment is the single environment with the same seed.
        np.testing.assert_array_equal(obs[0], single.reset(seed=3)[0])
        np.testing.assert_array_equal(obs[1], single.reset(seed=4)[0])
        rng = np.random.default_rng(0)
        discrete = isinstance(single.action_space, gym.spaces.Discrete)
        finished = 0
        for _ in range(100):
            masks = np.stack(envs.call("action_masks"))
            assert masks.shape == (2, single.unwrapped.action_masks().size)
            if discrete:
                actions = np.array([rng.choice(np.flatnonzero(mask)) for mask in masks])
            else:
                actions = rng.uniform(-1, 1, envs.action_space.shape).astype(np.float32)
            obs, rewards, terminated, truncated, _ = envs.step(actions)
            assert envs.observation_space.contains(obs)
            assert np.all(rewards <= 0)
            finished += int(terminated.sum() + truncated.sum())
        assert finished >= 2  # sub-environments reset themselves and go on
    finally:
        envs.close()


# ----------------------------------------------------------------- random and invalid actions
@st.composite
def small_problems(draw):
    """A tiny instance, its memory, and environment settings."""
    n = draw(st.integers(1, 6))
    prompt = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    output = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    prediction = draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    gaps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    instance = Instance(
        arrival=np.cumsum(gaps) - gaps[0], prompt=prompt, output=output, prediction=prediction
    )
    memory = max(s + o for s, o in zip(prompt, output, strict=True)) + draw(st.integers(0, 8))
    kwargs = {
        "workload": instance,
        "memory": memory,
        "time_model": draw(st.sampled_from(["unit", "linear"])),
        "eviction": draw(st.sampled_from(["clear-all", "newest-first", "random:beta=0.5"])),
        "window": draw(st.integers(1, 4)),
        "order": draw(st.sampled_from(["prediction", "arrival"])),
        "masking": draw(st.sampled_from(["lookahead", "next-round", "none"])),
        "alpha": draw(st.sampled_from([0.0, 0.3])),
        "observation": draw(st.sampled_from(["flat", "dict"])),
        "max_steps": 300,
        "reward_scale": draw(st.sampled_from([1.0, 8.0])),
    }
    return draw(st.sampled_from(sorted(ENV_IDS))), kwargs


def random_action(env, rng):
    """Any action of the right kind, valid or not (out-of-range slots, masked slots, NaN)."""
    if isinstance(env.action_space, gym.spaces.Discrete):
        return int(rng.integers(-3, env.action_space.n + 3))
    scores = rng.uniform(-2, 2, env.action_space.shape)
    scores[rng.random(scores.shape) < 0.1] = np.nan
    return scores


@settings(max_examples=350, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=small_problems(), seed=st.integers(0, 2**16))
def test_random_and_invalid_actions_never_break_the_environment(problem, seed):
    env_id, kwargs = problem
    # The passive checker would warn about out-of-space actions: this test sends them on purpose.
    env = gym.make(env_id, disable_env_checker=True, **kwargs)
    base = env.unwrapped
    rng = np.random.default_rng(seed)
    scale = kwargs["reward_scale"]
    for episode in range(6):
        obs, _ = env.reset(seed=seed + episode)
        total, steps = 0.0, 0
        while True:
            assert env.observation_space.contains(obs)
            mask = base.action_masks()
            assert mask.dtype == np.bool_ and mask.shape == (
                base.action_type.window + (env_id == ADMIT),
            )
            obs, reward, terminated, truncated, info = env.step(random_action(env, rng))
            steps += 1
            assert math.isfinite(reward) and reward <= 0
            total += reward
            if terminated or truncated:
                break
        assert truncated == (not terminated and steps == kwargs["max_steps"])
        if terminated:
            result = info["result"]
            assert np.all(result.finish >= result.start)
            assert total == pytest.approx(-result.total_latency / scale, rel=1e-9, abs=1e-9)
    assert env.observation_space.contains(obs)


@settings(max_examples=60, deadline=None)
@given(problem=small_problems(), seed=st.integers(0, 2**16))
def test_the_bridge_reproduces_random_episodes(problem, seed):
    """A seeded random policy admits the same requests in the env and through PolicyScheduler."""
    env_id, kwargs = problem
    env = gym.make(env_id, disable_env_checker=True, **kwargs)
    env.reset(seed=seed)
    actions = np.random.default_rng(seed)
    log = []
    while True:
        action = random_action(env, actions)
        log.append(action)
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    if truncated:
        return
    replay = iter(log)
    settings_only = {k: v for k, v in kwargs.items() if k not in ("workload", "memory")}
    bridge = PolicyScheduler(lambda obs, mask: next(replay), settings_only, env_id=env_id)
    config = env.unwrapped.engine.config
    result = simulate(
        kwargs["workload"],
        bridge,
        memory=config.memory,
        time_model=kwargs["time_model"],
        eviction=kwargs["eviction"],
        seed=config.seed,
    )
    assert bridge.steps == len(log)
    np.testing.assert_array_equal(result.start, info["result"].start)
    np.testing.assert_array_equal(result.finish, info["result"].finish)
