"""Where an episode's problem comes from: a workload spec, a workload object or a fixed instance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mcsf_gym.core.config import SimConfig, resolve_memory
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.predictions import Predictor, apply_predictions
from mcsf_gym.core.time_models import TimeModel
from mcsf_gym.workloads.base import Scenario, Workload


@dataclass(frozen=True)
class FixedScenario:
    """A workload that always returns the same scenario (used for a fixed instance).

    Args:
        scenario: the scenario to return.
    """

    scenario: Scenario

    def sample(self, rng: np.random.Generator) -> Scenario:
        """Return the fixed scenario (``rng`` is not used)."""
        return self.scenario


def as_scenario(problem: Instance | Scenario) -> Scenario:
    """A scenario from an instance (default memory and the ``unit`` time model) or as given.

    Raises:
        ValueError: if ``problem`` is neither.
    """
    if isinstance(problem, Scenario):
        return problem
    if isinstance(problem, Instance):
        defaults = SimConfig()
        return Scenario(problem, defaults.capacity, "unit")
    raise ValueError(f"expected an Instance or a Scenario, got {type(problem).__name__}")


def resolve_workload(workload: Any) -> Workload:
    """A workload from a spec (``mcsf_gym.workloads.make_workload``), an object or an instance.

    Raises:
        ValueError: for an unknown spec or an object that is none of these.
    """
    if isinstance(workload, str):
        from mcsf_gym.workloads import make_workload

        return make_workload(workload)
    if isinstance(workload, (Instance, Scenario)):
        return FixedScenario(as_scenario(workload))
    if callable(getattr(workload, "sample", None)):
        return workload
    raise ValueError(
        "workload must be a spec string, an object with sample(rng), a Scenario or an "
        f"Instance, got {workload!r}"
    )


@dataclass(frozen=True)
class ScenarioSource:
    """Draws the scenario of each episode and applies the environment's overrides.

    Args:
        workload: where scenarios come from.
        memory: ``M`` overriding the scenario's, or ``None``.
        time_model: a time model overriding the scenario's, or ``None``.
        prediction: a prediction model whose predictions replace the workload's, or ``None``.
    """

    workload: Workload
    memory: int | None = None
    time_model: str | TimeModel | None = None
    prediction: str | Predictor | None = None

    def sample(
        self, rng: np.random.Generator, problem: Instance | Scenario | None = None
    ) -> tuple[Instance, int, str | TimeModel]:
        """Draw (or take ``problem``), then apply the overrides.

        Returns:
            The instance (with predictions), the memory ``M`` and the time model.
        """
        scenario = self.workload.sample(rng) if problem is None else as_scenario(problem)
        instance = scenario.instance
        if self.prediction is not None:
            instance = apply_predictions(instance, self.prediction, rng)
        memory = resolve_memory(scenario.memory) if self.memory is None else self.memory
        time_model = scenario.time_model if self.time_model is None else self.time_model
        return instance, memory, time_model
