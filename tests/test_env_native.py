"""The compiled backend (``backend="compiled"``) against the Python backend, step by step.

Both backends get the same seeds and the same actions (valid, masked, out of range, NaN
scores); every observation, reward, flag, mask and ``info`` (results included) must be equal,
bit for bit. An MC-SF episode in the compiled environment must also equal ``simulate``.
"""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mcsf_gym  # noqa: F401
from agents.mcsf import MCSF
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.simulate import simulate
from mcsf_gym.env.driver import SchedulerPolicy
from mcsf_gym.env.kv_cache_env import KVCacheSchedulingEnv
from mcsf_gym.env.native import numba_available
from mcsf_gym.workloads.base import Scenario

pytestmark = pytest.mark.skipif(not numba_available(), reason="the compiled backend needs numba")


def assert_same(ours, theirs, where):
    """Exact equality of observations, infos (results by their arrays and metrics), scalars."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), where
        for k, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(mine, other, f"{where}[{k}]")
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), where
        for key, value in theirs.items():
            if key == "result":
                assert ours[key].metrics == value.metrics, where
                for name in ("start", "finish", "first_token", "evicted"):
                    np.testing.assert_array_equal(getattr(ours[key], name), getattr(value, name))
            else:
                assert_same(ours[key], value, f"{where}[{key!r}]")
    elif isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray), where
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, where
        np.testing.assert_array_equal(ours, theirs, err_msg=where)
    else:
        assert type(ours) is type(theirs) and ours == theirs, (where, ours, theirs)


def any_action(env, mask, rng):
    """Mostly a random allowed action; sometimes anything (out of range, masked, NaN)."""
    if isinstance(env.action_space, gym.spaces.Discrete):
        if rng.random() < 0.15:
            return int(rng.integers(-3, env.action_space.n + 3))
        allowed = np.flatnonzero(mask)
        return int(allowed[rng.integers(allowed.size)]) if allowed.size else env.action_space.n - 1
    scores = rng.uniform(-1.5, 1.5, env.action_space.shape)
    scores[rng.random(scores.shape) < 0.1] = np.nan
    if rng.random() < 0.05:
        scores[:] = -np.inf
    return scores


def run_side_by_side(kwargs, seed, steps):
    """Step both backends ``steps`` times (resetting when an episode ends); compare all."""
    python = KVCacheSchedulingEnv(backend="python", **kwargs)
    compiled = KVCacheSchedulingEnv(backend="compiled", **kwargs)
    rng = np.random.default_rng(seed)
    ended = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # truncation warnings
        first = python.reset(seed=seed)
        assert_same(compiled.reset(seed=seed), first, "reset")
        for step in range(steps):
            mask = python.action_masks()
            assert_same(compiled.action_masks(), mask, f"mask {step}")
            action = any_action(python, mask, rng)
            theirs = python.step(action)
            ours = compiled.step(action)
            assert_same(ours, theirs, f"step {step}")
            assert compiled.invalid_actions == python.invalid_actions
            if theirs[2] or theirs[3]:
                ended += 1
                assert_same(compiled.reset(), python.reset(), f"reset after {step}")
    return ended


CASES = [
    {},
    {"observation": "dict", "order": "arrival", "masking": "next-round"},
    {"masking": "none", "allow_idle": True},
    {"time_model": "linear", "alpha": 0.2, "window": 3, "reward_scale": 10.0},
    {"eviction": "newest-first", "masking": "none", "max_steps": 150},
    {"prediction": "noisy:eps=0.8", "memory": 60},
    {"action": "priority"},
    {"action": "priority", "masking": "none", "allow_idle": True, "eviction": "newest-first"},
    {"action": "priority", "masking": "next-round", "observation": "flat:bins=4,time_scale=16"},
    {"workload": "lmsys:n=150", "time_model": "linear", "window": 16, "alpha": 0.1},
]


@pytest.mark.parametrize("kwargs", CASES, ids=[str(case) for case in CASES])
def test_the_compiled_backend_is_the_python_backend(kwargs):
    kwargs = {"workload": "paper-model2", "max_steps": 250, **kwargs}
    ended = sum(run_side_by_side(kwargs, seed, steps=700) for seed in (0, 1))
    assert ended >= 2  # episodes ended (terminated or truncated) and were reset


@st.composite
def small_problems(draw):
    """A tiny fixed instance, its memory and settings the compiled backend supports."""
    n = draw(st.integers(1, 8))
    prompt = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    output = draw(st.lists(st.integers(1, 7), min_size=n, max_size=n))
    prediction = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    gaps = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    time_model = draw(st.sampled_from(["unit", "linear"]))
    arrival = np.cumsum(gaps) - gaps[0]
    if time_model == "linear":
        arrival = arrival * 0.03
    instance = Instance(arrival=arrival, prompt=prompt, output=output, prediction=prediction)
    memory = max(s + o for s, o in zip(prompt, output, strict=True)) + draw(st.integers(0, 10))
    return {
        "workload": Scenario(instance, memory, time_model),
        "action": draw(st.sampled_from(["admit", "priority"])),
        "eviction": draw(st.sampled_from(["clear-all", "newest-first"])),
        "window": draw(st.integers(1, 5)),
        "order": draw(st.sampled_from(["prediction", "arrival"])),
        "masking": draw(st.sampled_from(["lookahead", "next-round", "none"])),
        "alpha": draw(st.sampled_from([0.0, 0.25])),
        "allow_idle": draw(st.booleans()),
        "observation": draw(st.sampled_from(["flat", "dict"])),
        "max_steps": draw(st.sampled_from([40, "auto"])),
        "reward_scale": draw(st.sampled_from([1.0, 3.0])),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kwargs=small_problems(), seed=st.integers(0, 2**16))
def test_random_small_problems_agree(kwargs, seed):
    run_side_by_side(kwargs, seed, steps=120)


def test_mcsf_in_the_compiled_environment_equals_simulate():
    """MC-SF is "slot 0 while its mask holds, then advance" (the environment's docstring)."""
    env = gym.make("mcsf_gym/KVCacheScheduling-v0", workload="lmsys:n=300", backend="compiled")
    base = env.unwrapped
    window = base.config.window
    for seed in range(3):
        env.reset(seed=seed)
        while True:
            action = 0 if base.action_masks()[0] else window
            _, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        assert terminated
        result = info["result"]
        expected = simulate(
            result.instance, MCSF(), memory=result.memory, time_model=result.time_model
        )
        np.testing.assert_array_equal(result.finish, expected.finish)
        assert result.metrics == expected.metrics


def test_settings_it_cannot_run_are_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"backend='compiled'.*random"):
        KVCacheSchedulingEnv(backend="compiled", eviction="random:beta=0.3")
    with pytest.raises(ValueError, match="backend must be one of"):
        KVCacheSchedulingEnv(backend="fast")
    # "auto" falls back to the Python backend where the compiled one cannot go.
    assert KVCacheSchedulingEnv(backend="auto", eviction="random:beta=0.3").native is None
    assert KVCacheSchedulingEnv(backend="auto").native is not None
    assert KVCacheSchedulingEnv().native is not None  # "auto" is the default
    # It renders by moving to the Python backend (SB3's make_vec_env sets a render_mode).
    assert KVCacheSchedulingEnv(render_mode="ansi").native is not None


