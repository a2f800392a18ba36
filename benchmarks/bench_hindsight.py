"""The hindsight solver: time to a proof with each backend, and the cost of the lower bounds.

Three parts, each optional:

- ``backends``: for every size ``n`` in ``--sizes`` and both synthetic arrival models of the
  paper (``paper-model1:n=N``, ``paper-model2:n=N``, seeds ``0..--instances-1``), solve the
  hindsight program with HiGHS and with CP-SAT under the same time limit and report, per
  (model, n, solver): instances proven optimal, median and worst time to a proof (over the
  proven ones), and the median gap of the rest. This is how ``DEFAULT_SOLVER`` was picked.
- ``bounds``: wall time and value of ``hindsight_lower_bound`` (``combinatorial`` and
  ``lp``) on single instances of arrival model 2 with ``n`` in ``--bound-sizes``, relative
  to MC-SF's total latency (a ratio of values from the same run).
- ``--paper-rows``: the same proof statistics, read from the rows of a finished
  ``mcsf-eval ratio --paper`` run (the 400 paper-size instances).

Usage::

    python benchmarks/bench_hindsight.py --out results/bench_hindsight.json
    python benchmarks/bench_hindsight.py --parts backends --sizes 6 8 10 --instances 5
    python benchmarks/bench_hindsight.py --parts --paper-rows results/paper_table_full/rows.csv
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents import run_agent
from evaluation.hindsight import hindsight_lower_bound, hindsight_optimum
from evaluation.hindsight.backends import SOLVERS
from mcsf_gym.workloads import make_workload

MODELS = ("paper-model1", "paper-model2")


def proof_statistics(
    proven: Sequence[bool], seconds: Sequence[float], gaps: Sequence[float]
) -> dict[str, Any]:
    """Proven count, median and worst time to a proof, and the median gap of the unproven."""
    proof_times = [t for ok, t in zip(proven, seconds, strict=True) if ok]
    open_gaps = [g for ok, g in zip(proven, gaps, strict=True) if not ok]
    return {
        "instances": len(proven),
        "proven": len(proof_times),
        "median_proof_s": statistics.median(proof_times) if proof_times else None,
        "worst_proof_s": max(proof_times) if proof_times else None,
        "median_open_gap": statistics.median(open_gaps) if open_gaps else None,
    }


def bench_backends(sizes: Sequence[int], instances: int, time_limit: float) -> list[dict]:
    """Solve every (model, n, seed) with each backend; one summary row per (model, n, solver)."""
    from tqdm import tqdm

    rows = []
    jobs = [(model, n) for model in MODELS for n in sizes]
    for model, n in tqdm(jobs, desc="backends", unit="size"):
        results: dict[str, list[Any]] = {solver: [] for solver in SOLVERS}
        for seed in range(instances):
            scenario = make_workload(f"{model}:n={n}").sample(np.random.default_rng(seed))
            for solver in SOLVERS:
                results[solver].append(
                    hindsight_optimum(
                        scenario.instance, scenario.memory, time_limit=time_limit, solver=solver
                    )
                )
        for solver, found in results.items():
            rows.append(
                {
                    "model": model,
                    "n": n,
                    "solver": solver,
                    "time_limit_s": time_limit,
                    **proof_statistics(
                        [r.proven_optimal for r in found],
                        [r.seconds for r in found],
                        [r.gap for r in found],
                    ),
                }
            )
    return rows


def bench_bounds(sizes: Sequence[int], time_limit: float) -> list[dict]:
    """Time and strength of the lower bounds on one model-2 instance per size."""
    rows = []
    for n in sizes:
        scenario = make_workload(f"paper-model2:n={n}").sample(np.random.default_rng(0))
        mcsf = run_agent(scenario.instance, "mcsf", memory=scenario.memory, time_model="unit")
        for method in ("combinatorial", "lp"):
            began = time.perf_counter()
            bound = hindsight_lower_bound(
                scenario.instance, scenario.memory, method=method, time_limit=time_limit
            )
            rows.append(
                {
                    "n": n,
                    "method": method,
                    "seconds": time.perf_counter() - began,
                    "bound_over_mcsf": bound.bound / mcsf.total_latency,
                }
            )
    return rows


def paper_statistics(path: Path) -> list[dict]:
    """Proof statistics per workload from the rows of an ``mcsf-eval ratio`` run."""
    import pandas as pd

    rows = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    rows = rows.drop_duplicates(["workload", "seed"])
    summary = []
    for workload, group in rows.groupby("workload"):
        summary.append(
            {
                "workload": workload,
                **proof_statistics(
                    group["proven_optimal"].astype(bool).tolist(),
                    group["solve_time_s"].tolist(),
                    group["gap"].tolist(),
                ),
                "median_solve_s": float(group["solve_time_s"].median()),
                "worst_solve_s": float(group["solve_time_s"].max()),
            }
        )
    return summary


def print_rows(title: str, rows: Sequence[dict]) -> None:
    """A plain table on stdout."""
    if not rows:
        return
    print(f"\n{title}")
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()]
        print(" | ".join(cells))


def main(argv: Sequence[str] | None = None) -> None:
    """Run the selected parts, print tables and optionally write JSON."""
    parser = argparse.ArgumentParser(
        description="Benchmark the hindsight solver backends and lower bounds.",
    )
    parser.add_argument(
        "--parts",
        nargs="*",
        choices=("backends", "bounds"),
        default=["backends", "bounds"],
        help="which measured parts to run (give none with --paper-rows to only summarise a "
        "ratio run; default: both)",
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[6, 8, 10, 12, 16, 20],
        help="request counts for the backend comparison (default: 6 8 10 12 16 20)",
    )
    parser.add_argument(
        "--instances", type=int, default=5, help="instances per model and size (default: 5)"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=20.0,
        help="seconds per solve in the backend comparison (default: 20)",
    )
    parser.add_argument(
        "--bound-sizes",
        type=int,
        nargs="+",
        default=[50, 200, 1000, 5000],
        help="request counts for the lower-bound timings (default: 50 200 1000 5000)",
    )
    parser.add_argument(
        "--bound-time-limit",
        type=float,
        default=120.0,
        help="seconds for each LP bound (default: 120)",
    )
    parser.add_argument(
        "--paper-rows",
        type=Path,
        default=None,
        help="rows.csv (or .parquet) of an `mcsf-eval ratio --paper` run to summarise",
    )
    parser.add_argument("--out", type=Path, default=None, help="write all results as JSON here")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version()}
    if "backends" in args.parts:
        report["backends"] = bench_backends(args.sizes, args.instances, args.time_limit)
        print_rows("time to a proof, per backend", report["backends"])
    if "bounds" in args.parts:
        report["bounds"] = bench_bounds(args.bound_sizes, args.bound_time_limit)
        print_rows("lower bounds (value relative to MC-SF)", report["bounds"])
    if args.paper_rows is not None:
        report["paper"] = paper_statistics(args.paper_rows)
        print_rows("paper-size instances (ratio run)", report["paper"])
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
