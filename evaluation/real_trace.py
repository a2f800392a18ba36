"""The paper's real-trace comparison on our LMSYS-like workload (docs/model.md section 7).

Jaillet et al. (NeurIPS 2025) compare MC-SF with MC-Benchmark and the α-protection greedy and
β-clearing baselines on 10,000 LMSYS-Chat-1M conversations with Poisson arrivals at 10 and 50
requests per second, Llama2-70B on two A100s (the ``linear`` time model) and ``M = 16492``.
LMSYS-Chat-1M cannot be downloaded here, so the requests come from the ``lmsys`` workload, a
lognormal fit to that subset's published length statistics. For every (rate, seed) one trace of
``max(sizes)`` requests is drawn, and each agent runs on its first ``n`` requests for every
``n`` in ``sizes`` (nested prefixes of one trace, as one would take the first ``n``
conversations of a dataset), so the growth of latency with ``n`` is measured on the same
requests. Jobs run through :func:`evaluation.runner.run_jobs` (one job per rate, seed and
agent, with a progress bar).

Outputs in ``--out``: ``rows.csv`` (one row per rate, seed, n and agent: every metric of the
simulator), ``summary.json`` (the configuration, per-cell means with 95% intervals over seeds,
the growth of mean latency with ``n``, the paper's figures) and ``summary.md`` (the tables).

Usage::

    python -m evaluation.real_trace --out results/real_trace
    python -m evaluation.real_trace --sizes 1000 2000 --seeds 0 --rates 10
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.io import environment, write_json, write_rows
from evaluation.runner import Job, draw_scenario, run_jobs, run_spec
from evaluation.stats import mean_ci

#: The compared agents: MC-SF, MC-Benchmark, α-protection greedy (two α), α-protection
#: β-clearing (two β) and vLLM-style FCFS.
DEFAULT_AGENTS = (
    "mcsf",
    "mc-benchmark",
    "alpha-greedy:alpha=0.1",
    "alpha-greedy:alpha=0.2",
    "alpha-beta:alpha=0.1,beta=0.1",
    "alpha-beta:alpha=0.1,beta=0.2",
    "vllm-fcfs",
)
DEFAULT_RATES = (10.0, 50.0)
DEFAULT_SIZES = (1000, 2000, 4000, 6000, 8000, 10000)
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
#: The averages docs/model.md section 7 reports for 10k requests (MC-SF vs MC-Benchmark).
PAPER_MEAN_LATENCY = {"mcsf": 32.11, "mc-benchmark": 46.47}
#: Metrics kept per row (the simulator's, plus wall time).
ROW_METRICS = (
    "mean_latency",
    "p50_latency",
    "p99_latency",
    "ttft_mean",
    "throughput_tokens_per_s",
    "evictions",
    "tokens_discarded",
    "peak_memory",
    "rounds",
    "makespan",
)


@dataclass(frozen=True)
class TraceJob(Job):
    """A :class:`~evaluation.runner.Job` run on nested prefixes of one drawn trace.

    Args:
        sizes: prefix lengths ``n``; the workload's ``n`` must be at least the largest.
    """

    sizes: tuple[int, ...] = ()


def run_trace_job(job: TraceJob) -> list[dict[str, Any]]:
    """Draw the job's trace, run each agent on each prefix; one row per (n, agent)."""
    scenario = draw_scenario(job)
    overrides = dict(job.overrides)
    rows = []
    for size in job.sizes:
        prefix = dataclasses.replace(scenario, instance=scenario.instance.take(np.arange(size)))
        for spec in job.agents:
            began = time.perf_counter()
            result = run_spec(job, prefix, spec)
            rows.append(
                {
                    "rate": overrides["rate"],
                    "seed": job.seed,
                    "n": size,
                    "agent": spec,
                    **{key: result.metrics[key] for key in ROW_METRICS},
                    "wall_time_s": time.perf_counter() - began,
                }
            )
    return rows


def make_jobs(
    agents: Sequence[str],
    rates: Sequence[float],
    sizes: Sequence[int],
    seeds: Sequence[int],
    memory: int,
    prediction: str,
) -> list[TraceJob]:
    """One job per (rate, seed, agent), each running every prefix size of its trace."""
    largest = max(sizes)
    return [
        TraceJob(
            workload=f"lmsys:prediction={prediction}",
            seed=seed,
            agents=(agent,),
            overrides=(("rate", float(rate)), ("n", largest)),
            memory=memory,
            time_model="linear",
            sizes=tuple(sorted(sizes)),
        )
        for rate in rates
        for seed in seeds
        for agent in agents
    ]


def _interval(values: Sequence[float]) -> dict[str, float]:
    mean, low, high = mean_ci(values)
    return {"mean": mean, "low": low, "high": high}


