"""Held-out comparison of trained models with MC-SF and baselines: paired differences with CIs.

``python -m training.heldout --agents maskable-ppo:models/NAME mcsf sf-no-lookahead
--workload SPEC --seeds 100 --seed 20000`` runs every agent on the same scenarios (through
``evaluation.compare``, so a model acts exactly as ``agents.make_agent`` builds it) and prints
a Markdown table: each agent's mean latency with its 95% interval over scenarios, the paired
difference to the baseline (agent minus baseline, per scenario) with its interval, that
difference as a share of the baseline's mean, and the mean of the per-scenario ratios.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


def paired_table(
    rows: Sequence[dict[str, Any]], agents: Sequence[str], baseline: str, confidence: float = 0.95
) -> list[dict[str, float | str]]:
    """Per agent: mean latency, paired difference and ratio to ``baseline``, with intervals.

    Args:
        rows: comparison rows (``agent``, ``seed``, ``mean_latency``), one per scenario and agent.
        agents: the agents to summarise, in table order.
        baseline: the reference agent (must have a row for every scenario).
        confidence: level of the Student-t intervals.

    Raises:
        ValueError: if an agent lacks a scenario the baseline has.
    """
    from evaluation.stats import mean_ci

    latency = {(row["agent"], row["seed"]): float(row["mean_latency"]) for row in rows}
    seeds = sorted(seed for agent, seed in latency if agent == baseline)
    reference = [latency[(baseline, seed)] for seed in seeds]
    base_mean = sum(reference) / len(reference)
    table = []
    for agent in agents:
        missing = [seed for seed in seeds if (agent, seed) not in latency]
        if missing:
            raise ValueError(f"agent {agent!r} has no result for seed(s) {missing[:5]}")
        values = [latency[(agent, seed)] for seed in seeds]
        mean, low, high = mean_ci(values, confidence)
        diffs = [value - ref for value, ref in zip(values, reference, strict=True)]
        diff, diff_low, diff_high = mean_ci(diffs, confidence)
        ratios = [value / ref for value, ref in zip(values, reference, strict=True)]
        ratio, ratio_low, ratio_high = mean_ci(ratios, confidence)
        table.append(
            {
                "agent": agent,
                "scenarios": len(seeds),
                "mean_latency": mean,
                "mean_latency_low": low,
                "mean_latency_high": high,
                "difference": diff,
                "difference_low": diff_low,
                "difference_high": diff_high,
                "difference_share": diff / base_mean,
                "ratio_of_means": mean / base_mean,
                "mean_ratio": ratio,
                "mean_ratio_low": ratio_low,
                "mean_ratio_high": ratio_high,
            }
        )
    return table


def markdown(table: Sequence[dict[str, Any]], baseline: str) -> str:
    """The :func:`paired_table` as a Markdown table."""

    def interval(entry: dict[str, Any], key: str, fmt: str) -> str:
        low, high = entry[f"{key}_low"], entry[f"{key}_high"]
        return f"{entry[key]:{fmt}} [{low:{fmt}}, {high:{fmt}}]"

    lines = [
        f"| agent | mean latency [95% CI] | difference to {baseline} [95% CI] | "
        f"difference / {baseline} | ratio of means | mean per-scenario ratio [95% CI] |",
        "|---|---|---|---|---|---|",
    ]
    for entry in table:
        lines.append(
            f"| `{entry['agent']}` | {interval(entry, 'mean_latency', '.3f')} | "
            f"{interval(entry, 'difference', '+.3f')} | {entry['difference_share']:+.1%} | "
            f"{entry['ratio_of_means']:.3f} | {interval(entry, 'mean_ratio', '.3f')} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the comparison and print the Markdown table."""
    parser = argparse.ArgumentParser(
        prog="python -m training.heldout",
        description="Paired comparison of agents (trained models included) on held-out "
        "scenarios: mean latency, difference and ratio to the baseline, 95%% intervals.",
    )
    parser.add_argument("--agents", nargs="+", required=True, help="agent specs")
    parser.add_argument("--workload", required=True, help="workload spec (as in training)")
    parser.add_argument("--seeds", type=int, default=100, help="number of scenarios")
    parser.add_argument(
        "--seed",
        type=int,
        default=20_000,
        help="first seed; keep clear of the training streams (0..n_envs-1) and eval_seeds",
    )
    parser.add_argument("--baseline", default="mcsf", help="reference agent (default: mcsf)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    args = parser.parse_args(argv)
    try:
        from evaluation.compare import CompareConfig, compare

        config = CompareConfig(
            agents=tuple(args.agents),
            workload=args.workload,
            seeds=tuple(range(args.seed, args.seed + args.seeds)),
            baseline=args.baseline,
        )
        result = compare(config, workers=args.workers, progress=False)
        agents = list(dict.fromkeys([*args.agents, args.baseline]))
        print(markdown(paired_table(result.rows, agents, args.baseline), args.baseline))
    except (ValueError, ImportError) as error:
        print(f"training.heldout: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
