"""Compute a suite's reference data: a proven bound and a best-known schedule per scenario.

For every evaluation scenario of a task (see :mod:`mcsf_gym.suites.reference` for the file):

- the bound: for ``unit`` time the combinatorial volume and head bounds of
  :mod:`evaluation.hindsight` and, when ``time_limit > 0``, the hindsight solver's proven bound
  (the strengthened relaxation and the integer program), whichever is larger;
  for ``linear`` time :func:`evaluation.bounds_linear.linear_lower_bound`;
- the candidates: every agent run under the task's predictions and eviction policy, the same
  agents run on the instance with exact predictions (schedules that know every output, as the
  hindsight does), and for ``unit`` time with ``time_limit > 0`` the hindsight solver's
  schedule;
- the best known: candidates in increasing total latency are replayed with
  :class:`agents.Replay` on the instance with exact predictions; the replay is itself a
  schedule, kept only if replaying its own start times reproduces it exactly (same starts, no
  eviction). The smallest verified value and its start times are stored.

A bound above any schedule's value is a bug and stops the computation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import mcsf_gym
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.result import SimulationResult
from mcsf_gym.suites import Task, load_suite, reference_path

#: Slack for comparing latencies (float sums of round durations).
TOLERANCE = 1e-9
COMMAND = "python scripts/make_reference.py --suite {suite}"


def default_agents() -> list[str]:
    """Every registered agent that builds without parameters (learned ones need a path)."""
    from agents import AGENTS, make_agent

    names = []
    for name in AGENTS.names():
        try:
            make_agent(name)
        except (ValueError, ImportError):
            continue
        names.append(name)
    return names


@dataclass(frozen=True)
class ReferenceJob:
    """One scenario of one task: run the candidates, bound and verify.

    Args:
        suite: the suite name.
        task: the task name.
        seed: the evaluation seed.
        agents: agent specs.
        time_limit: hindsight solver seconds per scenario (``unit`` tasks; 0: no solver).
        search_seconds: seconds of the hindsight schedule search
            (:func:`evaluation.hindsight.best_schedule`) per scenario (``unit`` tasks; 0: none).
    """

    suite: str
    task: str
    seed: int
    agents: tuple[str, ...]
    time_limit: float = 0.0
    search_seconds: float = 0.0


def exact_instance(instance: Instance) -> Instance:
    """The same requests with exact predictions (what the hindsight knows)."""
    return Instance(instance.arrival, instance.prompt, instance.output)


def replay(
    instance: Instance, start: Sequence[float], memory: int, time_model: str
) -> SimulationResult:
    """Replay start times on ``instance`` with :class:`agents.Replay` (clear-all eviction)."""
    from agents import Replay, run_agent

    return run_agent(
        instance,
        Replay(np.asarray(start)),
        memory=memory,
        time_model=time_model,
        eviction="clear-all",
    )


def replays_exactly(
    instance: Instance, start: Sequence[float], memory: int, time_model: str
) -> SimulationResult | None:
    """The replay of ``start`` if it keeps every start time and evicts nothing, else ``None``."""
    result = replay(instance, start, memory, time_model)
    same = np.allclose(result.start, np.asarray(start, dtype=np.float64), rtol=0, atol=1e-9)
    return result if same and result.metrics["evictions"] == 0 else None


def _bound(task: Task, instance: Instance, memory: int, time_limit: float) -> tuple[Any, Any]:
    """``(bound record, hindsight result or None)`` for one scenario."""
    if task.time_model == "linear":
        from evaluation.bounds_linear import linear_lower_bound

        bound = linear_lower_bound(instance, memory, task.time_model)
        return {"bound": bound.bound, "method": bound.method, "parts": bound.parts}, None
    from evaluation.hindsight import hindsight_lower_bound, hindsight_optimum

    combinatorial = hindsight_lower_bound(instance, memory, method="combinatorial")
    parts = dict(combinatorial.parts)
    solution = None
    if time_limit > 0:
        solution = hindsight_optimum(instance, memory=memory, time_limit=time_limit, seed=0)
        parts["hindsight"] = solution.bound
    bound = max(parts.values())
    method = max(parts, key=parts.__getitem__)
    return {"bound": bound, "method": method, "parts": parts}, solution


def run_reference_job(job: ReferenceJob) -> dict[str, Any]:
    """The reference record of one scenario, with its ``task`` name (see the module docstring).

    Raises:
        RuntimeError: if the bound exceeds a schedule's value, or no candidate replays.
    """
    from agents import run_agent

    task = load_suite(job.suite).task(job.task)
    scenario = task.scenario(job.seed)
    exact = exact_instance(scenario.instance)
    memory, time_model = scenario.memory, task.time_model
    values: dict[str, float] = {}
    candidates: list[tuple[float, str, np.ndarray]] = []
    for spec in job.agents:
        for label, instance in ((spec, scenario.instance), (f"{spec}@exact", exact)):
            if label != spec and task.prediction == "exact":
                continue
            try:
                result = run_agent(
                    instance,
                    spec,
                    memory=memory,
                    time_model=time_model,
                    eviction=task.eviction,
                    seed=job.seed,
                )
            except ValueError:  # the agent does not apply (e.g. needs interval predictions)
                break
            if label == spec:
                values[spec] = result.total_latency
            candidates.append((result.total_latency, label, np.asarray(result.start)))
    bound, solution = _bound(task, exact, memory, job.time_limit)
    if solution is not None:
        candidates.append((solution.value, "hindsight", np.asarray(solution.start)))
    if job.search_seconds > 0 and time_model == "unit":
        from evaluation.hindsight import best_schedule

        value, start = best_schedule(exact, memory, time_limit=job.search_seconds, seed=0)
        candidates.append((float(value), "hindsight-search", np.asarray(start)))
    candidates.sort(key=lambda item: (item[0], item[1]))
    best: tuple[float, str, np.ndarray] | None = None
    for value, label, start in candidates:
        if best is not None and best[0] <= value + TOLERANCE:
            break
        schedule = replay(exact, start, memory, time_model)
        verified = replays_exactly(exact, schedule.start, memory, time_model)
        if verified is not None and (best is None or verified.total_latency < best[0]):
            best = (verified.total_latency, label, np.asarray(verified.start))
    if best is None:
        raise RuntimeError(f"task {task.name!r} seed {job.seed}: no candidate schedule replays")
    lowest = min([best[0], *values.values()])
    if bound["bound"] > lowest * (1 + 1e-9) + TOLERANCE:
        raise RuntimeError(
            f"task {task.name!r} seed {job.seed}: bound {bound['bound']} exceeds a schedule's "
            f"total latency {lowest}; this is a bug"
        )
    start = best[2]
    return {
        "task": task.name,
        "seed": job.seed,
        "n": scenario.instance.n,
        "memory": memory,
        "bound": bound["bound"],
        "bound_method": bound["method"],
        "bound_parts": bound["parts"],
        "best_known": best[0],
        "best_source": best[1],
        "best_start": [int(x) for x in start] if time_model == "unit" else start.tolist(),
        "values": values,
    }


def write_reference(task: Task, records: list[dict[str, Any]], meta: dict[str, Any]) -> Path:
    """Write a task's reference file: one scenario record per line, sorted by seed."""
    path = reference_path(task)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = sorted(records, key=lambda record: record["seed"])
    head = json.dumps({"task": task.to_dict(), "meta": meta}, indent=1)[:-2]
    lines = ",\n".join("  " + json.dumps(record, allow_nan=False) for record in records)
    path.write_text(f'{head},\n "scenarios": [\n{lines}\n ]\n}}\n')
    return path


