"""Several training seeds at once (local processes or Ray), and each run's ``run.json``.

``python -m training --config X --seeds 0 1 2 --jobs 2`` trains seed ``S`` into ``OUT/seed-S``
(``--backend local``: a process pool of ``--jobs`` processes; ``--backend ray``: one Ray task
per seed, one CPU each, on the cluster ``RAY_ADDRESS`` names or on a local Ray instance of
``--jobs`` CPUs). Every run folder, single or
not, receives ``run.json`` (:func:`write_run_record`): the command line, the resolved
configuration, the seed, the package version, the git commit, and the wall time and steps per
second of the run.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from training.config import TrainConfig

RUN_FILE = "run.json"
BACKENDS = ("local", "ray")
_ROOT = Path(__file__).resolve().parents[1]


def package_version() -> str:
    """The installed mcsf-gym version (``importlib.metadata``), or the source's if not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mcsf-gym")
    except PackageNotFoundError:
        import mcsf_gym

        return str(mcsf_gym.__version__)


def git_commit() -> str | None:
    """The commit of the checkout the code runs from, or ``None`` outside a git checkout.

    ``"<sha>+dirty"`` when tracked files have local changes.
    """
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{sha}+dirty" if dirty else sha


def write_run_record(
    config: TrainConfig,
    out: Path,
    *,
    command: Sequence[str] | None,
    started: float,
    wall_s: float,
    timesteps: int,
) -> Path:
    """Write ``out/run.json`` (see the module docstring) and return its path."""
    import torch

    document = {
        "command": list(sys.argv if command is None else command),
        "seed": config.seed,
        "mcsf_gym_version": package_version(),
        "git_commit": git_commit(),
        "started_utc": datetime.fromtimestamp(started, timezone.utc).isoformat(),
        "wall_s": round(wall_s, 1),
        "timesteps": timesteps,
        "steps_per_s": round(timesteps / wall_s, 1) if wall_s > 0 else None,
        "host": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "config": config.to_dict(),
    }
    path = out / RUN_FILE
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def seed_config(config: TrainConfig, seed: int) -> TrainConfig:
    """The configuration of seed ``seed`` of a multi-seed run: ``out/seed-<seed>``."""
    return config.with_overrides(seed=seed, out=str(Path(config.out) / f"seed-{seed}"))


def _train_one(data: dict[str, Any], command: list[str]) -> str:
    """Train one seed (in a worker process); the path of its model."""
    from training.train import train

    config = TrainConfig.from_dict(data)
    label = f"[seed {config.seed}] "
    path = train(config, command=command, log=lambda line: print(label + line, flush=True))
    return str(path)


def train_seeds(
    config: TrainConfig,
    seeds: Sequence[int],
    *,
    backend: str = "local",
    jobs: int = 2,
    command: Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """Train ``config`` once per seed, ``jobs`` at a time; the model paths, in seed order.

    Raises:
        ValueError: for an unknown backend, no seeds, repeated seeds or ``jobs < 1``.
        ImportError: for ``backend="ray"`` without Ray installed (naming the install).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    seeds = [int(seed) for seed in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    command = list(sys.argv if command is None else command)
    payloads = [seed_config(config, seed).to_dict() for seed in seeds]
    started = time.time()
    if backend == "ray":
        paths = _run_ray(payloads, command, jobs)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")  # torch and forked state do not mix
        with ProcessPoolExecutor(max_workers=min(jobs, len(seeds)), mp_context=context) as pool:
            paths = list(pool.map(_train_one, payloads, [command] * len(payloads)))
    if log is not None:
        log(f"trained {len(seeds)} seeds in {time.time() - started:.0f} s: {', '.join(paths)}")
    return [Path(path) for path in paths]


def _run_ray(payloads: list[dict[str, Any]], command: list[str], jobs: int) -> list[str]:
    """One Ray task per seed (one CPU each); the model paths in seed order.

    Joins the cluster ``ray.init()`` finds (``RAY_ADDRESS``, or one already initialised in
    this process); otherwise it starts a local Ray instance of ``jobs`` CPUs and stops it at
    the end. A seed's error is raised as the error itself, after the other seeds are
    cancelled.
    """
    from evaluation.runner import unwrap_ray_error

    try:
        import ray
    except ImportError as error:
        raise ImportError(
            "--backend ray needs Ray: pip install 'mcsf-gym[ray]' (or pip install ray)"
        ) from error
    started = not ray.is_initialized()
    if started:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
        if not os.environ.get("RAY_ADDRESS"):
            options["num_cpus"] = jobs
        ray.init(**options)
    try:
        remote = ray.remote(num_cpus=1)(_train_one)
        references = [remote.remote(payload, command) for payload in payloads]
        try:
            return list(ray.get(references))
        except ray.exceptions.RayTaskError as error:
            for reference in references:
                ray.cancel(reference)
            raise unwrap_ray_error(error) from None
    finally:
        if started:
            ray.shutdown()
