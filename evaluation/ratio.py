"""The competitive-ratio harness: agents against the hindsight optimum on seeded instances.

Each job draws one unit-time scenario, runs the agents on it and solves the hindsight integer
program (docs/model.md section 6) with a time limit. A row per (instance, agent) records the agent's
total latency, the optimum (or best schedule found) and the proven lower bound with its status,
and two ratios: ``ratio`` against the best known schedule (the true competitive ratio when the
optimum is proven; otherwise a lower estimate), and ``ratio_upper`` against the proven bound (an
upper bound on the true ratio, always valid). The solver's schedule is replayed in the
simulator, and ``replay_exact`` records whether it reproduced the solver's value.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import import_module
from typing import Any

import numpy as np

from evaluation.runner import RunError, run_context, run_jobs
from mcsf_gym.core.instance import Instance

#: The paper's synthetic table (docs/model.md section 7): MC-SF / OPT per arrival model.
PAPER_TABLE = {
    "paper-model1": {"average": 1.005, "best": 1.000, "worst": 1.074, "optimal": "114 of 200"},
    "paper-model2": {"average": 1.047, "best": 1.000, "worst": 1.227, "optimal": "not reported"},
}


def _finite(value: Any) -> float:
    """``value`` as a float, NaN when the solver gave none."""
    if value is None:
        return math.nan
    number = float(value)
    return number if math.isfinite(number) else math.nan


def solve_optimum(
    instance: Instance,
    memory: int | str,
    time_model: Any,
    time_limit: float,
    threads: int = 1,
    solver: str = "auto",
) -> dict[str, Any]:
    """Solve the hindsight optimum of one instance and replay its schedule in the simulator.

    Args:
        instance: the requests (integer arrivals).
        memory: ``M``.
        time_model: must be ``"unit"``: the integer program is defined in rounds.
        time_limit: solver time limit in seconds.
        threads: solver threads.
        solver: integer-program backend (``"auto"``, ``"highs"`` or ``"cpsat"``).

    Returns:
        Columns ``optimum`` (best schedule found, NaN if none), ``bound`` (proven lower bound),
        ``lp_bound`` (the relaxation's bound alone), ``mcsf_optimum_start`` (MC-SF's value, the
        solver's first schedule), ``optimum_solver``,
        ``optimum_status`` (solver status, lower case), ``proven_optimal``, ``gap``,
        ``solve_time_s``, ``optimum_replayed`` (total latency of the solver's schedule replayed
        by the engine) and ``replay_exact`` (the replay kept every start time, evicted nothing
        and reproduced ``optimum``).

    Raises:
        ValueError: for a time model other than ``unit``.
    """
    if time_model != "unit":
        raise ValueError(
            f"the hindsight optimum is defined for the unit time model, got time model "
            f"{time_model!r}: use a unit-time workload (paper-model1, paper-model2, "
            "adversarial-style) or --time-model unit"
        )
    from agents import Replay, run_agent
    from evaluation.hindsight import hindsight_optimum

    began = time.perf_counter()
    solution = hindsight_optimum(
        instance, memory=memory, time_limit=time_limit, threads=threads, solver=solver
    )
    solve_time = time.perf_counter() - began
    value = _finite(solution.value)
    replayed, exact = math.nan, False
    if solution.start is not None and not math.isnan(value):
        start = np.asarray(solution.start, dtype=np.float64)
        replay = run_agent(instance, Replay(start), memory=memory, time_model="unit")
        replayed = replay.total_latency
        exact = bool(
            np.allclose(replay.start, start)
            and replay.metrics["evictions"] == 0
            and math.isclose(replayed, value, rel_tol=1e-9, abs_tol=1e-6)
        )
    return {
        "optimum": value,
        "bound": _finite(solution.bound),
        "lp_bound": _finite(solution.lp_bound),
        "mcsf_optimum_start": _finite(solution.mcsf_value),
        "optimum_solver": solution.solver,
        "optimum_status": solution.status.name.lower(),
        "proven_optimal": bool(solution.proven_optimal),
        "gap": _finite(getattr(solution, "gap", None)),
        "solve_time_s": solve_time,
        "optimum_replayed": replayed,
        "replay_exact": exact,
    }


def optimum_ratios(total_latency: float, optimum: dict[str, Any]) -> dict[str, float]:
    """An agent's ``ratio_to_optimum`` and ``ratio_to_bound`` from :func:`solve_optimum` columns.

    ``ratio_to_optimum`` divides by the best schedule found (the true competitive ratio when it
    is proven optimal); ``ratio_to_bound`` divides by the proven lower bound, an upper bound on
    the true ratio. Either is NaN when its denominator is missing or not positive.
    """

    def divide(denominator: float) -> float:
        return total_latency / denominator if denominator > 0 else math.nan

    return {
        "ratio_to_optimum": divide(optimum["optimum"]),
        "ratio_to_bound": divide(optimum["bound"]),
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
        solver: integer-program backend (``"auto"``, ``"highs"`` or ``"cpsat"``).
    """

    workload: str
    seed: int
    agents: tuple[str, ...]
    time_limit: float = 60.0
    threads: int = 1
    solver: str = "auto"


def run_ratio_job(job: RatioJob) -> list[dict[str, Any]]:
    """Rows of agent value, optimum, bound, status and ratios for one instance."""
    from agents import make_agent, run_agent
    from mcsf_gym.workloads import make_workload

    scenario = make_workload(job.workload).sample(np.random.default_rng(job.seed))
    if scenario.time_model != "unit":
        raise ValueError(
            f"workload {job.workload!r} uses the {scenario.time_model!r} time model; the "
            "hindsight optimum is defined for the unit time model (use paper-model1, "
            "paper-model2 or adversarial-style)"
        )
    values = {}
    for spec in job.agents:
        try:
            result = run_agent(
                scenario.instance, make_agent(spec), memory=scenario.memory, time_model="unit"
            )
        except RuntimeError as error:
            where = run_context(spec, job.workload, job.seed, ())
            raise RunError(f"{where}: {error}") from error
        values[spec] = result.total_latency
    optimum = solve_optimum(
        scenario.instance, scenario.memory, "unit", job.time_limit, job.threads, job.solver
    )
    rows = []
    for spec, value in values.items():
        ratios = optimum_ratios(value, optimum)
        rows.append(
            {
                "workload": job.workload,
                "seed": job.seed,
                "n": scenario.instance.n,
                "memory": scenario.memory,
                "agent": spec,
                "value": value,
                **optimum,
                "ratio": ratios["ratio_to_optimum"],
                "ratio_upper": ratios["ratio_to_bound"],
                "equals_optimum": bool(
                    optimum["proven_optimal"] and value <= optimum["optimum"] + 1e-9
                ),
            }
        )
    return rows


def _stat(values: np.ndarray, how: Any) -> float:
    finite = values[np.isfinite(values)]
    return float(how(finite)) if finite.size else math.nan


def summarize_ratios(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (workload, agent): average, best and worst ratio, exact-optimum count, solve times.

    Instances where the solver found no schedule (ratio NaN) are left out of the ratio
    statistics and counted in ``unsolved``.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["workload"], row["agent"])].append(row)
    summary = []
    for (workload, agent), members in sorted(groups.items()):
        ratios = np.array([row["ratio"] for row in members], dtype=np.float64)
        uppers = np.array([row["ratio_upper"] for row in members], dtype=np.float64)
        times = np.array([row["solve_time_s"] for row in members], dtype=np.float64)
        summary.append(
            {
                "workload": workload,
                "agent": agent,
                "instances": len(members),
                "unsolved": int(np.isnan(ratios).sum()),
                "proven_optimal": int(sum(bool(row["proven_optimal"]) for row in members)),
                "replay_exact": int(sum(bool(row["replay_exact"]) for row in members)),
                "average": _stat(ratios, np.mean),
                "best": _stat(ratios, np.min),
                "worst": _stat(ratios, np.max),
                "average_upper": _stat(uppers, np.mean),
                "worst_upper": _stat(uppers, np.max),
                "equals_optimum": int(sum(bool(row["equals_optimum"]) for row in members)),
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
        solver: integer-program backend (``"auto"``, ``"highs"`` or ``"cpsat"``).
    """

    workloads: tuple[str, ...]
    seeds: tuple[int, ...]
    agents: tuple[str, ...] = ("mcsf",)
    time_limit: float = 60.0
    threads: int = 1
    solver: str = "auto"

    def __post_init__(self) -> None:
        for name in ("workloads", "seeds", "agents"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")
        if not self.time_limit > 0:
            raise ValueError(f"time_limit must be positive, got {self.time_limit}")
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if self.solver not in ("auto", "highs", "cpsat"):
            raise ValueError(f"solver must be auto, highs or cpsat, got {self.solver!r}")

    def jobs(self) -> list[RatioJob]:
        """One job per (workload, seed)."""
        return [
            RatioJob(workload, seed, self.agents, self.time_limit, self.threads, self.solver)
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
    """Run a sweep; return ``(rows, summary)`` (rows sorted by workload, seed and agent)."""
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


def check_ratio_config(config: RatioConfig) -> None:
    """Build every workload and agent and load the solver before any job starts.

    Raises:
        ValueError: for an unknown or malformed spec, or a workload not in unit time.
        ImportError: if the hindsight solver or its dependencies are missing.
    """
    from agents import make_agent
    from mcsf_gym.workloads import make_workload

    import_module("evaluation.hindsight")
    for spec in config.agents:
        make_agent(spec)
    for spec in config.workloads:
        scenario = make_workload(spec).sample(np.random.default_rng(config.seeds[0]))
        if scenario.time_model != "unit":
            raise ValueError(
                f"workload {spec!r} uses the {scenario.time_model!r} time model; the hindsight "
                "optimum is defined for the unit time model (use paper-model1, paper-model2 "
                "or adversarial-style)"
            )
