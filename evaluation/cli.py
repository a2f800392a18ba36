"""``mcsf-eval``: compare schedulers, compute competitive ratios, plot and report.

A thin command line over importable functions; every subcommand has ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

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


def build_parser() -> argparse.ArgumentParser:
    """The ``mcsf-eval`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="mcsf-eval",
        description="Evaluate LLM-inference schedulers under KV-cache limits (mcsf-gym).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    _compare_parser(subparsers)
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
