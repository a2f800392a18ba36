"""Benchmark suites: frozen, versioned task definitions and their reference data.

Readable by every layer (the core, agents, training and evaluation)::

    from mcsf_gym.suites import load_suite
    suite = load_suite("core-v1")
    task = suite.task("lmsys-rate50-v1")
    scenario = task.scenario(task.eval_seeds[0])      # Scenario(instance, memory, time_model)
    train = [task.train_seed(k) for k in range(100)]  # never an evaluation seed

See ``docs/benchmark.md`` for the tasks of ``core-v1`` and the yardsticks.
"""

from mcsf_gym.suites.reference import (
    ScenarioReference,
    TaskReference,
    load_reference,
    reference_path,
)
from mcsf_gym.suites.suite import Suite, get_task, load_suite, read_suite, suite_names
from mcsf_gym.suites.task import Task

__all__ = [
    "ScenarioReference",
    "Suite",
    "Task",
    "TaskReference",
    "get_task",
    "load_reference",
    "load_suite",
    "read_suite",
    "reference_path",
    "suite_names",
]
