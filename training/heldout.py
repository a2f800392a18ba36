"""Held-out comparison of trained models with MC-SF and baselines: paired differences with CIs.

``python -m training.heldout --agents maskable-ppo:models/NAME mcsf sf-no-lookahead
--workload SPEC --seeds 100 --seed 20000`` runs every agent on the same scenarios (through
``evaluation.compare``, so a model acts exactly as ``agents.make_agent`` builds it) and prints
a Markdown table: each agent's mean latency with its 95% interval over scenarios, the paired
difference to the baseline (agent minus baseline, per scenario) with its interval, that
difference as a share of the baseline's mean, and the mean of the per-scenario ratios.

With ``--optimum-time-limit SECONDS`` (unit-time workloads only) the hindsight optimum of every
scenario is solved too (``evaluation.ratio.solve_optimum``), and each row adds the mean
per-scenario ratio of the agent's total latency to the best schedule found and to the proven
lower bound, with intervals, and the number of scenarios solved to proven optimality.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any

#: Per-row ratios to the hindsight optimum (columns of ``evaluation.compare`` rows).
OPTIMUM_RATIOS = ("ratio_to_optimum", "ratio_to_bound")


def _optimum_columns(
    rows: Sequence[dict[str, Any]], agent: str, seeds: Sequence[int], confidence: float
) -> dict[str, float | int]:
    """Mean per-scenario ratios of ``agent`` to the optimum and its bound, and the proven count.

    Scenarios whose ratio is missing (no schedule or a non-positive bound) are left out of
    that ratio's mean; ``<ratio>_scenarios`` says over how many scenarios it was taken.
    """
    from evaluation.stats import mean_ci

    by_seed = {row["seed"]: row for row in rows if row["agent"] == agent}
    columns: dict[str, float | int] = {}
    for key in OPTIMUM_RATIOS:
        values = [float(by_seed[seed][key]) for seed in seeds]
        finite = [value for value in values if math.isfinite(value)]
        if finite:
            mean, low, high = mean_ci(finite, confidence)
        else:
            mean = low = high = math.nan
        columns.update(
            {
                key: mean,
                f"{key}_low": low,
                f"{key}_high": high,
                f"{key}_scenarios": len(finite),
            }
        )
    columns["proven_optimal"] = sum(bool(by_seed[seed]["proven_optimal"]) for seed in seeds)
    return columns


def paired_table(
    rows: Sequence[dict[str, Any]], agents: Sequence[str], baseline: str, confidence: float = 0.95
) -> list[dict[str, float | str]]:
    """Per agent: mean latency, paired difference and ratio to ``baseline``, with intervals.

    When the rows hold the hindsight optimum (``ratio_to_optimum``, ``ratio_to_bound`` and
    ``proven_optimal``, as ``evaluation.compare`` adds them), each entry also holds the mean
    per-scenario ``ratio_to_optimum`` (to the best schedule found) and ``ratio_to_bound`` (to
    the proven lower bound, an upper bound on the true competitive ratio) with their
    ``_low``/``_high`` interval ends, and ``proven_optimal``, the number of scenarios whose
    optimum was proven.

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
    optimum = any(OPTIMUM_RATIOS[0] in row for row in rows)
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
        entry: dict[str, float | str] = {
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
        if optimum:
            entry.update(_optimum_columns(rows, agent, seeds, confidence))
        table.append(entry)
    return table


def markdown(table: Sequence[dict[str, Any]], baseline: str) -> str:
    """The :func:`paired_table` as a Markdown table (with the optimum columns when present)."""

    def interval(entry: dict[str, Any], key: str, fmt: str) -> str:
        low, high = entry[f"{key}_low"], entry[f"{key}_high"]
        return f"{entry[key]:{fmt}} [{low:{fmt}}, {high:{fmt}}]"

    def ratio(entry: dict[str, Any], key: str) -> str:
        text = interval(entry, key, ".3f")
        used = entry[f"{key}_scenarios"]
        return text if used == entry["scenarios"] else f"{text} (over {used} scenarios)"

    optimum = bool(table) and OPTIMUM_RATIOS[0] in table[0]
    header = (
        f"| agent | mean latency [95% CI] | difference to {baseline} [95% CI] | "
        f"difference / {baseline} | ratio of means | mean per-scenario ratio [95% CI] |"
    )
    rule = "|---|---|---|---|---|---|"
    if optimum:
        header += (
            " ratio to best schedule found [95% CI] |"
            " ratio to proven bound (upper bound on the true ratio) [95% CI] |"
            " proven optimal |"
        )
        rule += "---|---|---|"
    lines = [header, rule]
    for entry in table:
        line = (
            f"| `{entry['agent']}` | {interval(entry, 'mean_latency', '.3f')} | "
            f"{interval(entry, 'difference', '+.3f')} | {entry['difference_share']:+.1%} | "
            f"{entry['ratio_of_means']:.3f} | {interval(entry, 'mean_ratio', '.3f')} |"
        )
        if optimum:
            line += (
                f" {ratio(entry, 'ratio_to_optimum')} | {ratio(entry, 'ratio_to_bound')} |"
                f" {entry['proven_optimal']}/{entry['scenarios']} |"
            )
        lines.append(line)
    return "\n".join(lines)


def optimum_legend(time_limit: float) -> str:
    """What the optimum columns of :func:`markdown` mean, for printing under the table."""
    return (
        "Ratios to the hindsight optimum (docs/model.md section 6) are per scenario: the agent's "
        "total latency over that scenario's optimum, averaged over scenarios. 'Best schedule "
        "found' is the true competitive ratio on scenarios proven optimal and a lower estimate "
        "elsewhere; the ratio to the proven lower bound is always an upper bound on the true "
        f"ratio. Solver time limit: {time_limit:g} s per scenario."
    )


def require_unit_time(workload: str, seed: int) -> None:
    """Check that ``workload`` runs in unit time, where the hindsight optimum is defined.

    Raises:
        ValueError: naming the workload and its time model, if that is not ``"unit"``.
    """
    import numpy as np

    from mcsf_gym.workloads import make_workload

    time_model = make_workload(workload).sample(np.random.default_rng(seed)).time_model
    if time_model != "unit":
        raise ValueError(
            f"--optimum-time-limit: the hindsight optimum, and so the competitive ratio, is "
            f"not defined ({time_model} time) for workload {workload!r} (time model "
            f"{time_model!r}); use a unit-time workload (paper-model1, paper-model2, "
            "adversarial-style)"
        )


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of ``python -m training.heldout``."""
    parser = argparse.ArgumentParser(
        prog="python -m training.heldout",
        description="Paired comparison of agents (trained models included) on held-out "
        "scenarios: mean latency, difference and ratio to the baseline, 95% intervals; "
        "optionally the competitive ratio against the hindsight optimum (unit time only).",
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
    parser.add_argument(
        "--optimum-time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="also solve the hindsight optimum of every scenario with this solver time limit "
        "and add each agent's mean ratio to the best schedule found and to the proven lower "
        "bound, with 95%% intervals, and the count of proven-optimal scenarios (unit-time "
        "workloads only: in linear time the optimum is not defined)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="solver threads per scenario for --optimum-time-limit (default: 1)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the comparison and print the Markdown table."""
    args = build_parser().parse_args(argv)
    try:
        from evaluation.compare import CompareConfig, compare

        config = CompareConfig(
            agents=tuple(args.agents),
            workload=args.workload,
            seeds=tuple(range(args.seed, args.seed + args.seeds)),
            baseline=args.baseline,
            optimum_time_limit=args.optimum_time_limit,
            threads=args.threads,
        )
        if args.optimum_time_limit is not None:
            require_unit_time(args.workload, args.seed)
        result = compare(config, workers=args.workers, progress=False)
        agents = list(dict.fromkeys([*args.agents, args.baseline]))
        print(markdown(paired_table(result.rows, agents, args.baseline), args.baseline))
        if args.optimum_time_limit is not None:
            print()
            print(optimum_legend(args.optimum_time_limit))
    except (ValueError, ImportError) as error:
        print(f"training.heldout: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
