"""Cost per round against the number of requests, for every registered agent.

Each agent runs under ``simulate`` (its own default eviction policy, the ``linear`` time
model, ``M = 16492``) on LMSYS-like workloads of ``n`` requests (``make_workload("lmsys:...")``)
at an arrival rate low enough that the waiting queue stays bounded, so that a run of 100,000
requests is a longer run of the same traffic as one of 1,000: any growth of the cost per round
with ``n`` is work proportional to the whole instance, not to what changes in a round. The
cost per round is the process CPU time of the run (``time.process_time``, insensitive to other
processes on a shared machine; wall time is reported too) divided by the rounds run. The
report gives, per agent, the cost per round at each ``n`` in the steady state (from the round
at which 10% of the requests have arrived to the one at which the last arrives: a run of 1,000
requests spends a third of its rounds draining its last long requests, cheap rounds that a run
of 100,000 hardly has) and over the whole run, and the ratio of the largest ``n`` to the
smallest (the goal: at most 1.3). ``a-max`` and ``a-min`` need interval predictions and
get ``prediction=interval:eps=0.5``; learned policies (``ppo``, ``maskable-ppo``) need a
model file and are left out. ``--million`` also runs MC-SF on 1,000,000 requests.

A second table gives the state each steady window saw: decisions per round (the scheduler is
called only at boundaries where a request waits) and the mean number of running requests at
a decision. Work per round that follows that state (the engine's completions, an agent's
admissions and its look-ahead over the running set) is not work proportional to ``n``, but
it does not start in the same state at every ``n``: LMSYS-like traffic at 5 requests per
second fills its running set over about its first 1,500 arrivals, so the window of a
1,000-request run lies in that warm-up (27 requests running against 37-39, 0.30 decisions
per round against 0.35, at 10,000 and 100,000) and its rounds are cheaper. From 10,000 to
100,000, in the same state, the cost per round compares like for like. ``--warmup W`` serves
``W`` requests before the measured ones (the instance holds ``W + n``; the steady window
starts at request ``W``'s arrival), so that every ``n`` is measured in the filled state:
``--warmup 10000`` is what ``results/speed/scaling_warm.txt`` reports.

Usage::

    python benchmarks/bench_scaling.py --out results/speed/scaling.json
    python benchmarks/bench_scaling.py --warmup 10000 --out results/speed/scaling_warm.json
    python benchmarks/bench_scaling.py --agents mcsf vllm-fcfs --ns 1000 10000
    python benchmarks/bench_scaling.py --agents mcsf --ns 1000 --million
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents import make_agent
from agents.registry import AGENTS
from mcsf_gym.core.simulate import simulate
from mcsf_gym.core.view import StateView
from mcsf_gym.workloads import make_workload

#: Agents that need interval predictions.
INTERVAL_AGENTS = ("a-max", "a-min")
#: Agents that need a model file (left out).
LEARNED_AGENTS = ("ppo", "maskable-ppo")


def workload_spec(agent: str, n: int, rate: float, memory: int) -> str:
    """The LMSYS-like workload an agent runs on (interval predictions where it needs them)."""
    prediction = "interval:eps=0.5" if agent in INTERVAL_AGENTS else "exact"
    return f"lmsys:rate={rate},n={n},memory={memory},prediction={prediction}"


class SteadyClock:
    """Wraps a scheduler; notes the CPU time and round when ``first`` and all ``n`` requests
    have arrived.

    Between the two marks the traffic is in its steady state: the warm-up (an empty system
    filling) and the drain (the last long requests running almost alone, cheap rounds that
    weigh more in a short run than in a long one) are left out.
    """

    def __init__(self, scheduler: Any, n: int, first: int) -> None:
        self.scheduler = scheduler
        self.default_eviction = getattr(scheduler, "default_eviction", "clear-all")
        self.first = max(1, first)
        self.n = n
        self.marks: list[tuple[int, float]] = []
        self.decisions = 0
        self.waiting_max = 0
        self.steady_decisions = 0
        self.steady_running = 0
        self.steady_waiting = 0

    def reset(self, rng: np.random.Generator) -> None:
        """Reset the wrapped scheduler and the marks."""
        self.marks = []
        self.decisions = 0
        self.waiting_max = 0
        self.steady_decisions = 0
        self.steady_running = 0
        self.steady_waiting = 0
        self.scheduler.reset(rng)

    def schedule(self, view: StateView) -> Sequence[int]:
        """The wrapped scheduler's decision; a mark when an arrival threshold is passed."""
        self.decisions += 1
        self.waiting_max = max(self.waiting_max, view.n_waiting)
        goal = self.first if not self.marks else self.n
        if len(self.marks) < 2 and view.n_arrived >= goal:
            self.marks.append((view.round_index, time.process_time()))
        if len(self.marks) == 1:  # the state the steady window's rounds see
            self.steady_decisions += 1
            self.steady_running += view.n_running
            self.steady_waiting += view.n_waiting
        return self.scheduler.schedule(view)


