"""``mcsf-eval bench``: scorecards of several agents on a suite, resumable, local or Ray.

One job per (agent, task) runs every evaluation scenario of the task
(:func:`evaluation.bench.run_task`); its rows are saved in ``OUT/runs/AGENT/TASK.json`` as
soon as it finishes, and a rerun with the same suite and agent loads them instead of running
again (delete the folder, or pass ``--fresh``, to recompute). Then ``OUT`` receives
``scorecard.csv`` (one row per agent and task), ``scenarios.csv`` (one row per scenario),
``scorecard.json`` (configuration and scorecards), ``scorecard.md``, ``scorecard.png`` and
``config.json`` (what ``--config`` takes to repeat the run).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from evaluation.bench import NotApplicable, Scorecard, build_scorecard, run_task
from evaluation.bench_report import write_outputs
from evaluation.outputs import check_output_dir, folder_lock
from mcsf_gym.suites import load_reference, load_suite


@dataclass(frozen=True)
class BenchJob:
    """One agent on every evaluation scenario of one task.

    Args:
        suite: suite name or file.
        task: task name.
        agent: agent spec.
    """

    suite: str
    task: str
    agent: str


def run_bench_job(job: BenchJob) -> dict[str, Any]:
    """``{"job": ..., "rows": [...]}`` for one job (picklable, for worker processes)."""
    task = load_suite(job.suite).task(job.task)
    try:
        rows = run_task(task, job.agent, load_reference(task), job.agent)
    except NotApplicable as error:
        return {"job": asdict(job), "rows": [], "note": str(error)}
    return {"job": asdict(job), "rows": rows, "note": ""}


def run_and_save(job: BenchJob, out: str) -> dict[str, Any]:
    """:func:`run_bench_job`, saving its result under ``out/runs`` at once (for resuming)."""
    result = run_bench_job(job)
    path = cache_path(Path(out), job)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result) + "\n")
    return result


def _slug(spec: str) -> str:
    """A folder name for an agent spec."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", spec).strip("_") or "agent"


def cache_path(out: Path, job: BenchJob) -> Path:
    """Where a job's rows are kept between runs."""
    return out / "runs" / _slug(job.agent) / f"{job.task}.json"


def _cached(out: Path, job: BenchJob) -> dict[str, Any] | None:
    path = cache_path(out, job)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return data if data.get("job") == asdict(job) else None


def bench(
    agents: list[str],
    suite: str = "core-v1",
    out: Path = Path("results/bench"),
    *,
    tasks: list[str] | None = None,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    fresh: bool = False,
    plot: bool = True,
) -> list[Scorecard]:
    """Scorecards of ``agents`` on ``suite``, written into ``out`` (see the module docstring).

    Raises:
        ValueError: for an unknown suite, task or agent, or missing reference data.
        FileNotFoundError: for a missing trace file.
    """
    from agents import make_agent
    from evaluation.runner import run_jobs

    loaded = load_suite(suite)
    selected = loaded.select(tasks)
    for spec in agents:
        make_agent(spec)
    for task in selected:
        load_reference(task)
        task.make_workload()
    if len(set(agents)) != len(agents):
        raise ValueError(f"--agents lists an agent twice: {agents}")
    out = check_output_dir(out)
    jobs = [BenchJob(suite, task.name, spec) for spec in agents for task in selected]
    done = {} if fresh else {job: _cached(out, job) for job in jobs}
    todo = [job for job in jobs if done.get(job) is None]

    results = run_jobs(
        todo,
        partial(run_and_save, out=str(out)),
        backend=backend,
        workers=workers,
        address=address,
        progress=progress,
        description="bench",
    )
    for result in results:
        done[BenchJob(**result["job"])] = result
    cards = []
    for spec in agents:
        saved = {task.name: done[BenchJob(suite, task.name, spec)] for task in selected}
        rows = {name: result["rows"] for name, result in saved.items()}
        notes = {name: result.get("note", "") for name, result in saved.items()}
        cards.append(build_scorecard(spec, loaded, selected, rows, notes))
    config = {
        "command": "bench",
        "suite": suite,
        "agents": list(agents),
        "tasks": [task.name for task in selected],
        "definitions": [task.to_dict() for task in selected],
        "repeat": "mcsf-eval bench --config DIR/config.json --out DIR (DIR: this folder)",
    }
    with folder_lock(out):
        write_outputs(cards, config, out, plot=plot)
    return cards


def add_bench_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench`` subcommand to ``mcsf-eval``."""
    parser = subparsers.add_parser(
        "bench",
        help="scorecards of agents on a benchmark suite (e.g. core-v1)",
        description=__doc__.split("\n\n", 1)[1].replace("``", "'"),
        epilog="example: mcsf-eval bench --agents mcsf mc-benchmark --suite core-v1 "
        "--out results/bench",
    )
    parser.add_argument(
        "--agents",
        nargs="+",
        default=None,
        metavar="SPEC",
        help="agent specs, space separated (mcsf, alpha-beta:alpha=0.1,beta=0.1, "
        "maskable-ppo:models/mixed-prompt)",
    )
    parser.add_argument("--suite", default=None, help="suite name or TOML file (default: core-v1)")
    parser.add_argument(
        "--tasks", nargs="+", default=None, metavar="TASK", help="tasks (default: all)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("results/bench"), metavar="DIR", help="results folder"
    )
    parser.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="a config.json of a bench run"
    )
    parser.add_argument("--fresh", action="store_true", help="ignore saved runs in OUT/runs")
    parser.add_argument("--no-plot", action="store_true", help="skip the figure")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="local worker processes (default: all CPUs; 1 runs in this process)",
    )
    parser.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="'local': a process pool (default); 'ray': Ray tasks (pip install 'mcsf-gym[ray]')",
    )
    parser.add_argument("--address", default=None, metavar="ADDR", help="Ray cluster address")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    """The ``bench`` subcommand: run, write the outputs, print the aggregate table."""
    saved: dict[str, Any] = {}
    if args.config is not None:
        if not args.config.is_file():
            raise ValueError(f"no such configuration file: {args.config}")
        saved = json.loads(args.config.read_text())
        if saved.get("command") != "bench":
            raise ValueError(f"{args.config} is not a config.json written by 'mcsf-eval bench'")
    agents = args.agents or saved.get("agents")
    if not agents:
        raise ValueError("bench needs --agents (e.g. --agents mcsf mc-benchmark) or --config")
    cards = bench(
        list(agents),
        args.suite or saved.get("suite", "core-v1"),
        args.out,
        tasks=args.tasks or saved.get("tasks"),
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        progress=not args.no_progress,
        fresh=args.fresh,
        plot=not args.no_plot,
    )
    for card in sorted(cards, key=lambda card: card.aggregate["geomean_ratio_to_best"]):
        a = card.aggregate
        print(
            f"{card.agent:>40}  TEL/best {a['geomean_ratio_to_best']:.3f}  "
            f"TEL/bound {a['geomean_ratio_to_bound']:.3f}  (geometric means over {a['tasks']} "
            "tasks)"
        )
    print(f"wrote {args.out}/scorecard.csv, scorecard.json, scorecard.md, scorecard.png")
    return 0
