"""Benchmark suites: named, versioned sets of tasks read from TOML files shipped with the package.

A suite file ``mcsf_gym/suites/NAME.toml`` holds::

    name = "core-v1"
    description = "..."
    [defaults]                        # any task field, applied unless a task sets it
    eval_seeds = {start = 0, count = 50}
    [env]                             # gym.make settings of learned policies for this suite
    window = 8
    [[tasks]]
    name = "paper-model1-v1"
    workload = "paper-model1"
    ...

Seeds are a list or ``{start = S, count = N}`` (``S .. S + N - 1``). Reference data (proven
bounds and best-known schedules per scenario) lives in ``reference/NAME/TASK.json`` beside it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mcsf_gym.registry import suggest
from mcsf_gym.suites.task import Task

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: The folder of the shipped suite files.
SUITE_DIR = Path(__file__).resolve().parent
_SEED_FIELDS = ("eval_seeds", "valid_seeds")
_TASK_FIELDS = (
    "name",
    "description",
    "workload",
    "time_model",
    "prediction",
    "memory",
    "eviction",
    "eval_seeds",
    "valid_seeds",
    "train_seed_start",
)


def suite_names() -> list[str]:
    """The names of the shipped suites, sorted."""
    return sorted(path.stem for path in SUITE_DIR.glob("*.toml"))


def _seeds(owner: str, key: str, value: Any) -> list[int]:
    """A seed list from a list or a ``{start, count}`` table."""
    if isinstance(value, dict):
        if set(value) != {"start", "count"}:
            raise ValueError(f"{owner}: {key} table must have keys start and count, got {value}")
        start, count = value["start"], value["count"]
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, count)):
            raise ValueError(f"{owner}: {key} start and count must be integers, got {value}")
        if count < 1:
            raise ValueError(f"{owner}: {key} count must be >= 1, got {count}")
        return list(range(start, start + count))
    if isinstance(value, list):
        return value
    raise ValueError(f"{owner}: {key} must be a list of seeds or {{start, count}}, got {value!r}")


@dataclass(frozen=True)
class Suite:
    """A named set of tasks and the environment settings its learned policies use.

    Attributes:
        name: the suite's name (``"core-v1"``).
        description: what it covers.
        tasks: the tasks, in file order.
        env: ``gym.make`` keyword arguments that fix the observation and action spaces of a
            policy evaluated on this suite (a callable or an SB3 model without its own config).
        path: the TOML file.
    """

    name: str
    description: str
    tasks: tuple[Task, ...]
    env: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __post_init__(self) -> None:
        names = [task.name for task in self.tasks]
        if not names:
            raise ValueError(f"suite {self.name!r} has no tasks")
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"suite {self.name!r}: task names {duplicated} appear twice")

    def names(self) -> list[str]:
        """The task names, in file order."""
        return [task.name for task in self.tasks]

    def task(self, name: str) -> Task:
        """The task called ``name``.

        Raises:
            ValueError: for an unknown task, listing the suite's tasks.
        """
        for task in self.tasks:
            if task.name == name:
                return task
        raise ValueError(
            f"unknown task {name!r} in suite {self.name!r}{suggest(name, self.names())} "
            f"known tasks: {', '.join(self.names())}"
        )

    def select(self, names: list[str] | tuple[str, ...] | None) -> tuple[Task, ...]:
        """The named tasks (all when ``names`` is ``None``), in the order given."""
        return self.tasks if names is None else tuple(self.task(name) for name in names)

    @property
    def reference_dir(self) -> Path:
        """Where the suite's reference data lives (``reference/NAME/`` beside the file)."""
        folder = self.path.parent if self.path is not None else SUITE_DIR
        return folder / "reference" / self.name


def read_suite(path: str | Path) -> Suite:
    """Read a suite from a TOML file (see the module docstring).

    Raises:
        ValueError: for a missing or malformed file, an unknown key, or a bad task.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no suite file {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}") from error
    unknown = sorted(set(data) - {"name", "description", "defaults", "env", "tasks"})
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}")
    name = data.get("name", path.stem)
    defaults = data.get("defaults", {})
    tasks = []
    for entry in data.get("tasks", []):
        values = {**defaults, **entry}
        owner = f"{path.name}: task {values.get('name', '?')!r}"
        bad = sorted(set(values) - set(_TASK_FIELDS))
        if bad:
            raise ValueError(f"{owner}: unknown key(s) {bad}; known keys: {list(_TASK_FIELDS)}")
        for key in _SEED_FIELDS:
            if key in values:
                values[key] = _seeds(owner, key, values[key])
        try:
            tasks.append(Task(**values, suite=name))
        except TypeError as error:
            raise ValueError(f"{owner}: {error}") from error
    return Suite(
        name=name,
        description=data.get("description", ""),
        tasks=tuple(tasks),
        env=dict(data.get("env", {})),
        path=path,
    )


@lru_cache(maxsize=8)
def load_suite(name: str) -> Suite:
    """A shipped suite by name (``"core-v1"``), or a suite file by path (``"my.toml"``).

    Raises:
        ValueError: for an unknown suite, listing the shipped ones.
    """
    if name.endswith(".toml"):
        return read_suite(name)
    if name not in suite_names():
        raise ValueError(
            f"unknown suite {name!r}{suggest(name, suite_names())} known suites: "
            f"{', '.join(suite_names())}"
        )
    return read_suite(SUITE_DIR / f"{name}.toml")


def get_task(name: str, suite: str = "core-v1") -> Task:
    """The task ``name`` of ``suite``.

    Raises:
        ValueError: for an unknown suite or task, listing the known ones.
    """
    return load_suite(suite).task(name)
