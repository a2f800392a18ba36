"""Run (workload, seed, agents) jobs in parallel: a local process pool or a Ray cluster.

A :class:`Job` draws one scenario from a workload with its own seed and runs every listed
agent on that same instance, so agents are compared on identical requests. Jobs are plain
frozen dataclasses of strings and numbers, so they travel to worker processes and Ray tasks.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from mcsf_gym.core.config import resolve_memory
from mcsf_gym.core.result import SimulationResult
from mcsf_gym.workloads.base import Scenario

BACKENDS = ("local", "ray")
#: Key of the per-request latency array in a row of :func:`run_job` (not a CSV column).
LATENCIES = "_latencies"


class RunError(RuntimeError):
    """An agent failed while running one scenario (e.g. a policy that never admits).

    The message names the agent, the workload, the seed and any overrides, so the run can
    be repeated on its own.
    """


def run_context(spec: str, workload: str, seed: int, overrides: Sequence[tuple[str, Any]]) -> str:
    """``"agent 'x' on workload 'w' (seed 3, rate=10)"``: where a run failed."""
    extra = "".join(f", {key}={value}" for key, value in overrides)
    return f"agent {spec!r} on workload {workload!r} (seed {seed}{extra})"


@dataclass(frozen=True)
class Job:
    """One scenario and the agents to run on it.

    Args:
        workload: a workload spec (``"lmsys:rate=10,n=1000"``).
        seed: seed of the scenario draw and of the agents' and engine's randomness.
        agents: agent specs to run on the scenario.
        overrides: extra workload parameters (e.g. ``(("rate", 10.0),)``), applied to the spec.
        memory: overrides the scenario's ``M`` (int or preset name).
        time_model: overrides the scenario's time model.
        eviction: overrides each agent's default eviction policy.
        optimum_time_limit: if set, also solve the hindsight optimum of the scenario with this
            time limit in seconds (unit time only) and add ratios to it.
        threads: solver threads for the optimum.
    """

    workload: str
    seed: int
    agents: tuple[str, ...]
    overrides: tuple[tuple[str, Any], ...] = ()
    memory: int | str | None = None
    time_model: str | None = None
    eviction: str | None = None
    optimum_time_limit: float | None = None
    threads: int = 1


def draw_scenario(job: Job) -> Scenario:
    """The job's scenario, with the job's ``memory`` and ``time_model`` overrides applied."""
    from mcsf_gym.workloads import make_workload

    workload = make_workload(job.workload, **dict(job.overrides))
    scenario = workload.sample(np.random.default_rng(job.seed))
    return dataclasses.replace(
        scenario,
        memory=scenario.memory if job.memory is None else resolve_memory(job.memory),
        time_model=scenario.time_model if job.time_model is None else job.time_model,
    )


def run_spec(job: Job, scenario: Scenario, spec: str, *, record: bool = False) -> SimulationResult:
    """Run agent ``spec`` on the job's scenario, as every row of :func:`run_job` is made.

    The agent and the engine are seeded with ``job.seed``; ``record=True`` keeps the per-round
    trace (for timeline plots), which does not change the run.

    Raises:
        RunError: if the simulation fails at run time (the agent's own error, with where).
    """
    from agents import make_agent, run_agent

    try:
        return run_agent(
            scenario.instance,
            make_agent(spec),
            memory=scenario.memory,
            time_model=scenario.time_model,
            eviction=job.eviction,
            seed=job.seed,
            record=record,
        )
    except RuntimeError as error:
        where = run_context(spec, job.workload, job.seed, job.overrides)
        raise RunError(f"{where}: {error}") from error


def run_job(job: Job) -> list[dict[str, Any]]:
    """Draw the job's scenario and run each agent on it; one row of metrics per agent.

    With ``job.optimum_time_limit`` set, each row also holds the hindsight optimum of the
    scenario (see :func:`evaluation.ratio.solve_optimum`) and the agent's ``ratio_to_optimum``
    and ``ratio_to_bound`` (total latency over the best schedule found, and over the proven
    lower bound).
    """
    scenario = draw_scenario(job)
    optimum: dict[str, Any] = {}
    if job.optimum_time_limit is not None:
        from evaluation.ratio import optimum_ratios, solve_optimum

        optimum = solve_optimum(
            scenario.instance,
            scenario.memory,
            scenario.time_model,
            job.optimum_time_limit,
            job.threads,
        )
    rows = []
    for spec in job.agents:
        began = time.perf_counter()
        result = run_spec(job, scenario, spec)
        row = {
            "workload": job.workload,
            **dict(job.overrides),
            "seed": job.seed,
            "agent": spec,
            "n": scenario.instance.n,
            "memory": result.memory,
            "time_model": result.time_model,
            **result.metrics,
            "wall_time_s": time.perf_counter() - began,
        }
        if optimum:
            row.update(optimum)
            row.update(optimum_ratios(result.total_latency, optimum))
        row[LATENCIES] = result.latency
        rows.append(row)
    return rows


def _progress(total: int, enabled: bool, description: str) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError as error:
        raise ImportError(
            "the progress bar needs tqdm: pip install 'mcsf-gym[eval]', or pass --no-progress"
        ) from error

    return tqdm(total=total, desc=description, unit="job")


def _local(jobs: Sequence[Job], fn: Callable[[Job], Any], workers: int) -> Iterator[Any]:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield fn(job)
        return
    # forkserver: workers start from a clean process, not a fork of one that may hold torch
    # or Ray threads (fork is not safe then); plain default where it does not exist.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context)
    try:
        pending = {pool.submit(fn, job) for job in jobs}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        # On an error (or an interrupted consumer) drop queued jobs instead of finishing them.
        pool.shutdown(wait=True, cancel_futures=True)


def unwrap_ray_error(error: Exception) -> Exception:
    """The user's exception inside a Ray task error (so it prints as one line)."""
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, Exception) else error