def test_bad_actions_and_calls_out_of_order_raise():
    env = KVCacheSchedulingEnv(backend="compiled")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        env.action_masks()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be an integer"):
        env.step(0.5)
    env.step(2**80)  # any integer is an action: outside 0..K it is invalid
    assert env.invalid_actions == 1
    priority = KVCacheSchedulingEnv(backend="compiled", action="priority")
    priority.reset(seed=0)
    with pytest.raises(ValueError, match="8 scores"):
        priority.step(np.zeros(3))


@pytest.mark.parametrize("kwargs", CASES[:7], ids=[str(case) for case in CASES[:7]])
def test_reading_the_engine_mid_episode_replays_it_on_the_python_backend(kwargs):
    python = KVCacheSchedulingEnv(backend="python", **kwargs)
    moved = KVCacheSchedulingEnv(**kwargs)
    rng = np.random.default_rng(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # truncation warnings
        warnings.filterwarnings("error", message=".*moved this environment")  # "auto": silent
        for episode in range(2):
            assert_same(moved.reset(seed=episode), python.reset(seed=episode), "reset")
            switch = int(rng.integers(0, 40)) if episode == 0 else -1
            for step in range(200):
                if step == switch:
                    assert moved.native is not None
                    assert moved.engine is not None and moved.native is None
                    assert moved.engine.view.time == python.engine.view.time
                    assert moved.invalid_actions == python.invalid_actions
                mask = python.action_masks()
                action = any_action(python, mask, rng)
                theirs = python.step(action)
                assert_same(moved.step(action), theirs, f"episode {episode} step {step}")
                if theirs[2] or theirs[3]:
                    break
    assert moved.native is None  # for good: the second episode ran on the Python backend


def test_a_scheduler_or_a_render_moves_the_environment_to_the_python_backend():
    env = KVCacheSchedulingEnv(workload="paper-model2:n=20")
    reference = KVCacheSchedulingEnv(workload="paper-model2:n=20", backend="python")
    for each in (env, reference):
        each.reset(seed=3)
        each.step(0)
    policy, expected = SchedulerPolicy(MCSF()), SchedulerPolicy(MCSF())
    assert policy(env) == expected(reference)  # the scheduler read the replayed boundary
    assert env.native is None
    rendered = KVCacheSchedulingEnv(render_mode="ansi", backend="compiled")
    shown = KVCacheSchedulingEnv(render_mode="ansi", backend="python")
    for each in (rendered, shown):
        each.reset(seed=0)
        each.step(0)
        each.step(8)
    with pytest.warns(UserWarning, match="moved this environment from backend='compiled'"):
        text = rendered.render()
    assert text == shown.render()
    fresh = KVCacheSchedulingEnv(backend="compiled")
    with pytest.warns(UserWarning):
        assert fresh.engine is None  # before any reset: nothing to replay
    assert fresh.native is None
    fresh.reset(seed=0)
    assert fresh.engine is not None


def test_vector_environment_backends():
    kwargs = {"workload": "paper-model2:n=8", "num_envs": 3}
    auto = gym.make_vec("mcsf_gym/KVCacheScheduling-v0", **kwargs)
    assert auto.unwrapped.native is not None  # "auto" compiles what it can
    auto.reset(seed=0)
    member = auto.unwrapped.envs[0]
    assert member.engine is None and member.native is not None  # the batch stays compiled
    rendering = gym.make_vec("mcsf_gym/KVCacheScheduling-v0", render_mode="ansi", **kwargs)
    assert rendering.unwrapped.native is None  # a vector env cannot move: it renders in Python
    python = gym.make_vec("mcsf_gym/KVCacheScheduling-v0", backend="python", **kwargs)
    assert python.unwrapped.native is None
    fallback = gym.make_vec("mcsf_gym/KVCacheScheduling-v0", eviction="random:beta=0.5", **kwargs)
    assert fallback.unwrapped.native is None
    with pytest.raises(ValueError, match=r"backend='compiled'.*random"):
        gym.make_vec(
            "mcsf_gym/KVCacheScheduling-v0",
            eviction="random:beta=0.5",
            backend="compiled",
            **kwargs,
        )


def test_a_first_compilation_is_announced_once(monkeypatch, tmp_path, capsys):
    from types import SimpleNamespace

    from mcsf_gym.env import native

    def kernel(index):
        cache = SimpleNamespace(_cache_file=SimpleNamespace(_index_path=str(index)))
        return SimpleNamespace(step_batch=SimpleNamespace(_cache=cache))

    monkeypatch.setattr(native, "_announced", False)
    assert native.announce_compilation(kernel(tmp_path / "missing.nbi"))
    assert "compiling the environment's kernel" in capsys.readouterr().err
    assert not native.announce_compilation(kernel(tmp_path / "missing.nbi"))  # once a process
    monkeypatch.setattr(native, "_announced", False)
    (tmp_path / "cached.nbi").write_text("")
    assert not native.announce_compilation(kernel(tmp_path / "cached.nbi"))
    monkeypatch.setattr(native, "_announced", False)
    assert not native.announce_compilation(SimpleNamespace(step_batch=len))  # no cache to read
    assert capsys.readouterr().err == ""
