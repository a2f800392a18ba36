"""Run (workload, seed, agents) jobs in parallel: a local process pool or a Ray cluster.

A :class:`Job` draws one scenario from a workload with its own seed and runs every listed
agent on that same instance, so agents are compared on identical requests. Jobs are plain
frozen dataclasses of strings and numbers, so they travel to worker processes and Ray tasks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np

BACKENDS = ("local", "ray")
#: Key of the per-request latency array in a row of :func:`run_job` (not a CSV column).
LATENCIES = "_latencies"


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
    """

    workload: str
    seed: int
    agents: tuple[str, ...]
    overrides: tuple[tuple[str, Any], ...] = ()
    memory: int | str | None = None
    time_model: str | None = None
    eviction: str | None = None


def run_job(job: Job) -> list[dict[str, Any]]:
    """Draw the job's scenario and run each agent on it; one row of metrics per agent."""
    from agents import make_agent, run_agent
    from mcsf_gym.workloads import make_workload

    workload = make_workload(job.workload, **dict(job.overrides))
    scenario = workload.sample(np.random.default_rng(job.seed))
    memory = scenario.memory if job.memory is None else job.memory
    time_model = scenario.time_model if job.time_model is None else job.time_model
    rows = []
    for spec in job.agents:
        began = time.perf_counter()
        result = run_agent(
            scenario.instance,
            make_agent(spec),
            memory=memory,
            time_model=time_model,
            eviction=job.eviction,
            seed=job.seed,
        )
        rows.append(
            {
                "workload": job.workload,
                **dict(job.overrides),
                "seed": job.seed,
                "agent": spec,
                "n": scenario.instance.n,
                "memory": result.memory,
                "time_model": result.time_model,
                **result.metrics,
                "wall_time_s": time.perf_counter() - began,
                LATENCIES: result.latency,
            }
        )
    return rows


def _progress(total: int, enabled: bool, description: str) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="job")


def _local(jobs: Sequence[Job], fn: Callable[[Job], Any], workers: int) -> Iterator[Any]:
    if workers <= 1:
        for job in jobs:
            yield fn(job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(fn, job) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


def _ray(jobs: Sequence[Job], fn: Callable[[Job], Any], address: str | None) -> Iterator[Any]:
    try:
        import ray
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("the ray backend needs Ray: pip install 'mcsf-gym[ray]'") from error
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    task = ray.remote(fn)
    pending = [task.remote(job) for job in jobs]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield ray.get(done[0])


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
        workers: local worker processes (default: the number of CPUs; 1 runs in-process).
        address: Ray cluster address (``None`` starts a local Ray instance; ``"auto"`` joins one).
        progress: show a progress bar.
        description: label of the progress bar.

    Raises:
        ValueError: for an unknown backend or a worker count below 1.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known backends: {', '.join(BACKENDS)}")
    job_list = list(jobs)
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    stream = _ray(job_list, fn, address) if backend == "ray" else _local(job_list, fn, workers)
    bar = _progress(len(job_list), progress, description)
    results = []
    for result in stream:
        results.append(result)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return results
