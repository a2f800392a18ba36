"""The workload interface: a seeded generator of scenarios (an instance plus its worker)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from mcsf_gym.core.instance import Instance
from mcsf_gym.core.predictions import Predictor, apply_predictions
from mcsf_gym.registry import Registry


@dataclass(frozen=True)
class Scenario:
    """One drawn problem: the requests and the worker they are meant for.

    Attributes:
        instance: the requests (with predictions).
        memory: KV-cache capacity ``M`` in tokens (e.g. drawn per instance for the paper's
            synthetic models, 16492 for the real-trace setting).
        time_model: the time model spec the workload is meant for (``"unit"`` or ``"linear"``).
    """

    instance: Instance
    memory: int
    time_model: str


@runtime_checkable
class Workload(Protocol):
    """Draws scenarios; all randomness comes from the generator passed in."""

    def sample(self, rng: np.random.Generator) -> Scenario:
        """Draw one scenario."""
        ...


WORKLOADS: Registry[Workload] = Registry("workload")


def build_scenario(
    arrival: ArrayLike,
    prompt: ArrayLike,
    output: ArrayLike,
    *,
    memory: int,
    time_model: str,
    prediction: str | Predictor,
    rng: np.random.Generator,
) -> Scenario:
    """Validate the drawn requests, give them predictions from ``rng`` and wrap them.

    Args:
        arrival: sorted arrival times.
        prompt: prompt sizes.
        output: true output lengths.
        memory: ``M``; every request must satisfy ``prompt + output <= M``.
        time_model: the time model spec the scenario is meant for.
        prediction: prediction-model spec applied with ``rng`` (``"exact"``: ``õ = o``).
        rng: the generator that drew the requests; it also draws the predictions.

    Raises:
        ValueError: if a request can never be served in ``memory`` (a generator bug).
    """
    instance = Instance(arrival, prompt, output)
    instance.check_memory(memory)
    return Scenario(apply_predictions(instance, prediction, rng), memory, time_model)
