"""The outcome of a simulation: per-request times and the metrics users report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.instance import Instance

METRIC_NAMES = (
    "total_latency",
    "mean_latency",
    "p50_latency",
    "p90_latency",
    "p99_latency",
    "ttft_mean",
    "throughput_tokens_per_s",
    "peak_memory",
    "mean_memory",
    "evictions",
    "tokens_discarded",
    "rounds",
    "makespan",
)


@dataclass(frozen=True)
class RoundTrace:
    """Per-round records, kept when ``simulate(..., record=True)`` (for plots).

    Each array has one entry per round: its start time, its duration, the KV tokens held
    after it, and the numbers of waiting and running requests at its start.
    """

    start: NDArray[np.float64]
    duration: NDArray[np.float64]
    memory: NDArray[np.int64]
    waiting: NDArray[np.int64]
    running: NDArray[np.int64]


@dataclass(frozen=True)
class SimulationResult:
    """Per-request times and aggregate metrics of one simulated episode.

    Attributes:
        instance: the simulated instance.
        memory: the capacity ``M`` used.
        time_model: the name of the time model used.
        start: time each request's final (uninterrupted) run started, in instance order.
        finish: completion time ``c_i`` of each request.
        first_token: end of the first round the request ever took part in.
        evicted: number of times each request was evicted.
        metrics: the aggregate metrics (see :data:`METRIC_NAMES`); time-based ones are in
            rounds for ``unit`` and seconds for ``linear``.
        trace: per-round records, if requested.
    """

    instance: Instance
    memory: int
    time_model: str
    start: NDArray[np.float64]
    finish: NDArray[np.float64]
    first_token: NDArray[np.float64]
    evicted: NDArray[np.int64]
    metrics: dict[str, float]
    trace: RoundTrace | None = field(default=None, repr=False)

    @property
    def latency(self) -> NDArray[np.float64]:
        """End-to-end latency ``c_i - a_i`` of every request."""
        return self.finish - self.instance.arrival

    @property
    def total_latency(self) -> float:
        """Total end-to-end latency ``TEL = sum_i (c_i - a_i)``."""
        return self.metrics["total_latency"]

    @property
    def mean_latency(self) -> float:
        """Average end-to-end latency ``TEL / n``."""
        return self.metrics["mean_latency"]

    def to_dict(self) -> dict[str, Any]:
        """Metrics and per-request times as plain Python values (for JSON)."""
        return {
            "memory": self.memory,
            "time_model": self.time_model,
            "metrics": dict(self.metrics),
            "start": self.start.tolist(),
            "finish": self.finish.tolist(),
        }


def compute_metrics(
    instance: Instance,
    finish: NDArray[np.float64],
    first_token: NDArray[np.float64],
    *,
    peak_memory: int,
    memory_sum: float,
    rounds: int,
    evictions: int,
    tokens_discarded: int,
) -> dict[str, float]:
    """The aggregate metrics of a finished episode."""
    latency = finish - instance.arrival
    p50, p90, p99 = np.percentile(latency, [50, 90, 99])
    makespan = float(finish.max() - instance.arrival.min())
    return {
        "total_latency": float(latency.sum()),
        "mean_latency": float(latency.mean()),
        "p50_latency": float(p50),
        "p90_latency": float(p90),
        "p99_latency": float(p99),
        "ttft_mean": float((first_token - instance.arrival).mean()),
        "throughput_tokens_per_s": instance.total_tokens / makespan if makespan > 0 else 0.0,
        "peak_memory": float(peak_memory),
        "mean_memory": memory_sum / rounds if rounds else 0.0,
        "evictions": float(evictions),
        "tokens_discarded": float(tokens_discarded),
        "rounds": float(rounds),
        "makespan": makespan,
    }