def make_reference(
    suite: str = "core-v1",
    tasks: Sequence[str] | None = None,
    agents: Sequence[str] | None = None,
    *,
    time_limit: float = 0.0,
    search_seconds: float = 0.0,
    workers: int | None = None,
    backend: str = "local",
    progress: bool = True,
) -> list[Path]:
    """Recompute and write the reference data of ``suite`` (all tasks unless ``tasks``).

    Args:
        suite: suite name.
        tasks: task names (default: all).
        agents: agent specs run as candidates (default: :func:`default_agents`).
        time_limit: hindsight solver seconds per unit-time scenario (0: the solver is not run).
        search_seconds: seconds of the hindsight schedule search per unit-time scenario
            (0: not run); its schedules compete for best known like the agents'.
        workers: local worker processes (see :func:`evaluation.runner.run_jobs`).
        backend: ``"local"`` or ``"ray"``.
        progress: show a progress bar.

    Returns:
        The files written.
    """
    from evaluation.runner import run_jobs

    loaded = load_suite(suite)
    selected = loaded.select(list(tasks) if tasks else None)
    specs = tuple(agents) if agents else tuple(default_agents())
    jobs = [
        ReferenceJob(suite, task.name, seed, specs, time_limit, search_seconds)
        for task in selected
        for seed in task.eval_seeds
    ]
    results = run_jobs(
        jobs,
        run_reference_job,
        backend=backend,
        workers=workers,
        progress=progress,
        description="reference",
    )
    by_task: dict[str, list[dict[str, Any]]] = {task.name: [] for task in selected}
    for record in results:
        by_task[record.pop("task")].append(record)
    meta = {
        "agents": list(specs),
        "hindsight_time_limit": time_limit,
        "hindsight_search_seconds": search_seconds,
        "mcsf_gym_version": mcsf_gym.__version__,
        "command": COMMAND.format(suite=suite)
        + (f" --search-seconds {search_seconds:g}" if search_seconds else ""),
    }
    return [write_reference(task, by_task[task.name], meta) for task in selected]