def summarise(rows: Sequence[dict[str, Any]], agents: Sequence[str]) -> dict[str, Any]:
    """Per-cell means over seeds, latency relative to MC-SF, and growth with ``n``.

    Returns:
        ``cells``: per (rate, n, agent) the mean latency, p99, evictions and tokens thrown away
        (mean and 95% interval over seeds) and the paired ratio to MC-SF; ``growth``: per
        (rate, agent) the least-squares slope of mean latency against ``n`` (seconds per 1,000
        requests) and the ratio of mean latency at the largest and smallest ``n``.
    """
    by_cell: dict[tuple[float, int, str], dict[int, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        by_cell[(row["rate"], row["n"], row["agent"])][row["seed"]] = row
    cells = []
    for (rate, n, agent), seeds in sorted(
        by_cell.items(), key=lambda item: (item[0][0], item[0][1], agents.index(item[0][2]))
    ):
        base = by_cell.get((rate, n, "mcsf"), {})
        ratios = [
            row["mean_latency"] / base[s]["mean_latency"] for s, row in seeds.items() if s in base
        ]
        cells.append(
            {
                "rate": rate,
                "n": n,
                "agent": agent,
                "seeds": len(seeds),
                "mean_latency": _interval([row["mean_latency"] for row in seeds.values()]),
                "p99_latency": _interval([row["p99_latency"] for row in seeds.values()]),
                "evictions": _interval([row["evictions"] for row in seeds.values()]),
                "tokens_discarded": _interval([row["tokens_discarded"] for row in seeds.values()]),
                "ratio_to_mcsf": _interval(ratios) if ratios else None,
                "wall_time_s": float(sum(row["wall_time_s"] for row in seeds.values())),
            }
        )
    growth = []
    by_curve: dict[tuple[float, str], dict[int, list[tuple[int, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        by_curve[(row["rate"], row["agent"])][row["seed"]].append((row["n"], row["mean_latency"]))
    for (rate, agent), per_seed in sorted(
        by_curve.items(), key=lambda item: (item[0][0], agents.index(item[0][1]))
    ):
        slopes, factors = [], []
        for points in per_seed.values():
            points.sort()
            sizes = np.array([p[0] for p in points], dtype=np.float64)
            latency = np.array([p[1] for p in points], dtype=np.float64)
            if sizes.size >= 2:
                slopes.append(float(np.polyfit(sizes / 1000.0, latency, 1)[0]))
                factors.append(float(latency[-1] / latency[0]))
        if slopes:
            growth.append(
                {
                    "rate": rate,
                    "agent": agent,
                    "slope_s_per_1000": _interval(slopes),
                    "largest_over_smallest": _interval(factors),
                }
            )
    return {"cells": cells, "growth": growth}


def _fmt(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}g}" if abs(value) < 10**digits else f"{value:,.0f}"


def markdown(summary: dict[str, Any], agents: Sequence[str]) -> str:
    """The summary as Markdown tables: mean latency by n, evictions, ratio to MC-SF, growth."""
    lines: list[str] = []
    cells = summary["cells"]
    rates = sorted({cell["rate"] for cell in cells})
    sizes = sorted({cell["n"] for cell in cells})
    index = {(c["rate"], c["n"], c["agent"]): c for c in cells}
    growth = {(g["rate"], g["agent"]): g for g in summary["growth"]}
    largest = sizes[-1]
    for rate in rates:
        lines.append(f"### λ = {rate:g} requests/s: mean end-to-end latency (s), mean over seeds")
        lines.append("")
        header = ["agent", *(f"n={n}" for n in sizes), f"evictions (n={largest})"]
        header += [f"÷ MC-SF (n={largest})", "slope s/1k req"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for agent in agents:
            if (rate, largest, agent) not in index:
                continue
            last = index[(rate, largest, agent)]
            row = [f"`{agent}`"]
            row += [_fmt(index[(rate, n, agent)]["mean_latency"]["mean"]) for n in sizes]
            row.append(_fmt(last["evictions"]["mean"]))
            ratio = last["ratio_to_mcsf"]
            row.append(_fmt(ratio["mean"]) if ratio else "n/a")
            slope = growth.get((rate, agent))
            row.append(_fmt(slope["slope_s_per_1000"]["mean"]) if slope else "n/a")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.real_trace",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("results/real_trace"), help="folder")
    parser.add_argument("--agents", nargs="+", default=list(DEFAULT_AGENTS), help="agent specs")
    parser.add_argument("--rates", nargs="+", type=float, default=list(DEFAULT_RATES))
    parser.add_argument("--sizes", nargs="+", type=int, default=list(DEFAULT_SIZES))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS))
    parser.add_argument("--memory", type=int, default=16492, help="KV-cache capacity M")
    parser.add_argument("--prediction", default="exact", help="prediction model spec")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    if min(args.sizes) < 1 or min(args.rates) <= 0:
        parser.error("--sizes must be >= 1 and --rates > 0")
    if "mcsf" not in args.agents:
        parser.error("--agents must include mcsf (ratios are taken against it)")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the comparison and write ``rows.csv``, ``summary.json`` and ``summary.md``."""
    args = parse_args(argv)
    jobs = make_jobs(args.agents, args.rates, args.sizes, args.seeds, args.memory, args.prediction)
    began = time.perf_counter()
    results = run_jobs(
        jobs,
        run_trace_job,
        workers=args.workers,
        progress=not args.no_progress,
        description="real trace",
    )
    wall = time.perf_counter() - began
    rows = sorted(
        (row for result in results for row in result),
        key=lambda row: (row["rate"], row["seed"], row["n"], args.agents.index(row["agent"])),
    )
    summary = summarise(rows, args.agents)
    config = {
        "agents": args.agents,
        "rates": args.rates,
        "sizes": sorted(args.sizes),
        "seeds": args.seeds,
        "memory": args.memory,
        "prediction": args.prediction,
        "time_model": "linear",
        "workload": "lmsys (nested prefixes of one trace per rate and seed)",
    }
    write_rows(rows, args.out / "rows.csv")
    write_json(
        {
            "config": config,
            "paper_mean_latency": PAPER_MEAN_LATENCY,
            "wall_time_s": wall,
            "environment": environment(),
            **summary,
        },
        args.out / "summary.json",
    )
    table = markdown(summary, args.agents)
    (args.out / "summary.md").write_text(table + "\n")
    print(table)
    print(f"wrote {args.out}/rows.csv, summary.json, summary.md in {wall:.0f} s")
    return summary


if __name__ == "__main__":
    main()
