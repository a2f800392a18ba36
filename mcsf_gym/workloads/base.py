"""The workload interface: a seeded generator of scenarios (an instance plus its worker)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from mcsf_gym.core.instance import Instance
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