def run_one(
    agent: str,
    n: int,
    rate: float,
    memory: int,
    seed: int,
    *,
    repeats: int = 1,
    warmup: int = 0,
) -> dict[str, Any]:
    """Simulate ``agent`` on ``warmup + n`` requests ``repeats`` times; CPU time per round.

    The steady window runs from the arrival of request ``warmup`` (or of the first 10% when
    ``warmup`` is 0) to the last arrival. Small runs are repeated so that every ``n`` is
    measured over about as many rounds: the noise of a shared machine then weighs alike on
    each.
    """
    total = warmup + n
    first = warmup if warmup else n // 10
    spec = workload_spec(agent, total, rate, memory)
    instance = make_workload(spec).sample(np.random.default_rng(seed)).instance
    cpu = wall = steady_cpu = 0.0
    rounds = steady_rounds = steady_decisions = steady_running = steady_waiting = 0
    for _ in range(repeats):
        clock = SteadyClock(make_agent(agent), total, first)
        begin_cpu, begin_wall = time.process_time(), time.perf_counter()
        result = simulate(instance, clock, memory=memory, time_model="linear", seed=seed)
        cpu += time.process_time() - begin_cpu
        wall += time.perf_counter() - begin_wall
        rounds += int(result.metrics["rounds"])
        if len(clock.marks) == 2 and clock.marks[1][0] > clock.marks[0][0]:
            (first, first_cpu), (last, last_cpu) = clock.marks
            steady_rounds += last - first
            steady_cpu += last_cpu - first_cpu
            steady_decisions += clock.steady_decisions
            steady_running += clock.steady_running
            steady_waiting += clock.steady_waiting
    return {
        "agent": agent,
        "n": n,
        "warmup": warmup,
        "workload": spec,
        "repeats": repeats,
        "rounds": rounds // repeats,
        "cpu_s": cpu / repeats,
        "wall_s": wall / repeats,
        "cpu_us_per_round": cpu / rounds * 1e6,
        "wall_us_per_round": wall / rounds * 1e6,
        "cpu_us_per_request": cpu / (total * repeats) * 1e6,
        "steady_rounds": steady_rounds // repeats,
        "steady_cpu_us_per_round": steady_cpu / steady_rounds * 1e6 if steady_rounds else None,
        "steady_decisions_per_round": steady_decisions / steady_rounds if steady_rounds else None,
        "steady_mean_running": steady_running / steady_decisions if steady_decisions else None,
        "steady_mean_waiting": steady_waiting / steady_decisions if steady_decisions else None,
        "decisions_per_round": clock.decisions / (rounds / repeats),
        "waiting_max": clock.waiting_max,
        "mean_latency_s": result.mean_latency,
    }


def repeats(n: int, ns: Sequence[int]) -> int:
    """Runs of ``n`` requests: about as many rounds as one run of the largest, at most 20."""
    return max(1, min(20, round(max(ns) / n)))


def print_state(rows: Sequence[dict[str, Any]], agents: Sequence[str], ns: Sequence[int]) -> None:
    """The state the steady windows saw: decisions per round and mean running requests.

    Work that grows with the running set or with the decisions taken, not with ``n``: a run
    whose steady window sees more of them costs more per round.
    """
    print(
        "steady window: decisions per round / mean running requests at a decision\n"
        f"{'agent':<16} " + " ".join(f"{n:>12}" for n in ns)
    )
    for agent in agents:
        cells = []
        for n in ns:
            run = next(row for row in rows if row["agent"] == agent and row["n"] == n)
            per_round, running = run["steady_decisions_per_round"], run["steady_mean_running"]
            shown = f"{per_round:.2f}/{running:.1f}" if per_round and running else "-"
            cells.append(f"{shown:>12}")
        print(f"{agent:<16} " + " ".join(cells))


