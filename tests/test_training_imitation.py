"""Heuristics played in the admit-mode environment (training.imitation): exact replays."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mcsf_gym  # noqa: F401
from agents import make_agent
from agents.learned import restrict_advance
from mcsf_gym import simulate
from mcsf_gym.suites import get_task
from training.config import TrainConfig
from training.imitation import TeacherReplay, balanced_weights, collect

ADMIT = "mcsf_gym/KVCacheScheduling-v0"


def _replay(task: str, teacher: str, window: int, rule: str = "idle") -> tuple[float, float, int]:
    """``(replayed mean latency, simulate's, inexpressible decisions)`` on a validation scenario."""
    scenario = get_task(task).scenario(get_task(task).valid_seeds[0])
    env = gym.make(ADMIT, workload=scenario, window=window, eviction="newest-first")
    observation, info = env.reset(seed=0)
    replay = TeacherReplay(make_agent(teacher))
    while True:
        mask = restrict_advance(observation, info["action_mask"], rule)
        action = replay.action(env.unwrapped.boundary, mask)
        assert mask[action]
        observation, _, terminated, truncated, info = env.step(action)
        assert not truncated
        if terminated:
            break
    reference = simulate(
        scenario.instance,
        make_agent(teacher),
        memory=scenario.memory,
        time_model=scenario.time_model,
        eviction="newest-first",
    )
    return info["metrics"]["mean_latency"], reference.mean_latency, replay.inexpressible


@pytest.mark.parametrize("teacher", ["mcsf", "area-skip", "sorted-f", "gba", "mcsf-skip"])
@pytest.mark.parametrize("task", ["heavy-prompt-v1", "paper-model2-v1", "lmsys-noisy-v1"])
def test_a_window_over_the_whole_queue_replays_the_heuristic_exactly(task, teacher) -> None:
    replayed, reference, inexpressible = _replay(task, teacher, window=256)
    assert inexpressible == 0
    assert replayed == pytest.approx(reference, rel=1e-12)


def test_plans_the_window_cannot_show_are_counted() -> None:
    # lmsys-noisy queues grow past 200 requests: a window of 2 hides most of area-skip's plan.
    replayed, reference, inexpressible = _replay("lmsys-noisy-v1", "area-skip", window=2)
    assert inexpressible > 0
    assert replayed != reference


def test_collect_uses_each_tasks_teacher(tmp_path) -> None:
    tasks = ("heavy-prompt-v1", "paper-model2-v1")
    config = TrainConfig(
        suite="core-v1",
        tasks=tasks,
        policy="slot-set",
        normalize_obs=False,
        env_kwargs={"window": 64, "eviction": "newest-first"},
        imitate={"paper-model2-v1": "mcsf", "*": "sorted-f"},
        out=str(tmp_path),
        progress_bar=False,
    )
    (observations, masks, actions), labels, counts = collect(config, 3000)
    assert len(observations) == len(masks) == len(actions) == len(labels) == 3000
    assert set(labels) == set(tasks)
    assert masks[np.arange(3000), actions].all()
    assert set(counts) == {"mcsf", "sorted-f"}
    assert sum(entry["decisions"] for entry in counts.values()) == 3000
    assert all(entry["inexpressible"] == 0 for entry in counts.values())


def test_balanced_weights_give_every_task_the_same_total() -> None:
    labels = np.array(["a"] * 6 + ["b"] * 2)
    weights = balanced_weights(labels)
    assert weights.mean() == pytest.approx(1.0)
    assert weights[labels == "a"].sum() == pytest.approx(weights[labels == "b"].sum())
