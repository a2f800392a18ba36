"""``mcsf-eval``: compare schedulers, compute competitive ratios, plot and report.

A thin command line over importable functions; every subcommand has ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evaluation.compare import SUMMARY_METRICS, CompareConfig, compare
from evaluation.io import FORMATS, format_table, read_json, write_json, write_rows

DEFAULT_AGENTS = ("mcsf", "mc-benchmark", "vllm-fcfs")
DEFAULT_WORKLOAD = "lmsys:n=1000"


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: all CPUs; 1 runs in this process)",
    )
    parser.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="where jobs run: a local process pool, or a Ray cluster (needs mcsf-gym[ray])",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="Ray cluster address for --backend ray ('auto' joins a running cluster; "
        "default starts a local Ray instance)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _compare_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="run agents on a workload over seeds and rates; print and save a table",
        description=(
            "Run every agent on the same scenarios (one per rate and seed) and summarise mean, "
            "p50 and p99 latency, time to first token, throughput, evictions and memory use, "
            "with confidence intervals over seeds and the paired ratio of mean latency to the "
            "baseline agent. Writes rows.csv, summary.csv and summary.json (the full "
            "configuration, package version and seeds) into --out."
        ),
    )
    parser.add_argument(
        "--agents",
        nargs="+",
        default=list(DEFAULT_AGENTS),
        metavar="SPEC",
        help="agent specs, space separated, e.g. mcsf alpha-beta:alpha=0.1,beta=0.1 "
        "ppo:models/policy.zip (default: %(default)s)",
    )
    parser.add_argument(
        "--workload",
        default=DEFAULT_WORKLOAD,
        help="workload spec, e.g. lmsys:n=1000, paper-model2, trace:path=trace.csv "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--seeds", type=int, default=5, help="number of scenarios per rate (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="first seed (default: %(default)s)")
    parser.add_argument(
        "--rates",
        type=float,
        nargs="*",
        default=[],
        help="arrival rates (requests/s) to sweep; each sets the workload's rate parameter",
    )
    parser.add_argument(
        "--baseline", default="mcsf", help="agent that ratios refer to (default: %(default)s)"
    )
    parser.add_argument("--memory", default=None, help="override M (tokens or a preset name)")
    parser.add_argument(
        "--time-model", default=None, help="override the time model (unit or linear)"
    )
    parser.add_argument(
        "--eviction",
        default=None,
        help="override every agent's eviction policy (clear-all, random:beta=B, newest-first)",
    )
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="confidence level (default: %(default)s)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="repeat a run: read the configuration from a summary.json written earlier "
        "(other options except --out and run options are ignored)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results/compare"),
        help="output folder (default: %(default)s)",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="csv", help="format of the rows file (default: csv)"
    )
    _add_run_options(parser)
    parser.set_defaults(handler=run_compare)


def _config_from(args: argparse.Namespace) -> CompareConfig:
    if args.config is not None:
        saved = read_json(args.config)["config"]
        return CompareConfig(
            **{
                key: tuple(value) if isinstance(value, list) else value
                for key, value in saved.items()
            }
        )
    memory = args.memory
    if memory is not None and memory.isdigit():
        memory = int(memory)
    return CompareConfig(
        agents=tuple(args.agents),
        workload=args.workload,
        seeds=tuple(range(args.seed, args.seed + args.seeds)),
        rates=tuple(args.rates),
        baseline=args.baseline,
        memory=memory,
        time_model=args.time_model,
        eviction=args.eviction,
        confidence=args.confidence,
    )


def run_compare(args: argparse.Namespace) -> int:
    """The ``compare`` subcommand."""
    config = _config_from(args)
    result = compare(
        config,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        progress=not args.no_progress,
    )
    rows_path = write_rows(result.rows, args.out / "rows", args.format)
    np.savez_compressed(args.out / "latencies.npz", **result.latencies)
    write_rows(result.summary, args.out / "summary", "csv")
    write_json(
        {"command": "compare", "config": config.to_dict(), "summary": result.summary},
        args.out / "summary.json",
    )
    ratio = f"ratio_to_{config.baseline}"
    columns = [
        "agent",
        *(["rate"] if config.rates else []),
        *SUMMARY_METRICS[:5],
        "evictions",
        ratio,
    ]
    print(format_table(result.summary, columns))
    print(f"\nwrote {rows_path}, {args.out / 'summary.csv'}, {args.out / 'summary.json'}")
    return 0


def _ratio_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ratio",
        help="competitive ratios of agents against the hindsight optimum (unit time)",
        description=(
            "Draw instances of unit-time workloads, run the agents, solve the hindsight integer "
            "program with a time limit, and summarise the ratio of each agent's total latency "
            "to the optimum: average, best and worst, how many instances were solved exactly, "
            "and solve times. 'ratio' divides by the best schedule found (the true ratio when "
            "proven optimal); 'ratio_upper' divides by the proven lower bound (an upper bound on "
            "the true ratio). --paper reproduces the paper's synthetic table: 200 instances "
            "each of arrival models 1 and 2, MC-SF against the optimum."
        ),
    )
    parser.add_argument(
        "--workloads",
        nargs="+",
        default=["paper-model1", "paper-model2"],
        metavar="SPEC",
        help="unit-time workload specs (default: %(default)s)",
    )
    parser.add_argument(
        "--agents", nargs="+", default=["mcsf"], metavar="SPEC", help="agent specs (default: mcsf)"
    )
    parser.add_argument(
        "--instances", type=int, default=20, help="instances per workload (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="first seed (default: %(default)s)")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        help="solver time limit per instance in seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="solver threads per instance (default: 1)"
    )
    parser.add_argument(
        "--paper",
        action="store_true",
        help="the paper's table: 200 instances of paper-model1 and paper-model2, agent mcsf",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results/ratio"),
        help="output folder (default: %(default)s)",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="csv", help="format of the rows file (default: csv)"
    )
    _add_run_options(parser)
    parser.set_defaults(handler=run_ratio)


def run_ratio(args: argparse.Namespace) -> int:
    """The ``ratio`` subcommand."""
    from evaluation.ratio import PAPER_TABLE, RatioConfig, ratio_sweep

    if args.paper:
        args.workloads, args.agents, args.instances = (
            ["paper-model1", "paper-model2"],
            ["mcsf"],
            200,
        )
    config = RatioConfig(
        workloads=tuple(args.workloads),
        seeds=tuple(range(args.seed, args.seed + args.instances)),
        agents=tuple(args.agents),
        time_limit=args.time_limit,
        threads=args.threads,
    )
    rows, summary = ratio_sweep(
        config,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        progress=not args.no_progress,
    )
    rows_path = write_rows(rows, args.out / "rows", args.format)
    write_rows(summary, args.out / "summary", "csv")
    write_json(
        {"command": "ratio", "config": config.to_dict(), "summary": summary, "paper": PAPER_TABLE},
        args.out / "summary.json",
    )
    columns = [
        "workload", "agent", "instances", "proven_optimal", "average", "best", "worst",
        "worst_upper", "equals_optimum", "median_solve_time_s", "max_solve_time_s",
    ]  # fmt: skip
    print(format_table(summary, columns))
    print(f"\nwrote {rows_path}, {args.out / 'summary.csv'}, {args.out / 'summary.json'}")
    return 0


PLOT_KINDS = ("rate", "cdf", "ratios", "timeline")


def _plot_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="PNG figures from saved results (or of one run, for 'timeline')",
        description=(
            "rate: mean latency against arrival rate per agent, from a compare run with --rates. "
            "cdf: latency CDFs per agent, from a compare run (its first seed, each rate). "
            "ratios: the distribution of ratios to the optimum, from a ratio run. "
            "timeline: memory use, queue length and a Gantt chart of one simulated run "
            "(--workload, --agent, --seed)."
        ),
    )
    parser.add_argument("kind", choices=PLOT_KINDS, help="which figure")
    parser.add_argument(
        "--results", type=Path, default=None, help="folder written by compare or ratio"
    )
    parser.add_argument(
        "--workload", default="paper-model2", help="timeline: workload spec (default: %(default)s)"
    )
    parser.add_argument("--agent", default="mcsf", help="timeline: agent spec (default: mcsf)")
    parser.add_argument("--seed", type=int, default=0, help="timeline: scenario seed (default: 0)")
    parser.add_argument(
        "--out", type=Path, default=None, help="PNG path (default: <results or .>/<kind>.png)"
    )
    parser.set_defaults(handler=run_plot)


def _need_results(args: argparse.Namespace) -> Path:
    if args.results is None:
        raise ValueError(f"plot {args.kind} needs --results (a folder written by compare/ratio)")
    return args.results


def run_plot(args: argparse.Namespace) -> int:
    """The ``plot`` subcommand."""
    from evaluation import plots

    out = args.out or (args.results or Path(".")) / f"{args.kind}.png"
    if args.kind != "timeline":
        path = plots.plot_results(args.kind, _need_results(args), out)
    else:
        from agents import make_agent, run_agent
        from mcsf_gym.workloads import make_workload

        scenario = make_workload(args.workload).sample(np.random.default_rng(args.seed))
        result = run_agent(
            scenario.instance,
            make_agent(args.agent),
            memory=scenario.memory,
            time_model=scenario.time_model,
            seed=args.seed,
            record=True,
        )
        path = plots.plot_timeline(result, out)
    print(f"wrote {path}")
    return 0


def _report_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="a Markdown report of saved compare/ratio results and their figures",
        description=(
            "Collect the summaries of compare and ratio runs (folders with summary.json) into "
            "one Markdown file with tables, drawing the figures that the saved results allow."
        ),
    )
    parser.add_argument("results", type=Path, nargs="+", help="folders written by compare or ratio")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results/report.md"),
        help="Markdown file (default: %(default)s)",
    )
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    """The ``report`` subcommand."""
    from evaluation.report import write_report

    path = write_report(args.results, args.out)
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``mcsf-eval`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="mcsf-eval",
        description="Evaluate LLM-inference schedulers under KV-cache limits (mcsf-gym).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    _compare_parser(subparsers)
    _ratio_parser(subparsers)
    _plot_parser(subparsers)
    _report_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mcsf-eval``; user errors print one line and exit with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, ImportError, FileNotFoundError) as error:
        print(f"mcsf-eval {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
