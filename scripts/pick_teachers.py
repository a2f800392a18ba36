r"""Pick each task's teacher for behaviour cloning: the best heuristic on validation seeds.

Usage::

    MCSF_GYM_DATA=<traces folder> python scripts/pick_teachers.py \\
        --out results/learned/teachers.csv [--agents mcsf area-skip ...] [--first 4 --count 10]

Every candidate agent runs under ``simulate`` on validation seeds ``first .. first + count - 1``
of every task of the suite, under one eviction policy (the one the policy will train with).
Seeds ``0 .. first - 1`` are left to model selection, and evaluation seeds are never used, so
the choice does not look at what the scorecard reports. Writes one row per task and agent
(``task, agent, mean_total_latency, ratio_to_best, best``) and prints the ``[imitate]`` table
of a training config (``training.imitation``), with the most frequent best agent as ``"*"``
(kept on every task where it is within ``--tie`` of the best).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evaluation.io import write_rows

DEFAULT_AGENTS = ("mcsf", "area-skip", "sorted-f", "gba", "mcsf-skip")


def measure(
    suite: str,
    agents: Sequence[str],
    eviction: str,
    first: int,
    count: int,
    tasks: Sequence[str] | None = None,
) -> list[dict[str, object]]:
    """One row per task and agent: mean total latency over the chosen validation seeds."""
    from agents.registry import make_agent
    from mcsf_gym.core.simulate import simulate
    from mcsf_gym.suites import load_suite

    rows: list[dict[str, object]] = []
    for task in load_suite(suite).select(list(tasks) if tasks else None):
        seeds = task.valid_seeds[first : first + count]
        if len(seeds) < count:
            raise ValueError(
                f"--first {first} --count {count} needs {first + count} validation seeds; "
                f"{task.name} has {len(task.valid_seeds)}"
            )
        totals = {name: [] for name in agents}
        for seed in seeds:
            scenario = task.scenario(seed)
            for name in agents:
                result = simulate(
                    scenario.instance,
                    make_agent(name),
                    memory=scenario.memory,
                    time_model=scenario.time_model,
                    eviction=eviction,
                    seed=seed,
                )
                totals[name].append(result.total_latency)
        means = {name: float(np.mean(values)) for name, values in totals.items()}
        best = min(means, key=means.__getitem__)
        for name in agents:
            rows.append(
                {
                    "task": task.name,
                    "agent": name,
                    "mean_total_latency": means[name],
                    "ratio_to_best": means[name] / means[best],
                    "best": name == best,
                }
            )
        print(f"{task.name}: {best}", flush=True)
    return rows


def imitate_table(rows: list[dict[str, object]], tie: float) -> dict[str, str]:
    """The ``[imitate]`` table: the most frequent best agent as ``"*"``, the others by task.

    A task on which ``"*"`` is within ``tie`` (relative) of the best keeps ``"*"``.
    """
    best = {str(row["task"]): str(row["agent"]) for row in rows if row["best"]}
    default = Counter(best.values()).most_common(1)[0][0]
    near = {
        str(row["task"])
        for row in rows
        if row["agent"] == default and float(row["ratio_to_best"]) <= 1.0 + tie  # type: ignore[arg-type]
    }
    table = {"*": default}
    table.update({task: agent for task, agent in best.items() if task not in near})
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="core-v1", help="the benchmark suite")
    parser.add_argument("--tasks", nargs="+", default=None, help="tasks (default: all)")
    parser.add_argument(
        "--agents", nargs="+", default=list(DEFAULT_AGENTS), help="candidate teachers"
    )
    parser.add_argument("--eviction", default="newest-first", help="eviction policy of every run")
    parser.add_argument(
        "--first", type=int, default=4, help="first validation seed index used (0-based)"
    )
    parser.add_argument("--count", type=int, default=10, help="validation seeds per task")
    parser.add_argument(
        "--tie",
        type=float,
        default=0.001,
        help="a task keeps the default teacher when it is within this share of the best",
    )
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    if args.first < 0 or args.count < 1:
        parser.error(f"--first must be >= 0 and --count >= 1, got {args.first} and {args.count}")
    try:
        rows = measure(args.suite, args.agents, args.eviction, args.first, args.count, args.tasks)
    except ValueError as error:
        parser.error(str(error))
    write_rows(rows, args.out)
    print("[imitate]")
    for task, agent in imitate_table(rows, args.tie).items():
        print(f'"{task}" = "{agent}"')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
