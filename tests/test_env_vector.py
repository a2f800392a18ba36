"""The native vector environment: per instance, exactly the single environment (SyncVectorEnv)."""

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from script_loader import load_script

import mcsf_gym  # noqa: F401
from mcsf_gym.env import ENV_IDS
from mcsf_gym.env.native import numba_available
from mcsf_gym.env.vector import KVCacheSchedulingVectorEnv

ADMIT = "mcsf_gym/KVCacheScheduling-v0"
PRIORITY = "mcsf_gym/KVCacheSchedulingPriority-v0"
SMALL = "paper-model2:n=8"


def assert_same(ours, theirs, path="infos"):
    """Deep equality of vector infos / observations (dicts of arrays, object arrays of results)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), path
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{path}[{key!r}]")
        return
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, path
    if theirs.dtype == object:
        for a, b in zip(ours.tolist(), theirs.tolist(), strict=True):
            if b is None:
                assert a is None, path
            elif isinstance(b, dict):
                assert a == b, path
            else:  # a SimulationResult
                assert a.metrics == b.metrics, path
                np.testing.assert_array_equal(a.finish, b.finish)
        return
    np.testing.assert_array_equal(ours, theirs, err_msg=path)


def actions_for(space, masks, rng):
    """Random actions: a uniformly random allowed slot (admit), uniform scores (priority)."""
    if isinstance(space, gym.spaces.MultiDiscrete):
        return (rng.random(masks.shape) * masks).argmax(axis=1)
    return rng.uniform(-1.0, 1.0, space.shape).astype(np.float32)


CASES = [
    (ADMIT, {}),
    (ADMIT, {"observation": "dict", "order": "arrival", "masking": "next-round"}),
    (ADMIT, {"masking": "none", "allow_idle": True, "eviction": "random:beta=0.3"}),
    (ADMIT, {"time_model": "linear", "alpha": 0.2, "window": 3, "reward_scale": 10.0}),
    (PRIORITY, {}),
    (PRIORITY, {"masking": "next-round", "observation": "flat:bins=4,time_scale=16"}),
]


@pytest.mark.parametrize("backend", ["python", "auto"])
@pytest.mark.parametrize(("env_id", "kwargs"), CASES)
def test_each_instance_is_the_single_environment_with_its_seed(env_id, kwargs, backend):
    kwargs = {"workload": SMALL, "max_steps": 60, **kwargs}  # truncations and terminations
    ours = gym.make_vec(
        env_id, num_envs=4, vectorization_mode="vector_entry_point", backend=backend, **kwargs
    )
    theirs = gym.make_vec(env_id, num_envs=4, vectorization_mode="sync", **kwargs)
    assert isinstance(ours, KVCacheSchedulingVectorEnv)
    # "auto" compiles every case but random eviction (the single environments are Python).
    compiled = backend == "auto" and "random" not in str(kwargs.get("eviction"))
    assert (ours.native is not None) == (compiled and numba_available())
    assert ours.single_observation_space == theirs.single_observation_space
    assert ours.single_action_space == theirs.single_action_space
    assert ours.observation_space == theirs.observation_space
    assert ours.action_space == theirs.action_space
    rng = np.random.default_rng(1)
    ended = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # truncation warnings
        obs_ours, infos_ours = ours.reset(seed=11)
        obs_theirs, infos_theirs = theirs.reset(seed=11)
        assert_same(obs_ours, obs_theirs, "reset obs")
        assert_same(infos_ours, infos_theirs, "reset infos")
        for step in range(250):
            masks = ours.action_masks()
            np.testing.assert_array_equal(masks, np.stack(theirs.call("action_masks")))
            np.testing.assert_array_equal(masks, infos_ours["action_mask"])
            actions = actions_for(ours.action_space, masks, rng)
            out_ours = ours.step(actions)
            out_theirs = theirs.step(actions)
            names = ("obs", "rewards", "terminated", "truncated", "infos")
            for name, a, b in zip(names, out_ours, out_theirs, strict=True):
                assert_same(a, b, f"step {step} {name}")
            infos_ours = out_ours[4]
            assert ours.observation_space.contains(out_ours[0])
            ended += int(out_ours[2].sum() + out_ours[3].sum())
    assert ended >= 4  # instances ended (terminated or truncated) and were reset
    ours.close()
    theirs.close()


def test_registration_metadata_and_the_default_mode():
    for env_id in ENV_IDS:
        assert gym.spec(env_id).vector_entry_point == (
            "mcsf_gym.env.vector:KVCacheSchedulingVectorEnv"
        )
    envs = gym.make_vec(PRIORITY, num_envs=3, workload=SMALL)  # the default mode uses it
    assert isinstance(envs, KVCacheSchedulingVectorEnv)
    assert envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert envs.num_envs == 3 and envs.action_space.shape == (3, 8)
    obs, infos = envs.reset(seed=0)
    assert obs.shape == (3, 72) and obs.dtype == np.float32
    assert envs.action_masks().shape == (3, 8) and infos["action_mask"].shape == (3, 8)
    assert all(info is None for info in envs.render())


def test_seeds_a_list_and_unseeded_resets():
    envs = gym.make_vec(ADMIT, num_envs=2, vectorization_mode="vector_entry_point", workload=SMALL)
    single = gym.make(ADMIT, workload=SMALL)
    obs, _ = envs.reset(seed=[7, np.int64(3)])
    np.testing.assert_array_equal(obs[0], single.reset(seed=7)[0])
    np.testing.assert_array_equal(obs[1], single.reset(seed=3)[0])
    obs, _ = envs.reset()
    assert obs.shape == (2, 72)
    with pytest.raises(ValueError, match="seed must list 2 seeds"):
        envs.reset(seed=[1, 2, 3])


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="num_envs"):
        KVCacheSchedulingVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="did you mean 'window'"):
        KVCacheSchedulingVectorEnv(num_envs=2, windw=3)
    envs = KVCacheSchedulingVectorEnv(num_envs=2, workload=SMALL)
    with pytest.raises(RuntimeError, match="reset"):
        envs.action_masks()
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="one action per instance"):
        envs.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="action must be an integer"):
        envs.step(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="reset option"):
        envs.reset(options={"reset_mask": np.array([True, False])})


def test_rendering_of_every_instance():
    envs = KVCacheSchedulingVectorEnv(num_envs=2, workload=SMALL, render_mode="ansi")
    envs.reset(seed=0)
    frames = envs.render()
    assert len(frames) == 2 and all(frame.startswith("time ") for frame in frames)


def test_the_benchmark_times_the_vector_env_next_to_cartpole(tmp_path, capsys):
    bench = load_script("benchmarks/bench_env.py")
    argv = ["--workload", "paper-model2:n=10", "--steps", "400", "--repeats", "1", "--json"]
    assert bench.main([*argv, "--num-envs", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    for entry in result["backends"].values():
        assert entry["vector_num_envs"] == 2 and entry["vector_episodes"] >= 1
        assert entry["vector_ratio_to_cartpole"] == pytest.approx(
            entry["vector_steps_per_s"] / result["cartpole_steps_per_s"]
        )
    assert bench.main([*argv, "--num-envs", "0"]) == 0
    for entry in json.loads(capsys.readouterr().out)["backends"].values():
        assert "vector_steps_per_s" not in entry
    with pytest.raises(SystemExit):
        bench.main(["--num-envs", "-1"])
