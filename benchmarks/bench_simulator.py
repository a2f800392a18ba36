"""Simulator throughput: rounds and requests per second of wall time, with a trivial scheduler.

The scheduler is FCFS without look-ahead: admit waiting requests in arrival order while
``view.memory_next_round`` plus their ``s + 1`` fits in ``M``, so the time measured is the
engine's, not a policy's. The default workload is the paper's real-trace setting:
10,000 LMSYS-like requests (``make_workload("lmsys:...")``), Poisson arrivals at 50 per
second, the ``linear`` time model and ``M = 16492``. Running requests outgrow memory under
this scheduler, so the default eviction is ``newest-first`` (under ``clear-all`` FCFS without
look-ahead restarts the same batch for ever once memory is full).

Usage::

    python benchmarks/bench_simulator.py                      # the paper's setting, 3 repeats
    python benchmarks/bench_simulator.py --out results/bench_simulator.json
    python benchmarks/bench_simulator.py --scheduler mcsf --eviction clear-all
    python benchmarks/bench_simulator.py --profile 25
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.simulate import simulate
from mcsf_gym.core.view import StateView
from mcsf_gym.workloads import make_workload


class FCFSNoLookahead:
    """Admit waiting requests in arrival order while the coming round fits in ``M``."""

    def reset(self, rng: np.random.Generator) -> None:
        """Nothing to reset."""

    def schedule(self, view: StateView) -> list[int]:
        """Admit the arrival-order prefix whose ``s + 1`` fits next to the running set."""
        free = view.memory - view.memory_next_round
        prompts = view.prompts
        admitted: list[int] = []
        for request in view.iter_waiting():  # stops at the first miss: O(admitted), not O(queue)
            need = prompts[request] + 1
            if need > free:
                break
            free -= need
            admitted.append(request)
        return admitted


def make_instance(n: int, rate: float, memory: int, seed: int, time_model: str) -> Instance:
    """The LMSYS-like benchmark instance (arrivals floored to rounds for ``unit`` time)."""
    scenario = make_workload(f"lmsys:rate={rate},n={n},memory={memory}").sample(
        np.random.default_rng(seed)
    )
    instance = scenario.instance
    if time_model == "unit":
        instance = Instance(
            np.floor(instance.arrival), instance.prompt, instance.output, instance.prediction
        )
    return instance


def make_scheduler(name: str) -> Any:
    """The scheduler to time: ``fcfs`` (trivial, no look-ahead) or ``mcsf``."""
    if name == "mcsf":
        from agents.mcsf import MCSF

        return MCSF()
    return FCFSNoLookahead()


def run_once(instance: Instance, scheduler: Any, config: SimConfig) -> dict[str, float]:
    """One timed simulation."""
    begin = time.perf_counter()
    result = simulate(instance, scheduler, config)
    wall = time.perf_counter() - begin
    rounds = result.metrics["rounds"]
    return {
        "wall_s": wall,
        "rounds": rounds,
        "rounds_per_s": rounds / wall,
        "requests_per_s": instance.n / wall,
        "mean_latency": result.mean_latency,
        "evictions": result.metrics["evictions"],
    }


def profile_once(instance: Instance, scheduler: Any, config: SimConfig, top: int) -> None:
    """Run once under cProfile and print the ``top`` entries by internal time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    simulate(instance, scheduler, config)
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=10_000, help="requests")
    parser.add_argument("--rate", type=float, default=50.0, help="Poisson arrivals per second")
    parser.add_argument("--memory", type=int, default=16492, help="KV-cache capacity M (tokens)")
    parser.add_argument("--time-model", default="linear", choices=("linear", "unit"))
    parser.add_argument("--eviction", default="newest-first", help="eviction policy spec")
    parser.add_argument("--scheduler", choices=("fcfs", "mcsf"), default="fcfs")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (best is reported)")
    parser.add_argument("--seed", type=int, default=0, help="workload seed")
    parser.add_argument("--out", type=Path, help="also write the summary to this JSON file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="TOP", help="also print cProfile's TOP entries"
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1 or args.rate <= 0:
        parser.error("--n and --repeats must be >= 1 and --rate > 0")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print a table (or JSON), optionally write JSON; return the summary."""
    args = parse_args(argv)
    instance = make_instance(args.n, args.rate, args.memory, args.seed, args.time_model)
    config = SimConfig(memory=args.memory, time_model=args.time_model, eviction=args.eviction)
    runs = [run_once(instance, make_scheduler(args.scheduler), config) for _ in range(args.repeats)]
    best = min(runs, key=lambda run: run["wall_s"])
    summary = {
        "benchmark": "simulator",
        "workload": f"lmsys:rate={args.rate},n={args.n},memory={args.memory}",
        "seed": args.seed,
        "n": instance.n,
        "rate": args.rate,
        "memory": args.memory,
        "time_model": args.time_model,
        "scheduler": args.scheduler,
        "eviction": args.eviction,
        "repeats": args.repeats,
        "rounds": int(best["rounds"]),
        "wall_s_best": best["wall_s"],
        "wall_s_median": statistics.median(run["wall_s"] for run in runs),
        "rounds_per_s": best["rounds_per_s"],
        "requests_per_s": best["requests_per_s"],
        "mean_latency": best["mean_latency"],
        "evictions": int(best["evictions"]),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{'quantity':<16} value")
        for key, value in summary.items():
            text = f"{value:,.4g}" if isinstance(value, float) else str(value)
            print(f"{key:<16} {text}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    if args.profile:
        profile_once(instance, make_scheduler(args.scheduler), config, args.profile)
    return summary


if __name__ == "__main__":
    main()
