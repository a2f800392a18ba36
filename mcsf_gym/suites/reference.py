"""Reference data of a task: per scenario, a proven lower bound and the best-known schedule.

``reference/SUITE/TASK.json`` (written by ``scripts/make_reference.py``) holds the task's
definition as it was when the data was computed, how it was computed, and one record per
evaluation seed::

    {"seed": 0, "n": 47, "memory": 41, "bound": 812.0, "bound_method": "lp",
     "bound_parts": {...}, "best_known": 830.0, "best_source": "hindsight",
     "best_start": [0, 3, ...], "values": {"mcsf": 845.0, "mc-benchmark": 901.0, ...}}

``bound`` is below the total latency of every schedule of the scenario; ``best_known`` is the
total latency of ``best_start``, a schedule that replays exactly (no eviction, same starts)
under ``simulate(instance_with_exact_predictions, agents.Replay(best_start), ...)``;
``values`` are the total latencies of the agents that were run (under the task's predictions
and eviction policy). Latencies are in rounds (``unit``) or seconds (``linear``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcsf_gym.suites.suite import load_suite
from mcsf_gym.suites.task import Task


@dataclass(frozen=True)
class ScenarioReference:
    """The yardsticks of one evaluation scenario (see the module docstring)."""

    seed: int
    n: int
    memory: int
    bound: float
    bound_method: str
    bound_parts: dict[str, float]
    best_known: float
    best_source: str
    best_start: tuple[float, ...]
    values: dict[str, float]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioReference:
        """A record as stored in the JSON file."""
        return cls(
            seed=int(data["seed"]),
            n=int(data["n"]),
            memory=int(data["memory"]),
            bound=float(data["bound"]),
            bound_method=str(data["bound_method"]),
            bound_parts={key: float(value) for key, value in data["bound_parts"].items()},
            best_known=float(data["best_known"]),
            best_source=str(data["best_source"]),
            best_start=tuple(float(value) for value in data["best_start"]),
            values={key: float(value) for key, value in data["values"].items()},
        )


@dataclass(frozen=True)
class TaskReference:
    """All reference records of a task, with how they were computed.

    Attributes:
        task: the task's definition when the data was computed (:meth:`Task.to_dict`).
        meta: agents run, solver settings, package version, the command that recomputes it.
        scenarios: records by evaluation seed.
    """

    task: dict[str, Any]
    meta: dict[str, Any]
    scenarios: dict[int, ScenarioReference]

    def __getitem__(self, seed: int) -> ScenarioReference:
        return self.scenarios[seed]


def reference_path(task: Task) -> Path:
    """Where the reference data of ``task`` lives."""
    return load_suite(task.suite).reference_dir / f"{task.name}.json"


def load_reference(task: Task) -> TaskReference:
    """The reference data of ``task``, checked against its current definition.

    Raises:
        ValueError: if the file is missing (saying how to compute it), or was computed for a
            different definition or misses an evaluation seed.
    """
    path = reference_path(task)
    if not path.is_file():
        raise ValueError(
            f"no reference data for task {task.name!r} ({path}); compute it with "
            f"'python scripts/make_reference.py --suite {task.suite} --tasks {task.name}'"
        )
    data = json.loads(path.read_text())
    if data["task"] != task.to_dict():
        raise ValueError(
            f"{path} was computed for another definition of task {task.name!r}; a changed "
            "task needs a new version, or recompute the reference data"
        )
    records = {
        int(record["seed"]): ScenarioReference.from_dict(record) for record in data["scenarios"]
    }
    missing = [seed for seed in task.eval_seeds if seed not in records]
    if missing:
        raise ValueError(f"{path} has no record for evaluation seeds {missing[:5]}")
    return TaskReference(task=data["task"], meta=data["meta"], scenarios=records)
