"""The environment's public surface: registration, checkers, spaces, arguments, rendering."""

import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import mcsf_gym
from mcsf_gym import Instance
from mcsf_gym.env import ENV_IDS, KVCacheSchedulingEnv
from mcsf_gym.env.rendering import chart_figure, render_rgb_plain
from mcsf_gym.workloads.base import Scenario

ADMIT = "mcsf_gym/KVCacheScheduling-v0"
PRIORITY = "mcsf_gym/KVCacheSchedulingPriority-v0"
SMALL = "paper-model2:n=12"


def test_importing_the_package_registers_both_ids():
    assert mcsf_gym.__name__ == "mcsf_gym"
    assert set(ENV_IDS) == {ADMIT, PRIORITY}
    for env_id in ENV_IDS:
        assert env_id in gym.registry
        assert gym.registry[env_id].entry_point == (
            "mcsf_gym.env.kv_cache_env:KVCacheSchedulingEnv"
        )


def test_api_md_example():
    env = gym.make(ADMIT)
    obs, info = env.reset(seed=0)
    mask = env.unwrapped.action_masks()
    assert isinstance(env.action_space, gym.spaces.Discrete)
    assert env.action_space.n == 9 and mask.shape == (9,) and mask.dtype == np.bool_
    # a request waits at the first arrival and nothing runs yet: it may be admitted, and
    # "advance" (idling) is masked in the work-conserving default
    assert mask[0] and not mask[-1]
    assert obs.shape == (72,) and env.observation_space.contains(obs)
    assert info["invalid_actions"] == 0
    assert np.array_equal(info["action_mask"], mask)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # the registered defaults: the built-in workload, flat observations
        {"observation": "dict"},
        {"workload": SMALL, "observation": "dict:bins=3", "window": 3, "masking": "none"},
        {"workload": "lmsys:n=60", "time_model": "linear", "order": "arrival"},
    ],
)
@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_checkers_pass_without_warnings(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=False)
        sb3_check_env(env.unwrapped, warn=True)


@pytest.mark.parametrize("observation", ["flat", "dict"])
@pytest.mark.parametrize("render_mode", ["ansi", "rgb_array"])
@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_checkers_pass_with_render_modes(env_id, render_mode, observation):
    env = gym.make(env_id, workload=SMALL, render_mode=render_mode, observation=observation)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=False)


def test_priority_space_is_a_symmetric_box():
    env = gym.make(PRIORITY, workload=SMALL, window=5)
    space = env.action_space
    assert isinstance(space, gym.spaces.Box)
    assert space.shape == (5,) and np.all(space.low == -1) and np.all(space.high == 1)
    env.reset(seed=1)
    assert env.unwrapped.action_masks().shape == (5,)


def test_feature_names_match_the_documented_layout():
    env = gym.make(ADMIT, workload=SMALL, window=3, observation="flat:bins=4")
    names = env.unwrapped.feature_names()
    assert len(names) == env.observation_space.shape[0] == 8 + 6 * 3 + 2 * 4
    assert names[:8] == [
        "memory_in_use",
        "memory_next_round",
        "predicted_peak",
        "waiting",
        "pending",
        "running",
        "time",
        "last_duration",
    ]
    assert names[8 + 6 * 2 + 4] == "slot2.fits_lookahead"
    assert names[8 + 6 * 3] == "running.count[1-1]"
    assert names[-1] == "running.memory[8+]"
    # The docstring table documents the same indices.
    doc = KVCacheSchedulingEnv.__doc__
    for row in ("| 0 ", "| 7 ", "| 8 + 6k + 5", "| 8 + 6K + B + b"):
        assert row in doc


def test_the_manual_documents_every_argument_section_and_info_key():
    import inspect

    doc = KVCacheSchedulingEnv.__doc__
    for section in (
        "## Description",
        "## Action Space",
        "## Observation Space",
        "## Rewards",
        "## Starting State",
        "## Episode End",
        "## Arguments",
        "## Version History",
    ):
        assert section in doc
    parameters = inspect.signature(KVCacheSchedulingEnv.__init__).parameters
    for name, parameter in list(parameters.items())[1:]:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:  # unknown keywords: refused
            continue
        default = "" if parameter.default is inspect.Parameter.empty else parameter.default
        row = re.search(rf"^\s*\| `{name}`\s*\| `([^`]*)`", doc, re.MULTILINE)
        assert row, f"{name} is not in the Arguments table"
        assert row.group(1) == repr(default).replace("'", '"'), name
    env = gym.make(ADMIT, workload=Instance(arrival=[0], prompt=[1], output=[1]), memory=4)
    _, info = env.reset(seed=0)
    env.step(0)  # admit the request
    _, _, terminated, _, last = env.step(8)  # advance: it runs and finishes
    assert terminated
    for key in set(info) | set(last):
        assert f'``"{key}"``' in doc, key


def test_dict_observation_holds_the_flat_numbers():
    kwargs = {"workload": SMALL, "window": 4}
    flat_env = gym.make(ADMIT, **kwargs)
    dict_env = gym.make(ADMIT, observation="dict", **kwargs)
    rng = np.random.default_rng(3)
    flat, _ = flat_env.reset(seed=5)
    parts, _ = dict_env.reset(seed=5)
    for _ in range(40):
        slots = flat[8 : 8 + 24].reshape(4, 6)
        assert np.array_equal(parts["global"], flat[:8])
        for column, name in enumerate(
            ["occupied", "prompt", "prediction", "waited", "fits_lookahead", "fits_next_round"]
        ):
            assert np.array_equal(parts[name], slots[:, column])
        assert np.array_equal(parts["running_count"], flat[32:40])
        assert np.array_equal(parts["running_memory"], flat[40:])
        valid = np.flatnonzero(flat_env.unwrapped.action_masks())
        action = int(rng.choice(valid))
        flat, _, done, _, _ = flat_env.step(action)
        parts, _, _, _, _ = dict_env.step(action)
        if done:
            break


