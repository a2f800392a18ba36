"""The competitive-ratio harness: agents against the hindsight optimum on seeded instances.

Each job draws one unit-time scenario, runs the agents on it and solves the hindsight integer
program (MODEL.md section 6) with a time limit. A row per (instance, agent) records the agent's
total latency, the optimum (or best schedule found) and the proven lower bound with its status,
and two ratios: ``ratio`` against the best known schedule (the true competitive ratio when the
optimum is proven; otherwise a lower estimate), and ``ratio_upper`` against the proven bound (an
upper bound on the true ratio, always valid).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from evaluation.runner import run_jobs

#: The paper's synthetic table (MODEL.md section 7): MC-SF / OPT per arrival model.
PAPER_TABLE = {
    "paper-model1": {"average": 1.005, "best": 1.000, "worst": 1.074, "optimal": "114 of 200"},
    "paper-model2": {"average": 1.047, "best": 1.000, "worst": 1.227, "optimal": "not reported"},
}


@dataclass(frozen=True)
class RatioJob:
    """One instance: draw it, run the agents, solve the hindsight optimum.

    Args:
        workload: a unit-time workload spec (e.g. ``"paper-model1"``).
        seed: seed of the instance draw.
        agents: agent specs.
        time_limit: solver time limit in seconds.
        threads: solver threads.
    """

    workload: str
    seed: int
    agents: tuple[str, ...]
    time_limit: float = 60.0
    threads: int = 1


def run_ratio_job(job: RatioJob) -> list[dict[str, Any]]:
    """Rows of agent value, optimum, bound, status and ratios for one instance."""
    from agents import make_agent, run_agent
    from evaluation.hindsight import hindsight_optimum
    from mcsf_gym.workloads import make_workload

    scenario = make_workload(job.workload).sample(np.random.default_rng(job.seed))
    if scenario.time_model != "unit":
        raise ValueError(
            f"workload {job.workload!r} uses the {scenario.time_model!r} time model; the "
            "hindsight optimum is defined for the unit time model"
        )
    values = {}
    for spec in job.agents:
        result = run_agent(
            scenario.instance, make_agent(spec), memory=scenario.memory, time_model="unit"
        )
        values[spec] = result.total_latency
    began = time.perf_counter()
    optimum = hindsight_optimum(
        scenario.instance, memory=scenario.memory, time_limit=job.time_limit, threads=job.threads
    )
    solve_time = time.perf_counter() - began
    rows = []
    for spec, value in values.items():
        rows.append(
            {
                "workload": job.workload,
                "seed": job.seed,
                "n": scenario.instance.n,
                "memory": scenario.memory,
                "agent": spec,
                "value": value,
                "optimum": optimum.value,
                "bound": optimum.bound,
                "status": optimum.status.name.lower(),
                "proven_optimal": bool(optimum.proven_optimal),
                "ratio": value / optimum.value,
                "ratio_upper": value / optimum.bound if optimum.bound > 0 else math.inf,
                "equals_optimum": bool(optimum.proven_optimal and value <= optimum.value + 1e-9),
                "solve_time_s": solve_time,
            }
        )
    return rows


def summarize_ratios(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (workload, agent): average, best and worst ratio, exact-optimum count, solve times."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["workload"], row["agent"])].append(row)
    summary = []
    for (workload, agent), members in sorted(groups.items()):
        ratios = np.array([row["ratio"] for row in members])
        uppers = np.array([row["ratio_upper"] for row in members])
        times = np.array([row["solve_time_s"] for row in members])
        proven = int(sum(row["proven_optimal"] for row in members))
        summary.append(
            {
                "workload": workload,
                "agent": agent,
                "instances": len(members),
                "proven_optimal": proven,
                "average": float(ratios.mean()),
                "best": float(ratios.min()),
                "worst": float(ratios.max()),
                "average_upper": float(uppers.mean()),
                "worst_upper": float(uppers.max()),
                "equals_optimum": int(sum(row["equals_optimum"] for row in members)),
                "median_solve_time_s": float(np.median(times)),
                "max_solve_time_s": float(times.max()),
            }
        )
    return summary


@dataclass(frozen=True)
class RatioConfig:
    """A competitive-ratio sweep: workloads x seeds, agents against the hindsight optimum.

    Args:
        workloads: unit-time workload specs.
        seeds: instance seeds (the same seeds for every workload).
        agents: agent specs.
        time_limit: solver time limit per instance, seconds.
        threads: solver threads per instance.
    """

    workloads: tuple[str, ...]
    seeds: tuple[int, ...]
    agents: tuple[str, ...] = ("mcsf",)
    time_limit: float = 60.0
    threads: int = 1

    def __post_init__(self) -> None:
        if not self.workloads or not self.seeds or not self.agents:
            raise ValueError("workloads, seeds and agents must each be non-empty")
        if self.time_limit <= 0:
            raise ValueError(f"time_limit must be positive, got {self.time_limit}")
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")

    def jobs(self) -> list[RatioJob]:
        """One job per (workload, seed)."""
        return [
            RatioJob(workload, seed, self.agents, self.time_limit, self.threads)
            for workload in self.workloads
            for seed in self.seeds
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return asdict(self)


def ratio_sweep(
    config: RatioConfig,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run a sweep; return ``(rows, summary)``."""
    results = run_jobs(
        config.jobs(),
        run_ratio_job,
        backend=backend,
        workers=workers,
        address=address,
        progress=progress,
        description="ratio",
    )
    rows = sorted(
        (row for batch in results for row in batch),
        key=lambda row: (row["workload"], row["seed"], row["agent"]),
    )
    return rows, summarize_ratios(rows)
