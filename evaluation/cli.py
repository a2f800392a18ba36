"""``mcsf-eval``: compare schedulers, compute competitive ratios, plot and report.

A thin command line over importable functions (:mod:`evaluation.compare`,
:mod:`evaluation.ratio`, :mod:`evaluation.plots`, :mod:`evaluation.report`); every subcommand
has ``--help``. Mistakes in the input (an unknown agent or workload, a malformed trace, a
missing file) print one line ``mcsf-eval: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import mcsf_gym
from evaluation.io import (
    FORMATS,
    LATENCIES_NPZ,
    SUMMARY_JSON,
    environment,
    format_table,
    read_config,
    write_json,
    write_latencies,
    write_rows,
)
from evaluation.outputs import check_output_dir, check_output_file, folder_lock

#: Defaults of ``compare``, applied unless an option or a ``--config`` file says otherwise.
COMPARE_DEFAULTS: dict[str, Any] = {
    "agents": ["mcsf", "mc-benchmark", "vllm-fcfs"],
    "workload": "lmsys:n=1000",
    "seeds": 5,
    "seed": 0,
    "rates": [],
    "baseline": "mcsf",
    "memory": None,
    "time_model": None,
    "eviction": None,
    "confidence": 0.95,
    "optimum": False,
    "time_limit": 60.0,
    "threads": 1,
}
#: Defaults of ``ratio``.
RATIO_DEFAULTS: dict[str, Any] = {
    "workloads": ["paper-model1", "paper-model2"],
    "agents": ["mcsf"],
    "instances": 20,
    "seed": 0,
    "time_limit": 60.0,
    "threads": 1,
    "solver": "auto",
}
PLOT_KINDS = ("rate", "cdf", "ratios", "timeline", "all")


def _names(kind: str) -> str:
    """The registered agent or workload names, for help texts."""
    if kind == "agent":
        from agents import AGENTS

        return ", ".join(AGENTS.names())
    from mcsf_gym.workloads import WORKLOADS

    return ", ".join(WORKLOADS.names())


def _default(defaults: dict[str, Any], key: str) -> str:
    value = defaults[key]
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where jobs run")
    group.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="local worker processes (default: all CPUs; 1 runs in this process). With "
        "--backend ray and no --address: the CPUs of the local Ray instance (default: all)",
    )
    group.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="'local': a process pool on this machine (default); 'ray': Ray tasks (needs "
        "pip install 'mcsf-gym[ray]')",
    )
    group.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="Ray cluster to use with --backend ray: 'auto' joins a running cluster, "
        "'ray://HOST:10001' a remote one (default: start a local Ray instance and stop it after)",
    )
    group.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar (shown on stderr)"
    )


def _add_output_options(parser: argparse.ArgumentParser, default_out: str) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "--out",
        type=Path,
        default=Path(default_out),
        metavar="DIR",
        help="results folder, created if missing; files in it are replaced "
        f"(default: {default_out})",
    )
    group.add_argument(
        "--format",
        choices=FORMATS,
        default="csv",
        help="format of the rows file: csv (default) or parquet (needs pandas and pyarrow); "
        "summary.csv and summary.json are always written",
    )


def _compare_parser(subparsers: argparse._SubParsersAction) -> None:
    d = COMPARE_DEFAULTS
    parser = subparsers.add_parser(
        "compare",
        help="run agents on a workload over seeds and rates; print and save a table",
        description=(
            "Run every agent on the same scenarios (one per rate and seed) and summarise mean, "
            "p50 and p99 latency, time to first token, throughput, evictions and KV-cache use "
            "with confidence intervals over seeds, the paired ratio of mean latency to the "
            "baseline agent, and optionally the ratio to the hindsight optimum. Writes "
            "rows.csv (one row per scenario and agent), summary.csv, latencies.npz (every "
            "request's latency) and summary.json (the full configuration, package version, "
            "seeds and summary) into --out. 'mcsf-eval compare --config DIR/summary.json' "
            "repeats a run exactly."
        ),
        epilog=(
            "example: mcsf-eval compare --agents mcsf vllm-fcfs --workload lmsys:n=500 "
            "--rates 5 10 20 --seeds 5 --out results/lmsys"
        ),
    )
    what = parser.add_argument_group("what to run")
    what.add_argument(
        "--agents",
        nargs="+",
        default=None,
        metavar="SPEC",
        help="agent specs, space separated: a name with optional parameters "
        "(alpha-beta:alpha=0.1,beta=0.1) or a trained model (ppo:PATH, maskable-ppo:PATH). "
        f"Known names: {_names('agent')} (default: {_default(d, 'agents')})",
    )
    what.add_argument(
        "--workload",
        default=None,
        metavar="SPEC",
        help="workload spec NAME[:key=value,...], e.g. lmsys:n=200,rate=10, paper-model2:n=50, "
        "trace:path=trace.csv,n=500. Known names: "
        f"{_names('workload')} (default: {d['workload']})",
    )
    what.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help=f"number of scenarios per rate, seeds SEED..SEED+N-1 (default: {d['seeds']})",
    )
    what.add_argument("--seed", type=int, default=None, help=f"first seed (default: {d['seed']})")
    what.add_argument(
        "--rates",
        type=float,
        nargs="+",
        default=None,
        metavar="RATE",
        help="arrival rates to sweep; each replaces the workload's rate parameter "
        "(requests/s; requests/round for paper-model2) (default: the workload's own rate)",
    )
    what.add_argument(
        "--baseline",
        default=None,
        metavar="SPEC",
        help="agent that the latency ratio refers to; it runs even when not in --agents "
        f"(default: {d['baseline']})",
    )
    what.add_argument(
        "--memory",
        default=None,
        metavar="M",
        help="override the workload's KV-cache capacity: tokens or a preset name such as "
        "paper-llama2-70b (default: the workload's)",
    )
    what.add_argument(
        "--time-model",
        default=None,
        metavar="SPEC",
        help="override the workload's time model: unit or linear (default: the workload's)",
    )
    what.add_argument(
        "--eviction",
        default=None,
        metavar="SPEC",
        help="override every agent's eviction policy: clear-all, random, random:beta=0.2, "
        "newest-first (default: each agent's own)",
    )
    what.add_argument(
        "--optimum",
        action="store_true",
        default=None,
        help="also solve the hindsight optimum of every scenario (unit-time workloads only; "
        "needs mcsf-gym[solvers]) and report ratios to it and to its proven bound",
    )
    what.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"solver time limit per scenario for --optimum (default: {d['time_limit']})",
    )
    what.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help=f"solver threads per scenario for --optimum (default: {d['threads']})",
    )
    what.add_argument(
        "--confidence",
        type=float,
        default=None,
        metavar="LEVEL",
        help=f"level of the confidence intervals, in (0, 1) (default: {d['confidence']})",
    )
    what.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="take the configuration from FILE: a summary.json written by an earlier compare "
        "(repeats that run exactly), or a .json/.toml file with the keys of summary.json's "
        "'config'. Options given on the command line replace the file's values",
    )
    _add_output_options(parser, "results/compare")
    _add_run_options(parser)
    parser.set_defaults(handler=run_compare)


def _seeds(
    saved: list[int] | None,
    first: int | None,
    count: int | None,
    option: str,
    defaults: dict[str, Any],
) -> list[int]:
    """The seeds ``first .. first + count - 1`` of a run.

    What is not given comes from ``saved`` (a configuration file's seeds), else from
    ``defaults`` (``seed`` and ``seeds``); ``saved`` is kept as it is when neither is given.
    """
    if saved is not None and first is None and count is None:
        return list(saved)
    if first is None:
        first = saved[0] if saved else defaults["seed"]
    if count is None:
        count = len(saved) if saved else defaults["seeds"]
    if count < 1:
        raise ValueError(f"{option} must be >= 1, got {count}")
    return list(range(first, first + count))


def _compare_config(args: argparse.Namespace) -> Any:
    """The :class:`CompareConfig` of the options, on top of ``--config`` if given."""
    from evaluation.compare import CompareConfig

    values: dict[str, Any] = {}
    if args.config is not None:
        values = dict(read_config(args.config, "compare"))
    given = {key for key in COMPARE_DEFAULTS if getattr(args, key) is not None}
    values["seeds"] = _seeds(
        values.get("seeds"), args.seed, args.seeds, "--seeds", COMPARE_DEFAULTS
    )
    if args.optimum:
        values["optimum_time_limit"] = (
            args.time_limit or values.get("optimum_time_limit") or COMPARE_DEFAULTS["time_limit"]
        )
    elif args.time_limit is not None:
        if values.get("optimum_time_limit") is None:
            raise ValueError("--time-limit is the solver's limit for --optimum; add --optimum")
        values["optimum_time_limit"] = args.time_limit
    for key in ("agents", "workload", "rates", "baseline", "memory", "time_model", "eviction",
                "confidence", "threads"):  # fmt: skip
        if key in given or key not in values:
            value = getattr(args, key) if key in given else COMPARE_DEFAULTS[key]
            values[key] = list(value) if isinstance(value, list) else value
    if isinstance(values["memory"], str) and values["memory"].isdigit():
        values["memory"] = int(values["memory"])
    return CompareConfig.from_dict(values)


def run_compare(args: argparse.Namespace) -> int:
    """The ``compare`` subcommand: run, print the table, write the results folder."""
    from evaluation.compare import compare, summary_table

    config = _compare_config(args)
    if args.config is not None:
        _warn_version(args.config)
    out: Path = check_output_dir(args.out)
    result = compare(
        config,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        progress=not args.no_progress,
    )
    with folder_lock(out):
        rows_path = write_rows(result.rows, out / "rows", args.format)
        write_latencies(result.latencies, out / LATENCIES_NPZ)
        write_rows(result.summary, out / "summary", "csv")
        write_json(
            {
                "command": "compare",
                "config": config.to_dict(),
                "rows_file": rows_path.name,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "environment": environment(),
                "repeat": f"mcsf-eval compare --config {out / SUMMARY_JSON}",
                "summary": result.summary,
            },
            out / SUMMARY_JSON,
        )
    print(summary_table(result.summary, config.baseline, config.confidence))
    print(
        f"\nwrote {rows_path}, {out / 'summary.csv'}, {out / LATENCIES_NPZ}, {out / SUMMARY_JSON}"
    )
    print(f"repeat with: mcsf-eval compare --config {out / SUMMARY_JSON}")
    return 0


def _warn_version(path: Path) -> None:
    """Warn when a saved run was made with another package version."""
    if path.suffix != ".json":
        return
    from evaluation.io import read_json

    saved = read_json(path).get("mcsf_gym_version")
    if saved is not None and saved != mcsf_gym.__version__:
        print(
            f"mcsf-eval: warning: {path} was written by mcsf-gym {saved}; this is "
            f"{mcsf_gym.__version__}, so results may differ",
            file=sys.stderr,
        )


def _ratio_parser(subparsers: argparse._SubParsersAction) -> None:
    d = RATIO_DEFAULTS
    parser = subparsers.add_parser(
        "ratio",
        help="competitive ratios of agents against the hindsight optimum (unit time)",
        description=(
            "Draw instances of unit-time workloads, run the agents, solve the hindsight integer "
            "program with a time limit, replay the solver's schedule in the simulator, and "
            "summarise the ratio of each agent's total latency to the optimum: average, best "
            "and worst, how many instances were solved exactly, and solve times. 'ratio' "
            "divides by the best schedule found (the true ratio when proven optimal); "
            "'ratio_upper' divides by the proven lower bound (an upper bound on the true "
            "ratio). Writes rows.csv, summary.csv and summary.json into --out."
        ),
        epilog="example: mcsf-eval ratio --workloads paper-model1:n=12 --instances 10 "
        "--time-limit 10 --out results/ratio",
    )
    what = parser.add_argument_group("what to run")
    what.add_argument(
        "--workloads",
        nargs="+",
        default=None,
        metavar="SPEC",
        help="unit-time workload specs (paper-model1, paper-model2, adversarial-style, with "
        f"parameters such as paper-model1:n=12) (default: {_default(d, 'workloads')})",
    )
    what.add_argument(
        "--agents",
        nargs="+",
        default=None,
        metavar="SPEC",
        help=f"agent specs; known names: {_names('agent')} (default: mcsf)",
    )
    what.add_argument(
        "--instances",
        type=int,
        default=None,
        metavar="N",
        help=f"instances per workload, seeds SEED..SEED+N-1 (default: {d['instances']})",
    )
    what.add_argument("--seed", type=int, default=None, help="first seed (default: 0)")
    what.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"solver time limit per instance (default: {d['time_limit']})",
    )
    what.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="solver threads per instance (default: 1)",
    )
    what.add_argument(
        "--solver",
        choices=("auto", "highs", "cpsat"),
        default=None,
        help="integer-program backend after the search and the relaxation: HiGHS (highspy) "
        "or OR-Tools CP-SAT; auto = HiGHS (default: auto)",
    )
    what.add_argument(
        "--paper",
        action="store_true",
        help="the paper's table: 200 instances each of paper-model1 and paper-model2, agent "
        "mcsf (overrides --workloads, --agents and --instances; takes hours at the default "
        "time limit)",
    )
    what.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="take the configuration from a summary.json written by an earlier ratio run "
        "(or a .json/.toml with its 'config' keys); options given replace the file's values",
    )
    _add_output_options(parser, "results/ratio")
    _add_run_options(parser)
    parser.set_defaults(handler=run_ratio)


def _ratio_config(args: argparse.Namespace) -> Any:
    from evaluation.ratio import RatioConfig

    values: dict[str, Any] = {}
    if args.config is not None:
        values = dict(read_config(args.config, "ratio"))
    if args.paper:
        args.workloads, args.agents, args.instances = (
            ["paper-model1", "paper-model2"],
            ["mcsf"],
            200,
        )
    defaults = {"seed": RATIO_DEFAULTS["seed"], "seeds": RATIO_DEFAULTS["instances"]}
    values["seeds"] = _seeds(
        values.get("seeds"), args.seed, args.instances, "--instances", defaults
    )
    for key in ("workloads", "agents", "time_limit", "threads", "solver"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
        values.setdefault(key, RATIO_DEFAULTS[key])
    known = {"workloads", "seeds", "agents", "time_limit", "threads", "solver"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown ratio configuration keys {unknown}; known keys: {sorted(known)}")
    return RatioConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def run_ratio(args: argparse.Namespace) -> int:
    """The ``ratio`` subcommand."""
    from evaluation.ratio import PAPER_TABLE, check_ratio_config, ratio_sweep

    config = _ratio_config(args)
    if args.config is not None:
        _warn_version(args.config)
    check_ratio_config(config)
    out: Path = check_output_dir(args.out)
    rows, summary = ratio_sweep(
        config,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        progress=not args.no_progress,
    )
    with folder_lock(out):
        rows_path = write_rows(rows, out / "rows", args.format)
        write_rows(summary, out / "summary", "csv")
        write_json(
            {
                "command": "ratio",
                "config": config.to_dict(),
                "rows_file": rows_path.name,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "environment": environment(),
                "repeat": f"mcsf-eval ratio --config {out / SUMMARY_JSON}",
                "summary": summary,
                "paper": PAPER_TABLE,
            },
            out / SUMMARY_JSON,
        )
    columns = [
        "workload", "agent", "instances", "proven_optimal", "unsolved", "replay_exact",
        "average", "best", "worst", "worst_upper", "equals_optimum", "median_solve_time_s",
    ]  # fmt: skip
    print(format_table(summary, columns))
    print(
        "\nratio: total latency / best schedule found (the true ratio where proven optimal); "
        "worst_upper: / proven lower bound (an upper bound on the true ratio)"
    )
    print(f"\nwrote {rows_path}, {out / 'summary.csv'}, {out / SUMMARY_JSON}")
    return 0


def _plot_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="PNG figures from saved results (and of one run, for 'timeline')",
        description=(
            "rate: mean latency against arrival rate per agent with confidence bands (a "
            "compare run with --rates). cdf: latency CDFs per agent, all seeds pooled, at one "
            "rate (a compare run). ratios: the distribution of ratios to the hindsight optimum "
            "(a ratio run, or a compare run with --optimum). timeline: KV-cache use, queue "
            "length and a Gantt chart of one run, re-simulated exactly from a compare run's "
            "configuration (--results, --agent, --seed, --rate) or from --workload. all: every "
            "figure the results folder allows."
        ),
        epilog="example: mcsf-eval plot rate --results results/lmsys --out rate.png",
    )
    parser.add_argument("kind", choices=PLOT_KINDS, help="which figure: " + ", ".join(PLOT_KINDS))
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        metavar="DIR",
        help="results folder written by compare or ratio (needed by all kinds but a "
        "timeline from --workload)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="PATH",
        help="PNG file to write (for 'all': a folder) (default: <results or .>/<kind>.png)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="cdf and timeline: which rate of a compare run (default: the highest)",
    )
    parser.add_argument(
        "--agent",
        default=None,
        metavar="SPEC",
        help="timeline: agent spec (default: the compare run's baseline, else mcsf)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="timeline: scenario seed (default: the compare run's first seed, else 0)",
    )
    parser.add_argument(
        "--workload",
        default=None,
        metavar="SPEC",
        help="timeline without --results: workload spec (default: paper-model2)",
    )
    parser.add_argument(
        "--max-requests",
        type=int,
        default=200,
        metavar="N",
        help="timeline: draw the Gantt chart for the first N requests (default: 200)",
    )
    parser.set_defaults(handler=run_plot)


def run_plot(args: argparse.Namespace) -> int:
    """The ``plot`` subcommand."""
    from evaluation import plots

    if args.out is not None:
        if args.kind == "all":
            check_output_dir(args.out)
        else:
            check_output_file(args.out)
    if args.kind == "timeline":
        path = plots.timeline_figure(
            args.out or (args.results or Path(".")) / "timeline.png",
            results=args.results,
            workload=args.workload,
            agent=args.agent,
            seed=args.seed,
            rate=args.rate,
            max_requests=args.max_requests,
        )
        print(f"wrote {path}")
        return 0
    if args.results is None:
        raise ValueError(
            f"plot {args.kind} needs --results DIR (a folder written by compare/ratio)"
        )
    if args.kind == "all":
        for path in plots.plot_all(args.results, args.out or args.results).values():
            print(f"wrote {path}")
        return 0
    path = plots.plot_results(
        args.kind, args.results, args.out or args.results / f"{args.kind}.png", rate=args.rate
    )
    print(f"wrote {path}")
    return 0


def _report_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="a Markdown report of saved compare/ratio results with their figures",
        description=(
            "Collect the summaries of compare and ratio runs (folders with summary.json) into "
            "one Markdown file: per folder, its configuration, the command that repeats it, "
            "its table and every figure its results allow (PNGs written beside the report)."
        ),
        epilog="example: mcsf-eval report results/lmsys results/ratio --out results/report.md",
    )
    parser.add_argument(
        "results", type=Path, nargs="+", metavar="DIR", help="folders written by compare or ratio"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results/report.md"),
        metavar="FILE",
        help="Markdown file to write; figures go beside it (default: results/report.md)",
    )
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    """The ``report`` subcommand."""
    from evaluation.report import write_report

    path = write_report(args.results, check_output_file(args.out))
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``mcsf-eval`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="mcsf-eval",
        description="Evaluate LLM-inference schedulers under KV-cache limits (mcsf-gym "
        f"{mcsf_gym.__version__}). Run 'mcsf-eval COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"mcsf-gym {mcsf_gym.__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _compare_parser(subparsers)
    _ratio_parser(subparsers)
    _plot_parser(subparsers)
    _report_parser(subparsers)
    from evaluation.bench_cli import add_bench_parser

    add_bench_parser(subparsers)
    return parser


def _error_line(error: Exception) -> None:
    message = " ".join(str(error).split()) or type(error).__name__
    print(f"mcsf-eval: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mcsf-eval``; a user error prints one line and returns status 2.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 2 for a user error (argparse's own errors exit with 2
        through ``SystemExit``), 1 when an agent fails on a scenario (the line names the agent,
        workload and seed), 130 when interrupted.
    """
    from evaluation.runner import RunError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, ImportError) as error:
        _error_line(error)
        return 2
    except RunError as error:
        _error_line(error)
        return 1
    except KeyboardInterrupt:
        print("mcsf-eval: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
