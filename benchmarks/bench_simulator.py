"""Simulator throughput: rounds and requests per second of wall time, with a trivial scheduler.

The scheduler is FCFS without look-ahead: admit waiting requests in arrival order while
``view.memory_next_round`` plus their ``s + 1`` fits in ``M``. The default workload is the
paper's real-trace setting: 10,000 LMSYS-like requests, Poisson arrivals at 50 per second, the
``linear`` time model and ``M = 16492``. It comes from ``mcsf_gym.workloads.make_workload``
when that exists, and otherwise from a local LMSYS-like generator (lognormal lengths matching
the published prompt mean 40.62 / median 11 and output mean 85.32 / median 45).

Usage::

    python benchmarks/bench_simulator.py --n 10000 --rate 50 --repeats 3
    python benchmarks/bench_simulator.py --scheduler mcsf --json
    python benchmarks/bench_simulator.py --profile 25
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.simulate import simulate
from mcsf_gym.core.view import StateView

PROMPT_MEAN, PROMPT_MEDIAN = 40.62, 11.0
OUTPUT_MEAN, OUTPUT_MEDIAN = 85.32, 45.0


class FCFSNoLookahead:
    """Admit waiting requests in arrival order while the coming round fits in ``M``."""

    def reset(self, rng: np.random.Generator) -> None:
        """Nothing to reset."""

    def schedule(self, view: StateView) -> list[int]:
        """Admit the arrival-order prefix whose ``s + 1`` fits next to the running set."""
        free = view.memory - view.memory_next_round
        prompts = view.prompt
        admitted: list[int] = []
        for request in view.waiting:  # stops at the first miss: O(admitted), not O(queue)
            need = int(prompts[request]) + 1
            if need > free:
                break
            free -= need
            admitted.append(int(request))
        return admitted


def _lognormal(rng: np.random.Generator, mean: float, median: float, size: int) -> np.ndarray:
    """Integer lognormal lengths >= 1 with the given mean and median."""
    sigma = math.sqrt(2.0 * math.log(mean / median))
    return np.maximum(1, np.rint(rng.lognormal(math.log(median), sigma, size))).astype(np.int64)


def local_lmsys_instance(n: int, rate: float, memory: int, rng: np.random.Generator) -> Instance:
    """An LMSYS-like instance: lognormal lengths, ``s + o <= memory``, Poisson arrivals."""
    prompt = np.minimum(_lognormal(rng, PROMPT_MEAN, PROMPT_MEDIAN, n), memory - 1)
    output = np.minimum(_lognormal(rng, OUTPUT_MEAN, OUTPUT_MEDIAN, n), memory - prompt)
    arrival = np.cumsum(rng.exponential(1.0 / rate, n))
    return Instance(arrival=arrival, prompt=prompt, output=output)


def make_instance(
    n: int, rate: float, memory: int, seed: int, source: str
) -> tuple[Instance, str]:
    """The benchmark instance and a word on where it came from (``workloads`` or ``local``)."""
    rng = np.random.default_rng(seed)
    if source in ("auto", "workloads"):
        try:
            from mcsf_gym.workloads import make_workload  # type: ignore[attr-defined]
        except ImportError:
            if source == "workloads":
                raise
        else:
            scenario = make_workload(f"lmsys:rate={rate},n={n},memory={memory}").sample(rng)
            return scenario.instance, "workloads"
    return local_lmsys_instance(n, rate, memory, rng), "local"


def make_scheduler(name: str) -> Any:
    """The scheduler to time: ``fcfs`` (no look-ahead) or ``mcsf``."""
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="requests (default 10000)")
    parser.add_argument("--rate", type=float, default=50.0, help="arrivals per second (50)")
    parser.add_argument("--memory", type=int, default=16492, help="KV capacity M (16492)")
    parser.add_argument(
        "--time-model", default="linear", help="time model spec: linear (default) or unit"
    )
    parser.add_argument(
        "--eviction",
        default="newest-first",
        help="eviction policy (default newest-first; FCFS without look-ahead thrashes forever "
        "under clear-all once memory is full)",
    )
    parser.add_argument("--scheduler", choices=("fcfs", "mcsf"), default="fcfs")
    parser.add_argument(
        "--source",
        choices=("auto", "workloads", "local"),
        default="auto",
        help="instance from make_workload('lmsys:...') if available (auto), or local",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="workload seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="TOP", help="also print cProfile's TOP entries"
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1 or args.rate <= 0:
        parser.error("--n and --repeats must be >= 1 and --rate > 0")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print a table (or JSON); return the summary."""
    args = parse_args(argv)
    instance, source = make_instance(args.n, args.rate, args.memory, args.seed, args.source)
    if args.time_model == "unit":
        instance = Instance(
            np.floor(instance.arrival), instance.prompt, instance.output, instance.prediction
        )
    config = SimConfig(memory=args.memory, time_model=args.time_model, eviction=args.eviction)
    runs = [run_once(instance, make_scheduler(args.scheduler), config) for _ in range(args.repeats)]
    best = min(runs, key=lambda run: run["wall_s"])
    summary = {
        "n": instance.n,
        "rate": args.rate,
        "memory": args.memory,
        "time_model": args.time_model,
        "scheduler": args.scheduler,
        "eviction": args.eviction,
        "source": source,
        "repeats": args.repeats,
        "rounds": best["rounds"],
        "wall_s_best": best["wall_s"],
        "wall_s_median": statistics.median(run["wall_s"] for run in runs),
        "rounds_per_s": best["rounds_per_s"],
        "requests_per_s": best["requests_per_s"],
        "mean_latency": best["mean_latency"],
        "evictions": best["evictions"],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{'quantity':<16} value")
        for key, value in summary.items():
            text = f"{value:,.4g}" if isinstance(value, float) else str(value)
            print(f"{key:<16} {text}")
    if args.profile:
        profile_once(instance, make_scheduler(args.scheduler), config, args.profile)
    return summary


if __name__ == "__main__":
    main()
