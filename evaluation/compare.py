"""Compare agents on a workload over seeds and arrival rates, with confidence intervals.

Every (rate, seed) pair draws one scenario and runs all agents on it, so the ratio of an
agent's mean latency to the baseline's (MC-SF by default) is a paired comparison; its
confidence interval is taken over seeds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from evaluation.runner import LATENCIES, Job, run_jobs
from evaluation.stats import mean_ci

#: Metrics summarised per agent (mean and 95% interval over seeds).
SUMMARY_METRICS = (
    "mean_latency",
    "p50_latency",
    "p99_latency",
    "ttft_mean",
    "throughput_tokens_per_s",
    "evictions",
    "peak_memory",
    "mean_memory",
)


@dataclass(frozen=True)
class CompareConfig:
    """Everything that defines a comparison run; saved as JSON so it can be repeated exactly.

    Args:
        agents: agent specs (the first is not special; ``baseline`` names the reference).
        workload: workload spec.
        seeds: scenario seeds.
        rates: arrival rates to sweep (each sets the workload's ``rate``); empty: as specified.
        baseline: agent spec that ratios are taken against.
        memory: overrides the scenario's ``M``.
        time_model: overrides the scenario's time model.
        eviction: overrides each agent's default eviction policy.
        confidence: level of the confidence intervals.
    """

    agents: tuple[str, ...]
    workload: str
    seeds: tuple[int, ...]
    rates: tuple[float, ...] = ()
    baseline: str = "mcsf"
    memory: int | str | None = None
    time_model: str | None = None
    eviction: str | None = None
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if not self.agents:
            raise ValueError("agents must name at least one agent")
        if not self.seeds:
            raise ValueError("seeds must hold at least one seed")
        if any(rate <= 0 for rate in self.rates):
            raise ValueError(f"rates must be positive, got {list(self.rates)}")

    def jobs(self) -> list[Job]:
        """One job per (rate, seed); all agents (and the baseline) run on each."""
        agents = tuple(dict.fromkeys((*self.agents, self.baseline)))
        sweeps: Sequence[tuple[tuple[str, Any], ...]] = (
            [(("rate", rate),) for rate in self.rates] if self.rates else [()]
        )
        return [
            Job(
                workload=self.workload,
                seed=seed,
                agents=agents,
                overrides=overrides,
                memory=self.memory,
                time_model=self.time_model,
                eviction=self.eviction,
            )
            for overrides in sweeps
            for seed in self.seeds
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return asdict(self)


@dataclass
class CompareResult:
    """Rows (one per scenario and agent), the per-agent summary, and per-request latencies.

    ``latencies`` maps ``"agent|rate=R|seed=S"`` to the latency of every request of that run.
    """

    config: CompareConfig
    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]] = field(default_factory=list)
    latencies: dict[str, np.ndarray] = field(default_factory=dict)


def latency_key(agent: str, rate: Any, seed: int) -> str:
    """The key of one run's latencies in :attr:`CompareResult.latencies`."""
    return f"{agent}|rate={rate}|seed={seed}"


def summarize(
    rows: Sequence[dict[str, Any]], baseline: str, confidence: float = 0.95
) -> list[dict[str, Any]]:
    """Per (rate, agent): mean and confidence interval of each metric, and the paired ratio.

    ``ratio_to_<baseline>`` is the mean over seeds of ``mean_latency(agent) /
    mean_latency(baseline)`` on the same scenario.
    """
    groups: dict[tuple[Any, str], list[dict[str, Any]]] = defaultdict(list)
    reference: dict[tuple[Any, int], float] = {}
    for row in rows:
        rate = row.get("rate")
        groups[(rate, row["agent"])].append(row)
        if row["agent"] == baseline:
            reference[(rate, row["seed"])] = row["mean_latency"]
    summary = []
    for (rate, agent), members in sorted(
        groups.items(), key=lambda item: (item[0][0] or 0, item[0][1])
    ):
        entry: dict[str, Any] = {
            "agent": agent,
            "rate": rate,
            "seeds": len(members),
            "time_model": members[0]["time_model"],
        }
        for metric in SUMMARY_METRICS:
            mean, low, high = mean_ci([row[metric] for row in members], confidence)
            entry[metric] = mean
            entry[f"{metric}_low"] = low
            entry[f"{metric}_high"] = high
        ratios = [
            row["mean_latency"] / reference[(rate, row["seed"])]
            for row in members
            if reference.get((rate, row["seed"]), 0) > 0
        ]
        key = f"ratio_to_{baseline}"
        if ratios:
            entry[key], entry[f"{key}_low"], entry[f"{key}_high"] = mean_ci(ratios, confidence)
        else:
            entry[key] = entry[f"{key}_low"] = entry[f"{key}_high"] = math.nan
        summary.append(entry)
    return summary


def compare(
    config: CompareConfig,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
) -> CompareResult:
    """Run a comparison: every agent on every (rate, seed) scenario, then summarise."""
    results = run_jobs(
        config.jobs(),
        backend=backend,
        workers=workers,
        address=address,
        progress=progress,
        description="compare",
    )
    rows = sorted(
        (row for batch in results for row in batch),
        key=lambda row: (row.get("rate") or 0, row["seed"], row["agent"]),
    )
    latencies = {
        latency_key(row["agent"], row.get("rate"), row["seed"]): row.pop(LATENCIES) for row in rows
    }
    summary = summarize(rows, config.baseline, config.confidence)
    return CompareResult(config, rows, summary, latencies)
