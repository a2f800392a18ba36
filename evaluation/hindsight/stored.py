"""Best-known schedules stored with the results, and the command that verifies them all.

A schedule file is JSON: ``{"description": ..., "schedules": [record, ...]}``; every record
holds the instance itself (``arrival``, ``prompt``, ``output``), ``memory``, the claimed
total latency ``value`` and the admission round of every request (``start``), plus where the
instance came from (``workload``, ``seed``) and whatever else the producer recorded (bounds,
timings). Verification replays each schedule in the simulator
(``simulate(instance, Replay(start), memory, time_model="unit")``, the one source of truth)
and checks that every start is kept, nothing is evicted and the latency equals ``value``;
when the workload is known it also checks that the stored instance is the one the workload
draws for that seed (so a claim cannot silently refer to another instance). A stored
``bound`` is checked to be at most ``value``.

Command line (without paths: every ``results/hindsight_*/*.json`` under the current
directory)::

    python -m evaluation.hindsight.stored [results/hindsight_search/paper-model1.json ...]

prints one line per file and exits with status 1 if any record fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcsf_gym.core.instance import Instance


def record(
    instance: Instance, memory: int, value: int, start: Sequence[int], **extra: Any
) -> dict[str, Any]:
    """A JSON-ready record of a schedule and its instance (``extra`` fields are kept)."""
    return {
        **extra,
        "memory": int(memory),
        "value": int(value),
        "start": [int(p) for p in start],
        "arrival": [int(a) for a in instance.arrival],
        "prompt": [int(s) for s in instance.prompt],
        "output": [int(o) for o in instance.output],
    }


def check_record(entry: dict[str, Any]) -> str | None:
    """``None`` if the record's schedule replays exactly, else what is wrong."""
    from agents import Replay
    from mcsf_gym.core.simulate import simulate

    instance = Instance(entry["arrival"], entry["prompt"], entry["output"])
    if "workload" in entry and "seed" in entry:
        from mcsf_gym.workloads import make_workload

        drawn = make_workload(entry["workload"]).sample(np.random.default_rng(entry["seed"]))
        same = (
            drawn.memory == entry["memory"]
            and np.array_equal(drawn.instance.arrival, instance.arrival)
            and np.array_equal(drawn.instance.prompt, instance.prompt)
            and np.array_equal(drawn.instance.output, instance.output)
        )
        if not same:
            return "the stored instance is not the one its workload draws for its seed"
    start = np.asarray(entry["start"], dtype=np.int64)
    if start.shape != (instance.n,):
        return f"start has {start.size} entries for {instance.n} requests"
    result = simulate(instance, Replay(start), memory=int(entry["memory"]), time_model="unit")
    if not np.array_equal(result.start, start):
        return "the replay did not keep every start"
    if result.metrics["evictions"]:
        return f"the replay evicted {result.metrics['evictions']} times"
    if result.total_latency != entry["value"]:
        return f"the replay totals {result.total_latency:g}, the record claims {entry['value']}"
    if "bound" in entry and entry["bound"] > entry["value"]:
        return f"the bound {entry['bound']} exceeds the value {entry['value']}"
    return None


def verify_file(path: str | Path) -> list[tuple[int, str]]:
    """``(index, problem)`` for every record of the file whose schedule does not verify.

    Raises:
        ValueError: if the file is not a schedule file (naming the path).
    """
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not isinstance(data.get("schedules"), list):
        raise ValueError(f"path {str(path)!r} is not a schedule file (no 'schedules' list)")
    failures = []
    for index, entry in enumerate(data["schedules"]):
        problem = check_record(entry)
        if problem is not None:
            failures.append((index, problem))
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    """Verify schedule files; print one line per file; ``1`` if any record fails."""
    parser = argparse.ArgumentParser(description="Replay and verify stored schedules.")
    parser.add_argument("paths", nargs="*", help="schedule files (JSON)")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(str(p) for p in Path().glob("results/hindsight_*/*.json"))
    if not paths:
        print("no schedule files given or found under results/hindsight_*/")
        return 1
    status = 0
    for path in paths:
        failures = verify_file(path)
        count = len(json.loads(Path(path).read_text())["schedules"])
        print(f"{path}: {count - len(failures)} of {count} schedules verified")
        for index, problem in failures:
            print(f"  record {index}: {problem}")
        status = status or int(bool(failures))
    return status


if __name__ == "__main__":
    sys.exit(main())
