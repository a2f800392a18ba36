"""The job runner: local process pool and Ray give the same rows; errors come back as raised."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from evaluation.cli import main
from evaluation.compare import CompareConfig, compare
from evaluation.ratio import RatioConfig, ratio_sweep
from evaluation.runner import Job, run_job, run_jobs

CONFIG = CompareConfig(
    agents=("mcsf", "vllm-fcfs"), workload="paper-model2:n=25", seeds=(0, 1, 2), rates=(0.05,)
)


def comparable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "wall_time_s"} for row in rows]


def test_pool_and_in_process_runs_agree() -> None:
    serial = compare(CONFIG, workers=1, progress=False)
    pooled = compare(CONFIG, workers=2, progress=False)
    assert comparable(serial.rows) == comparable(pooled.rows)
    assert serial.summary == pooled.summary


def test_a_failing_job_raises_its_own_error_from_the_pool() -> None:
    jobs = [Job("paper-model1:n=8", 0, ("mcsf",)), Job("paper-model1:n=0", 1, ("mcsf",))]
    jobs += [Job("paper-model1:n=8", seed, ("mcsf",)) for seed in range(2, 6)]
    with pytest.raises(ValueError, match="n"):
        run_jobs(jobs, workers=2, progress=False)


def test_bad_runner_arguments() -> None:
    with pytest.raises(ValueError, match="unknown backend 'dask'"):
        run_jobs([], backend="dask")
    with pytest.raises(ValueError, match="workers must be >= 1"):
        run_jobs([], workers=0)


def test_rows_carry_the_job_overrides() -> None:
    rows = run_job(Job("paper-model2:n=10", 4, ("mcsf",), overrides=(("rate", 0.2),)))
    assert rows[0]["rate"] == 0.2 and rows[0]["seed"] == 4 and rows[0]["n"] == 10


@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install ray)"
)
def test_ray_backend_matches_the_local_pool(tmp_path: Path) -> None:
    import ray

    local = compare(CONFIG, workers=1, progress=False)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        remote = compare(CONFIG, backend="ray", progress=False)
        assert comparable(remote.rows) == comparable(local.rows)
        bad = [Job("paper-model1:n=0", 0, ("mcsf",))]
        with pytest.raises(ValueError, match="n") as error:
            run_jobs(bad, backend="ray", progress=False)
        assert type(error.value) is ValueError and "Traceback" not in str(error.value)
        # the competitive-ratio harness with the real solver, on Ray
        config = RatioConfig(("paper-model2:n=5",), (0, 1), ("mcsf",), time_limit=10)
        remote_rows, _ = ratio_sweep(config, backend="ray", progress=False)
        local_rows, _ = ratio_sweep(config, workers=1, progress=False)
        keys = ("seed", "value", "optimum", "proven_optimal", "replay_exact")
        assert [[r[k] for k in keys] for r in remote_rows] == [
            [r[k] for k in keys] for r in local_rows
        ]
    finally:
        ray.shutdown()
    # the command line starts a local Ray instance of --workers CPUs and stops it afterwards
    out = tmp_path / "ray"
    status = main(
        ["compare", "--agents", "mcsf", "--workload", "paper-model1:n=8", "--seeds", "2",
         "--backend", "ray", "--workers", "1", "--no-progress", "--out", str(out)]
    )  # fmt: skip
    assert status == 0 and (out / "rows.csv").is_file()
    assert not ray.is_initialized()
