"""Training on a suite's tasks: training streams only, validation seeds, run.json, --seeds."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import gymnasium as gym

import mcsf_gym  # noqa: F401
from agents import make_agent
from mcsf_gym.suites import get_task
from training.config import TrainConfig
from training.runs import train_seeds
from training.suite_tasks import TaskRewardScale, TaskStream, validation_problems

TASKS = ("heavy-prompt-v1", "paper-model2-v1")


def _config(out: Path, **overrides: object) -> TrainConfig:
    values: dict[str, object] = {
        "suite": "core-v1",
        "tasks": TASKS,
        "policy": "slot-set",
        "normalize_obs": False,
        "env_kwargs": {"window": 8, "eviction": "newest-first"},
        "n_envs": 2,
        "total_timesteps": 256,
        "out": str(out),
        "net_arch": (16,),
        "algo_kwargs": {"n_steps": 64, "batch_size": 64, "n_epochs": 1},
        "eval_freq": 128,
        "valid_per_task": 1,
        "select_on": "mean_ratio",
        "checkpoint_freq": 0,
        "progress_bar": False,
    }
    values.update(overrides)
    return TrainConfig(**values)  # type: ignore[arg-type]


def test_task_stream_draws_only_training_seeds_of_its_tasks() -> None:
    stream = TaskStream("core-v1", TASKS)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(12):
        scenario = stream.sample(rng)
        task = get_task(stream.last_task)
        seen.add(task.name)
        assert scenario.time_model == task.time_model
        forbidden = set(task.eval_seeds) | set(task.valid_seeds)
        assert all(task.train_seed(0) > seed for seed in forbidden)
    assert seen == set(TASKS)


def test_rewards_are_scaled_per_task_so_returns_are_comparable() -> None:
    env = gym.make("mcsf_gym/KVCacheScheduling-v0", workload=TaskStream("core-v1", TASKS), window=8)
    env = TaskRewardScale(env, "clear-all")
    returns: dict[str, list[float]] = {}
    for seed in range(6):
        _, info = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, info = env.step(
                int(np.flatnonzero(info["action_mask"])[0])
            )
            total += float(reward)
            done = terminated or truncated
        returns.setdefault(env.stream.last_task, []).append(total)
    means = [np.mean(values) for values in returns.values()]
    assert len(means) == 2
    assert all(-400 < mean < -25 for mean in means)  # about -100 for an MC-SF-like schedule


def test_validation_problems_are_the_tasks_validation_scenarios() -> None:
    problems = validation_problems(
        "mcsf_gym/KVCacheScheduling-v0", {"eviction": "newest-first"}, "core-v1", TASKS, 2
    )
    task = get_task("heavy-prompt-v1")
    assert [seed for seed, _, _ in problems] == [
        *task.valid_seeds[:2],
        *get_task(TASKS[1]).valid_seeds[:2],
    ]
    seed, instance, config = problems[0]
    assert np.array_equal(instance.output, task.scenario(seed).instance.output)
    assert (config.memory, config.eviction, config.seed) == (3000, "newest-first", seed)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"env_kwargs": {"workload": "paper-model2"}}, "env_kwargs may not set"),
        ({"suite": "", "tasks": ("heavy-prompt-v1",)}, "tasks must be empty unless suite"),
        ({"tasks": ("no-such-v1",)}, "no-such-v1"),
        ({"select_on": "latency"}, "select_on must be one of"),
        ({"valid_per_task": 0}, "valid_per_task must be"),
    ],
)
def test_bad_suite_settings_are_refused(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _config(tmp_path, **overrides)


def test_two_seeds_train_in_parallel_with_run_records(tmp_path: Path) -> None:
    config = _config(tmp_path / "runs")
    paths = train_seeds(config, [3, 4], jobs=2, command=["mcsf-train", "--seeds", "3", "4"])
    assert paths == [tmp_path / "runs" / f"seed-{s}" / "model.zip" for s in (3, 4)]
    for seed in (3, 4):
        run = tmp_path / "runs" / f"seed-{seed}"
        record = json.loads((run / "run.json").read_text())
        assert record["seed"] == seed and record["config"]["seed"] == seed
        assert record["command"] == ["mcsf-train", "--seeds", "3", "4"]
        assert record["timesteps"] >= 256 and record["steps_per_s"] > 0
        assert record["mcsf_gym_version"]
        evaluations = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
        assert evaluations and all("mean_ratio" in entry for entry in evaluations)
        agent = make_agent(f"maskable-ppo:{run}/best_model.zip")
        assert agent.default_eviction == "newest-first"


def test_unknown_backend_and_repeated_seeds_are_refused(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with pytest.raises(ValueError, match="backend must be one of"):
        train_seeds(config, [0], backend="slurm")
    with pytest.raises(ValueError, match="distinct"):
        train_seeds(config, [1, 1])


def test_a_cloned_start_is_scored_before_any_update(tmp_path: Path) -> None:
    from training.train import train

    config = _config(tmp_path, imitate="area-skip", imitation_steps=400, imitation_epochs=3)
    train(config)
    record = json.loads((tmp_path / "imitation.json").read_text())
    assert record["teacher"] == "area-skip" and record["decisions"] == 400
    assert record["teachers"]["area-skip"]["decisions"] == 400
    assert record["losses"][-1] < record["losses"][0]
    assert 0.5 < record["agreement"] <= 1.0  # far above a uniform choice among the slots
    first = json.loads((tmp_path / "eval.jsonl").read_text().splitlines()[0])
    assert first["timesteps"] == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"imitate": "no-such-agent"}, r"imitate\['\*'\] must be a registered agent"),
        ({"imitate": {"*": "mcsf", "no-such-task": "gba"}}, "is not a task of this run"),
        ({"imitate": {"heavy-prompt-v1": "mcsf"}}, "names no teacher for"),
        ({"imitate": "maskable-ppo"}, "cannot play"),
        ({"imitate": ["mcsf"]}, "imitate must be '' or an agent name or a table"),
        ({"imitate": "area-skip", "normalize_obs": True, "policy": "mlp"}, "normalize_obs"),
    ],
)
def test_bad_imitation_settings_are_refused(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _config(tmp_path, **overrides)


def test_the_shipped_generalist_runs_as_an_agent_under_its_eviction() -> None:
    from agents import run_agent

    agent = make_agent("maskable-ppo:models/core-v1-generalist")
    assert agent.default_eviction == "newest-first"
    task = get_task("heavy-prompt-v1")
    scenario = task.scenario(task.valid_seeds[0])
    result = run_agent(
        scenario.instance, agent, memory=scenario.memory, time_model=task.time_model, seed=0
    )
    assert result.metrics["mean_latency"] > 0


@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install ray)"
)
def test_seeds_train_as_ray_tasks(tmp_path: Path) -> None:
    import ray

    config = _config(tmp_path / "runs", total_timesteps=128, eval_freq=0)
    paths = train_seeds(config, [3, 4], backend="ray", jobs=2, command=["test"])
    assert paths == [tmp_path / "runs" / f"seed-{seed}" / "model.zip" for seed in (3, 4)]
    for seed, path in zip((3, 4), paths, strict=True):
        record = json.loads((path.parent / "run.json").read_text())
        assert record["seed"] == seed and record["command"] == ["test"]
        assert make_agent(f"maskable-ppo:{path}").default_eviction == "newest-first"
    assert not ray.is_initialized()  # the local instance it started is stopped again
    # an error inside a seed's task comes back as the error itself, not a Ray wrapper
    bad = _config(tmp_path / "bad", algo_kwargs={"n_steps": 64, "no_such_argument": 1})
    with pytest.raises(ValueError, match="no_such_argument") as error:
        train_seeds(bad, [0], backend="ray")
    assert type(error.value) is ValueError