def default_agents() -> list[str]:
    """Every registered agent but the learned policies."""
    return [name for name in AGENTS.names() if name not in LEARNED_AGENTS]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--agents", nargs="+", default=None, help="agents (default: all)")
    parser.add_argument(
        "--ns", nargs="+", type=int, default=[1000, 10_000, 100_000], help="request counts"
    )
    parser.add_argument("--rate", type=float, default=5.0, help="Poisson arrivals per second")
    parser.add_argument("--memory", type=int, default=16492, help="KV-cache capacity M (tokens)")
    parser.add_argument("--seed", type=int, default=0, help="workload and agent seed")
    parser.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="requests served before the measured ones (the instance holds warmup + n; the "
        "steady window starts at request warmup's arrival): 2000 measures every n in the "
        "filled state the LMSYS-like traffic reaches after about 1,500 arrivals",
    )
    parser.add_argument("--million", action="store_true", help="also run MC-SF on 1,000,000")
    parser.add_argument("--out", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.rate <= 0 or min(args.ns) < 1 or args.warmup < 0:
        parser.error("--rate must be > 0, every --ns value >= 1 and --warmup >= 0")
    unknown = sorted(set(args.agents or ()) - set(AGENTS.names()))
    if unknown:
        parser.error(f"unknown agent(s) {unknown}; known: {', '.join(AGENTS.names())}")
    if args.out is not None and args.out.exists() and args.out.is_dir():
        parser.error(f"--out {args.out} is a folder")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run every agent at every ``n``, print a table, optionally write JSON; return it."""
    args = parse_args(argv)
    agents = args.agents or default_agents()
    ns = sorted(args.ns)
    rows: list[dict[str, Any]] = []
    scaling: dict[str, dict[str, float | None]] = {}
    print(
        f"{'agent':<16} "
        + " ".join(f"{n:>10}" for n in ns)
        + "   ratio  steady-state CPU us/round (whole run: ratio)"
    )
    for agent in agents:
        runs = [
            run_one(
                agent,
                n,
                args.rate,
                args.memory,
                args.seed,
                repeats=repeats(n, ns),
                warmup=args.warmup,
            )
            for n in ns
        ]
        rows.extend(runs)
        whole = runs[-1]["cpu_us_per_round"] / runs[0]["cpu_us_per_round"]
        steady = [run["steady_cpu_us_per_round"] for run in runs]
        ratio = steady[-1] / steady[0] if None not in (steady[0], steady[-1]) else None
        scaling[agent] = {"steady": ratio, "whole_run": whole}
        costs = " ".join(f"{cost:>10.1f}" if cost else f"{'-':>10}" for cost in steady)
        shown = f"{ratio:>7.2f}" if ratio is not None else f"{'-':>7}"
        print(f"{agent:<16} {costs} {shown}  ({whole:.2f})", flush=True)
    print_state(rows, agents, ns)
    million = None
    if args.million:
        million = run_one("mcsf", 1_000_000, args.rate, args.memory, args.seed)
        print(
            f"mcsf on 1,000,000 requests: {million['wall_s']:.1f} s wall, "
            f"{million['cpu_us_per_round']:.1f} us/round CPU, {million['rounds']} rounds"
        )
    summary = {
        "benchmark": "scaling",
        "rate": args.rate,
        "memory": args.memory,
        "time_model": "linear",
        "seed": args.seed,
        "warmup": args.warmup,
        "ns": ns,
        "runs": rows,
        "ratio_largest_to_smallest": scaling,
        "million": million,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        partial = args.out.with_suffix(args.out.suffix + ".partial")
        partial.write_text(json.dumps(summary, indent=2) + "\n")
        partial.replace(args.out)
    return summary


if __name__ == "__main__":
    main()
