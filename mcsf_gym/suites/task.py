"""A benchmark task: a frozen description of a workload, a worker and its scenario seeds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from mcsf_gym.datasets import placeholder_names, resolve_placeholders
from mcsf_gym.workloads import Scenario, Workload, make_workload

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*-v(?P<version>[1-9][0-9]*)$")
TIME_MODELS = ("unit", "linear")


def _seed_tuple(owner: str, field_name: str, value: Any) -> tuple[int, ...]:
    """Seeds as a tuple of distinct non-negative integers."""
    seeds = tuple(value)
    if not seeds:
        raise ValueError(f"{owner}: {field_name} must hold at least one seed, got {value!r}")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"{owner}: {field_name} must be integers >= 0, got {seed!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{owner}: {field_name} must be distinct, got {list(seeds)}")
    return tuple(int(seed) for seed in seeds)


@dataclass(frozen=True)
class Task:
    """One task of a suite (``name-vN``): what is scheduled, on which worker, on which seeds.

    A task is data: changing any field means a new version (a new name). Scenario ``k`` of
    the task is ``workload.sample(numpy.random.default_rng(eval_seeds[k]))``; the same seed
    seeds the agent and the engine. Training uses :meth:`train_seed` (an endless stream that
    starts above every evaluation and validation seed), model selection ``valid_seeds``.

    Args:
        name: ``name-vN`` (lower case words joined by ``-``, then the version).
        description: what the task measures, one or two sentences.
        workload: a workload spec; ``{data:NAME}`` stands for the local path of dataset
            ``NAME`` (:mod:`mcsf_gym.datasets`), resolved when the workload is built.
        time_model: ``"unit"`` or ``"linear"``; every scenario must use it.
        prediction: prediction-model spec given to the workload (``"noisy:eps=0.5"``).
        memory: ``M`` every scenario must have, or ``None`` when it is drawn per scenario.
        eviction: eviction policy every agent runs under, or ``None`` for each agent's own
            (``agents.run_agent``'s default).
        eval_seeds: the evaluation scenarios (30 to 100 in shipped suites).
        valid_seeds: scenarios for model selection while training.
        train_seed_start: first seed of the training stream.
        suite: the suite the task belongs to.
    """

    name: str
    description: str
    workload: str
    time_model: str
    eval_seeds: tuple[int, ...]
    valid_seeds: tuple[int, ...]
    train_seed_start: int
    prediction: str = "exact"
    memory: int | None = None
    eviction: str | None = None
    suite: str = ""
    datasets: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        owner = f"task {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(
                f"task name must look like 'lower-case-words-vN' (e.g. 'lmsys-rate10-v1'), got "
                f"{self.name!r}"
            )
        if self.time_model not in TIME_MODELS:
            raise ValueError(
                f"{owner}: time_model must be one of {', '.join(TIME_MODELS)}, got "
                f"{self.time_model!r}"
            )
        if not isinstance(self.workload, str) or not self.workload:
            raise ValueError(f"{owner}: workload must be a non-empty spec, got {self.workload!r}")
        if self.memory is not None and (
            isinstance(self.memory, bool) or not isinstance(self.memory, int) or self.memory < 2
        ):
            raise ValueError(
                f"{owner}: memory must be an integer >= 2 or absent, got {self.memory!r}"
            )
        evaluation = _seed_tuple(owner, "eval_seeds", self.eval_seeds)
        validation = _seed_tuple(owner, "valid_seeds", self.valid_seeds)
        overlap = sorted(set(evaluation) & set(validation))
        if overlap:
            raise ValueError(f"{owner}: eval_seeds and valid_seeds share seeds {overlap[:5]}")
        start = self.train_seed_start
        if (
            isinstance(start, bool)
            or not isinstance(start, int)
            or start <= max(*evaluation, *validation)
        ):
            raise ValueError(
                f"{owner}: train_seed_start must be an integer above every evaluation and "
                f"validation seed (> {max(*evaluation, *validation)}), got {start!r}"
            )
        object.__setattr__(self, "eval_seeds", evaluation)
        object.__setattr__(self, "valid_seeds", validation)
        names = placeholder_names(self.workload)
        object.__setattr__(self, "datasets", names)

    @property
    def version(self) -> int:
        """The ``N`` of ``name-vN``."""
        return int(self.name.rsplit("-v", 1)[1])

    def train_seed(self, k: int) -> int:
        """The ``k``-th seed of the training stream (disjoint from every evaluation seed)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"task {self.name!r}: training seed index must be >= 0, got {k!r}")
        return self.train_seed_start + int(k)

    def workload_spec(self, data_dir: str | None = None) -> str:
        """The workload spec with every ``{data:NAME}`` replaced by the dataset's local path.

        Raises:
            FileNotFoundError: for a dataset that is missing and cannot be downloaded.
        """
        return resolve_placeholders(self.workload, data_dir)

    def make_workload(self, data_dir: str | None = None) -> Workload:
        """The task's workload (built once per process and spec; traces are read then)."""
        return _workload(self.workload_spec(data_dir), self.prediction)

    def scenario(self, seed: int, data_dir: str | None = None) -> Scenario:
        """The scenario of ``seed``, checked against the task's time model and memory.

        Raises:
            ValueError: if the workload's scenario disagrees with the task (a broken task).
        """
        scenario = self.make_workload(data_dir).sample(np.random.default_rng(seed))
        if scenario.time_model != self.time_model:
            raise ValueError(
                f"task {self.name!r}: workload gives time model {scenario.time_model!r}, the "
                f"task says {self.time_model!r}"
            )
        if self.memory is not None and scenario.memory != self.memory:
            raise ValueError(
                f"task {self.name!r}: workload gives memory {scenario.memory}, the task says "
                f"{self.memory}"
            )
        return scenario

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (the task's full definition)."""
        return {
            "name": self.name,
            "suite": self.suite,
            "description": self.description,
            "workload": self.workload,
            "time_model": self.time_model,
            "prediction": self.prediction,
            "memory": self.memory,
            "eviction": self.eviction,
            "eval_seeds": list(self.eval_seeds),
            "valid_seeds": list(self.valid_seeds),
            "train_seed_start": self.train_seed_start,
        }


@lru_cache(maxsize=32)
def _workload(spec: str, prediction: str) -> Workload:
    return make_workload(spec, prediction=prediction)
