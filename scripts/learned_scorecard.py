r"""The scorecard of a multi-seed training run on a suite's evaluation scenarios.

Usage::

    MCSF_GYM_DATA=<traces folder> python scripts/learned_scorecard.py \\
        --runs runs/core-v1-generalist --out results/learned/core-v1-generalist [--jobs 2]

``--runs`` holds ``seed-S/`` folders written by ``python -m training --seeds ...``. Each seed's
``best_model.zip`` (selected on validation seeds while training) runs on every evaluation
scenario of the suite through ``evaluation.evaluate`` (saved as ``scenarios-seed-S.csv`` and
reused when present); the heuristics come from the leaderboard's per-scenario table. The
shipped seed is the one with the best validation score in its ``eval.jsonl``. Writes
``tasks.csv``, ``pairs.csv``, ``seeds.csv``, ``scorecard.json``, ``scorecard.md`` and
``scorecard.png`` (see ``training.scorecard``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from evaluation.io import write_json, write_rows
from training import scorecard

ROOT = Path(__file__).resolve().parents[1]


def _evaluate_seed(job: tuple[str, str, list[str] | None, str, str]) -> str:
    """Run one seed's model on the suite's evaluation scenarios; the CSV written."""
    import torch

    from evaluation import evaluate

    torch.set_num_threads(1)
    model, suite, tasks, label, out = job
    card = evaluate(f"maskable-ppo:{model}", suite, tasks=tasks, name=label)
    return str(write_rows(card.scenarios, Path(out)))


def validation_score(run: Path) -> float:
    """The best validation score of a run (what chose its ``best_model.zip``)."""
    config = json.loads((run / "config.json").read_text())
    key = config.get("select_on", "ratio_to_mcsf")
    lines = (run / "eval.jsonl").read_text().splitlines()
    return min(json.loads(line)[key] for line in lines)


def seed_rows(runs: dict[int, Path]) -> list[dict[str, Any]]:
    """Per seed: validation score, steps, wall time and steps per second of training."""
    rows = []
    for seed, run in sorted(runs.items()):
        record = json.loads((run / "run.json").read_text())
        rows.append(
            {
                "seed": seed,
                "validation_score": validation_score(run),
                "timesteps": record["timesteps"],
                "wall_s": record["wall_s"],
                "steps_per_s": record["steps_per_s"],
            }
        )
    return rows


def ship(run: Path, model: str, folder: Path) -> None:
    """Copy a run's selected model into an agent folder (``model.zip`` and what it needs)."""
    from agents.learned import CONFIG_FILE, MODEL_FILE, NORMALIZER_FILE, normalizer_path_for

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / model, folder / MODEL_FILE)
    stats = normalizer_path_for(run / model)
    if stats.is_file():
        shutil.copyfile(stats, folder / NORMALIZER_FILE)
    for name in (CONFIG_FILE, "run.json", "eval.jsonl", "imitation.json"):
        if (run / name).is_file():
            shutil.copyfile(run / name, folder / name)
    print(f"shipped {run / model} as {folder / MODEL_FILE}")


def _pct(value: float) -> str:
    return f"{100 * value:+.1f}%"


