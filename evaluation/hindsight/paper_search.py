"""Best-known schedules for the paper's synthetic table, stored so that every claim verifies.

For each workload and seed: draw the instance exactly as ``mcsf-eval ratio`` does, run
:func:`evaluation.hindsight.search.best_schedule` for a fixed budget, and store the schedule
(:mod:`evaluation.hindsight.stored`) with MC-SF's latency and, when a committed table is
given, that table's best value and proven bound for the same instance (the bound stays the
table's: this search proves nothing). Command line::

    python -m evaluation.hindsight.paper_search --workload paper-model1 --seeds 0-199
        --seconds 3 --table results/paper_table_full/rows.csv
        --out results/hindsight_search/paper-model1.json

(one line).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents import run_agent
from evaluation.hindsight.search import best_schedule
from evaluation.hindsight.stored import record
from mcsf_gym.workloads import make_workload


def parse_seeds(text: str) -> list[int]:
    """``"0-199"`` or ``"0,3,5"`` as a list of seeds.

    Raises:
        ValueError: naming ``seeds`` and the text when it is neither.
    """
    try:
        if "-" in text:
            first, last = (int(part) for part in text.split("-", 1))
            return list(range(first, last + 1))
        return [int(part) for part in text.split(",")]
    except ValueError as error:
        raise ValueError(f"seeds must look like 0-199 or 0,3,5, got {text!r}") from error


def committed(path: str | None) -> dict[tuple[str, int], dict[str, str]]:
    """The committed table's MC-SF rows by (workload, seed), or nothing without a path."""
    if path is None:
        return {}
    with open(path, newline="") as handle:
        return {
            (row["workload"], int(row["seed"])): row
            for row in csv.DictReader(handle)
            if row["agent"] == "mcsf"
        }


def run(
    workload: str, seeds: Sequence[int], seconds: float, table: str | None
) -> list[dict[str, Any]]:
    """One stored record per seed (see the module docstring)."""
    rows = committed(table)
    records = []
    for seed in seeds:
        scenario = make_workload(workload).sample(np.random.default_rng(seed))
        inst, memory = scenario.instance, scenario.memory
        began = time.perf_counter()
        value, start = best_schedule(inst, memory, time_limit=seconds, seed=seed)
        took = time.perf_counter() - began
        mcsf = run_agent(inst, "mcsf", memory=memory, time_model="unit").total_latency
        extra: dict[str, Any] = {
            "workload": workload,
            "seed": seed,
            "n": inst.n,
            "mcsf_value": int(mcsf),
            "search_seconds": round(took, 3),
        }
        old = rows.get((workload, seed))
        if old is not None:
            extra.update(
                committed_best=float(old["optimum"]),
                bound=float(old["bound"]),
                committed_proven=old["proven_optimal"] == "True",
            )
        records.append(record(inst, memory, value, start, **extra))
    return records


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """MC-SF against the best-known schedules, and those against the committed table's."""
    value = np.array([r["value"] for r in records], dtype=np.float64)
    mcsf = np.array([r["mcsf_value"] for r in records], dtype=np.float64)
    ratio = mcsf / value
    summary: dict[str, Any] = {
        "instances": len(records),
        "mcsf_over_best_average": float(ratio.mean()),
        "mcsf_over_best_min": float(ratio.min()),
        "mcsf_over_best_max": float(ratio.max()),
        "mcsf_equals_best": int(np.sum(mcsf == value)),
        "search_seconds_median": float(np.median([r["search_seconds"] for r in records])),
    }
    if all("committed_best" in r for r in records):
        old = np.array([r["committed_best"] for r in records])
        bound = np.array([r["bound"] for r in records])
        summary.update(
            better_than_committed=int(np.sum(value < old)),
            equal_to_committed=int(np.sum(value == old)),
            worse_than_committed=int(np.sum(value > old)),
            gain_over_committed_average=float(np.mean((old - value) / old)),
            best_known_average=float(np.mean(mcsf / np.minimum(value, old))),
            mcsf_over_bound_average=float(np.mean(mcsf / bound)),
            proven_optimal=int(np.sum(np.minimum(value, old) == bound)),
        )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Run the search over the seeds and write the schedule file (or summarise files)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", nargs="+", help="only print the summary of these files")
    parser.add_argument("--workload")
    parser.add_argument("--seeds", default="0-199")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--table", default=None, help="committed rows.csv to compare with")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.summary:
        for path in args.summary:
            records = json.loads(Path(path).read_text())["schedules"]
            print(json.dumps({"file": path, **summarize(records)}))
        return 0
    if args.workload is None or args.out is None:
        parser.error("--workload and --out are needed to run the search")
    records = run(args.workload, parse_seeds(args.seeds), args.seconds, args.table)
    description = (
        f"best_schedule, {args.seconds:g} s per instance, workload {args.workload}, seeds "
        f"{args.seeds}; bound and committed_best from {args.table}"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"description": description, "schedules": records}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