def test_observation_never_depends_on_true_lengths():
    base = dict(arrival=[0, 0, 1, 3], prompt=[2, 3, 1, 2], prediction=[5, 2, 4, 3])
    one = Instance(output=[5, 2, 4, 3], **base)
    other = Instance(output=[3, 7, 2, 6], **base)
    trajectories = []
    for instance in (one, other):
        env = gym.make(ADMIT, workload=instance, memory=30)
        obs, _ = env.reset(seed=0)
        seen = [obs]
        for action in (0, 0, 8):  # admit, admit, advance: one round, nobody finishes
            obs, *_ = env.step(action)
            seen.append(obs)
        trajectories.append(np.array(seen))
    assert np.array_equal(trajectories[0], trajectories[1])


def test_fixed_instance_and_scenario_and_reset_option():
    instance = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    env = gym.make(ADMIT, workload=Scenario(instance, 7, "unit"))
    env.reset(seed=0)
    assert env.unwrapped.boundary.memory == 7
    env = gym.make(ADMIT, workload=instance)
    env.reset(seed=0)
    assert env.unwrapped.boundary.memory == 16492  # the documented default for an Instance
    env = gym.make(ADMIT, workload=SMALL)
    env.reset(seed=0, options={"scenario": Scenario(instance, 9, "unit")})
    assert env.unwrapped.boundary.memory == 9
    assert env.unwrapped.engine.instance == instance


def test_memory_time_model_and_prediction_overrides():
    env = gym.make(ADMIT, workload=SMALL, memory=64, time_model="linear", prediction="upper")
    env.reset(seed=2)
    engine = env.unwrapped.engine
    assert engine.state.memory == 64
    assert engine.config.resolved_time_model.name == "linear"
    instance = engine.instance
    assert np.all(instance.prediction >= instance.output)
    assert np.any(instance.prediction > instance.output)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window": 0}, "window"),
        ({"window": 2.5}, "window"),
        ({"masking": "strict"}, "masking"),
        ({"order": "random"}, "order"),
        ({"alpha": 1.0}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"reward_scale": 0}, "reward_scale"),
        ({"reward_scale": float("nan")}, "reward_scale"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": "forever"}, "max_steps"),
        ({"render_mode": "video"}, "render_mode"),
        ({"action": "teleport"}, "action type"),
        ({"observation": "pixels"}, "observation type"),
        ({"observation": "flat:bins=0"}, "bins"),
        ({"memory": "huge"}, "memory"),
        ({"time_model": "quadratic"}, "time model"),
        ({"prediction": "oracle"}, "prediction model"),
        ({"eviction": "oldest"}, "eviction"),
        ({"workload": 42}, "workload"),
        ({"workload": "no-such-workload"}, "workload"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*render_mode.*:UserWarning")
def test_bad_arguments_raise_value_error_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=re.escape(field)):
        gym.make(ADMIT, **kwargs)


def test_bad_actions_and_order_of_calls():
    env = KVCacheSchedulingEnv(SMALL)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        env.action_masks()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step("left")
    with pytest.raises(ValueError, match="reset option"):
        env.reset(options={"instance": None})
    priority = KVCacheSchedulingEnv(SMALL, action="priority", window=4)
    priority.reset(seed=0)
    with pytest.raises(ValueError, match="4 scores"):
        priority.step(np.zeros(3))


def test_ansi_render_shows_the_window():
    instance = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
    env = gym.make(ADMIT, workload=instance, memory=7, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert "memory [" in text and "0/7" in text
    rows = [line.split() for line in text.splitlines() if re.match(r"\s+\d+\s+\d+\s", line)]
    # slot, id, prompt, prediction: the shorter request (id 1) comes first
    assert [row[:4] for row in rows] == [["0", "1", "2", "2"], ["1", "0", "2", "3"]]


def test_rgb_render_draws_memory_and_queue():
    env = gym.make(ADMIT, workload=SMALL, render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    assert first.shape == (240, 480, 3) and first.dtype == np.uint8
    done = False
    while not done:
        _, _, done, _, _ = env.step(0 if env.unwrapped.action_masks()[0] else 8)
    image = env.render()
    memory_blue = np.all(image[:120] == (31, 119, 180), axis=-1)
    waiting_orange = np.all(image[120:] == (255, 127, 14), axis=-1)
    assert memory_blue.sum() > 300 and waiting_orange.sum() > 30
    assert not np.array_equal(first, image)
    history = env.unwrapped._history
    plain = render_rgb_plain(history, env.unwrapped.boundary.memory)  # without matplotlib
    assert plain.shape == (240, 480, 3) and np.all(plain[:120] == (31, 119, 180), -1).sum() > 1000


def test_rgb_chart_has_axes_labels_and_legends():
    pytest.importorskip("matplotlib")
    history = [(0.0, 0, 2, 0), (1.0, 5, 1, 1), (2.0, 7, 0, 2), (3.0, 0, 0, 0)]
    top, bottom = chart_figure(history, 10, "s").axes
    assert top.get_ylabel() == "KV tokens" and bottom.get_ylabel() == "requests"
    assert bottom.get_xlabel() == "time (s)"
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["in use", "M = 10"]
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == ["waiting", "running"]
    assert top.get_ylim()[1] > 10  # the capacity line is inside the panel