def _ray(
    jobs: Sequence[Job], fn: Callable[[Job], Any], address: str | None, workers: int | None
) -> Iterator[Any]:
    try:
        import ray
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("the ray backend needs Ray: pip install 'mcsf-gym[ray]'") from error
    started = not ray.is_initialized()
    if started:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None and workers is not None:
            options["num_cpus"] = workers
        ray.init(address=address, **options)
    try:
        task = ray.remote(fn)
        pending = [task.remote(job) for job in jobs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                result = ray.get(done[0])
            except ray.exceptions.RayTaskError as error:
                for reference in pending:
                    ray.cancel(reference)
                raise unwrap_ray_error(error) from None
            yield result
    finally:
        if started:
            ray.shutdown()


def run_jobs(
    jobs: Iterable[Job],
    fn: Callable[[Job], Any] = run_job,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    description: str = "jobs",
) -> list[Any]:
    """Run ``fn`` on every job and return the results (in completion order).

    Args:
        jobs: the jobs.
        fn: a picklable function of one job (default :func:`run_job`).
        backend: ``"local"`` (a process pool on this machine) or ``"ray"``.
        workers: local worker processes (default: the number of CPUs; 1 runs in-process);
            with the Ray backend and no ``address``, the CPUs of the local Ray instance
            started here (default: all).
        address: Ray cluster address (``None`` starts a local Ray instance, shut down again
            afterwards; ``"auto"`` joins a running one). A Ray session already initialised in
            this process is used as it is.
        progress: show a progress bar (on standard error).
        description: label of the progress bar.

    Raises:
        ValueError: for an unknown backend or a worker count below 1; errors raised by ``fn``
            are re-raised as they are (the first one stops the run).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known backends: {', '.join(BACKENDS)}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    job_list = list(jobs)
    if backend == "ray":
        stream = _ray(job_list, fn, address, workers)
    else:
        stream = _local(job_list, fn, workers or os.cpu_count() or 1)
    bar = _progress(len(job_list), progress, description)
    results = []
    try:
        for result in stream:
            results.append(result)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return results