def markdown(summary: dict[str, Any]) -> str:
    """The scorecard as Markdown (tasks, seeds, every heuristic against the shipped seed)."""
    tasks, seeds = summary["tasks"], summary["seeds"]
    runs = [row["seed"] for row in seeds]
    lines = [
        f"Shipped seed: {summary['shipped_seed']} (best validation score). Goal "
        f"({summary['goal']['rule']}): **{'met' if summary['goal']['met'] else 'not met'}** "
        f"(better on {len(summary['goal']['better_tasks'])} task(s): "
        f"{', '.join(summary['goal']['better_tasks']) or 'none'}; more than 2% worse on "
        f"{', '.join(summary['goal']['worse_tasks']) or 'none'}).",
        "",
        f"IQM over {len(runs)} seeds and {len(tasks)} tasks of the ratio to each task's best "
        f"heuristic: {summary['aggregate']['iqm_ratio']:.3f} "
        f"[{summary['aggregate']['iqm_low']:.3f}, {summary['aggregate']['iqm_high']:.3f}] "
        "(95% stratified bootstrap).",
        "",
        "| task | best heuristic | its mean latency | "
        + " | ".join(f"seed {run}" for run in runs)
        + " | IQM ratio [95%] | shipped vs best [95%] | verdict |",
        "|---|---|---:|" + "---:|" * len(runs) + "---:|---:|---|",
    ]
    for row in tasks:
        cells = " | ".join(f"{row[f'seed_{run}_mean_latency']:.4g}" for run in runs)
        lines.append(
            f"| {row['task']} | {row['best_heuristic']} | "
            f"{row['best_heuristic_mean_latency']:.4g} | {cells} | "
            f"{row['iqm_ratio_to_best_heuristic']:.3f} [{row['iqm_low']:.3f}, "
            f"{row['iqm_high']:.3f}] | {_pct(row['shipped_vs_best'])} "
            f"[{_pct(row['shipped_vs_best_low'])}, {_pct(row['shipped_vs_best_high'])}] | "
            f"{row['verdict']} |"
        )
    lines += [
        "",
        "| seed | validation score | steps | wall s | steps/s |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {row['seed']} | {row['validation_score']:.4f} | {row['timesteps']} | "
        f"{row['wall_s']:.0f} | {row['steps_per_s']:.0f} |"
        for row in seeds
    ]
    heuristics = sorted({row["heuristic"] for row in summary["pairs"]})
    lines += [
        "",
        "Shipped seed against every heuristic: mean-latency difference, paired over the "
        "evaluation scenarios, as a share of the heuristic's (negative: the policy is better).",
        "",
        "| task | " + " | ".join(heuristics) + " |",
        "|---|" + "---:|" * len(heuristics),
    ]
    by_cell = {(row["task"], row["heuristic"]): row for row in summary["pairs"]}
    for row in tasks:
        cells = [
            _pct(by_cell[row["task"], agent]["relative"])
            if (row["task"], agent) in by_cell
            else "n/a"
            for agent in heuristics
        ]
        lines.append(f"| {row['task']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(tasks: Sequence[dict[str, Any]], path: Path) -> None:
    """Bars: the shipped seed against each task's best heuristic, with paired intervals."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = [row["task"] for row in tasks]
    values = [100 * row["shipped_vs_best"] for row in tasks]
    errors = [
        [100 * (row["shipped_vs_best"] - row["shipped_vs_best_low"]) for row in tasks],
        [100 * (row["shipped_vs_best_high"] - row["shipped_vs_best"]) for row in tasks],
    ]
    figure, axes = plt.subplots(figsize=(8, 4))
    axes.barh(names, values, xerr=errors, color="tab:blue")
    for x, style in (
        (0, "-"),
        (-100 * scorecard.GOAL_BETTER, ":"),
        (100 * scorecard.GOAL_WORSE, ":"),
    ):
        axes.axvline(x, color="black", linestyle=style, linewidth=0.8)
    axes.set_xlabel("mean latency vs best heuristic of the task (%; negative: better)")
    axes.invert_yaxis()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate the seeds (or reuse their saved rows) and write the scorecard."""
    from mcsf_gym.suites import load_suite

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="folder of seed-S/ runs")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--suite", default="core-v1")
    parser.add_argument("--tasks", nargs="+", default=None, help="default: every task")
    parser.add_argument(
        "--heuristics", type=Path, default=ROOT / "results" / "leaderboard" / "scenarios.csv"
    )
    parser.add_argument("--model", default="best_model.zip", help="model file in each run")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--ship",
        type=Path,
        default=None,
        help="copy the shipped seed's model, config, run.json and training logs into this "
        "agent folder (model.zip)",
    )
    args = parser.parse_args(argv)
    runs = {
        int(path.name.removeprefix("seed-")): path
        for path in sorted(args.runs.glob("seed-*"))
        if (path / args.model).is_file()
    }
    if not runs:
        parser.error(f"no seed-S/{args.model} under {args.runs}")
    suite = load_suite(args.suite)
    selected = suite.select(args.tasks)
    names = [task.name for task in selected]
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [
        (
            str(run / args.model),
            args.suite,
            names,
            f"seed-{seed}",
            str(args.out / f"scenarios-seed-{seed}.csv"),
        )
        for seed, run in runs.items()
        if not (args.out / f"scenarios-seed-{seed}.csv").is_file()
    ]
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(jobs) or 1))) as pool:
        for written in pool.map(_evaluate_seed, jobs):
            print(f"wrote {written}", flush=True)
    models = {
        seed: scorecard.read_scenarios(str(args.out / f"scenarios-seed-{seed}.csv"))[f"seed-{seed}"]
        for seed in runs
    }
    heuristics = scorecard.read_scenarios(str(args.heuristics))
    seeds = seed_rows(runs)
    shipped = min(seeds, key=lambda row: row["validation_score"])["seed"]
    eval_seeds = {task.name: list(task.eval_seeds) for task in selected}
    tasks, pairs = scorecard.task_rows(models, heuristics, eval_seeds, shipped)
    summary = {
        "suite": args.suite,
        "runs": str(args.runs),
        "shipped_seed": shipped,
        "goal": scorecard.goal(tasks),
        "aggregate": scorecard.aggregate(models, tasks),
        "tasks": tasks,
        "seeds": seeds,
        "pairs": pairs,
    }
    write_rows(tasks, args.out / "tasks.csv")
    write_rows(pairs, args.out / "pairs.csv")
    write_rows(seeds, args.out / "seeds.csv")
    write_json(summary, args.out / "scorecard.json")
    (args.out / "scorecard.md").write_text(markdown(summary))
    plot(tasks, args.out / "scorecard.png")
    if args.ship is not None:
        ship(runs[shipped], args.model, args.ship)
    print((args.out / "scorecard.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
