"""The learned policy's scorecard across training seeds, against every heuristic of a suite.

Every seed's selected model (``seed-S/best_model.zip``, chosen on the tasks' validation seeds
while training) runs on the suite's *evaluation* scenarios (``evaluation.evaluate``); the
heuristics' results on the same scenarios come from the leaderboard's per-scenario table
(``results/leaderboard/scenarios.csv``). Per task the scorecard gives

- each seed's mean latency and its ratio to the task's best heuristic (the heuristic with the
  lowest mean latency over the task's evaluation scenarios);
- the interquartile mean (IQM) of those ratios across seeds with a 95% percentile-bootstrap
  interval over seeds (the RL-papers reporting of Agarwal et al. 2021; ``rliable`` 1.2 needs
  ``arch < 8``, which does not import under pandas 3, so the same estimators are computed here
  with ``scipy``: ``trim_mean(x, 0.25)`` is rliable's ``aggregate_iqm``), and over all tasks
  with a stratified bootstrap (seeds resampled within each task);
- for the shipped seed (the best on validation, never chosen on evaluation), the paired
  difference of mean latency to every heuristic, scenario by scenario, with its 95% Student-t
  interval, as a share of the heuristic's mean latency;
- the goal of issue 13: at least ``GOAL_BETTER`` better than the best heuristic with the
  paired interval below zero on at least ``GOAL_TASKS`` tasks, and never more than
  ``GOAL_WORSE`` worse.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

#: Issue 13's goal: this much better than the best heuristic ...
GOAL_BETTER = 0.05
#: ... on at least this many tasks ...
GOAL_TASKS = 3
#: ... and never more than this much worse on any task.
GOAL_WORSE = 0.02
#: Bootstrap resamples of the IQM intervals.
BOOTSTRAP_REPS = 5000


def iqm(values: Sequence[float] | np.ndarray) -> float:
    """The interquartile mean: the mean of the middle half (``trim_mean(values, 0.25)``)."""
    return float(stats.trim_mean(np.asarray(values, dtype=float).ravel(), 0.25))


def iqm_interval(
    values: Sequence[float], confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """``(IQM, low, high)``: the IQM of ``values`` with a percentile-bootstrap interval.

    Equal values (or a single one) give a zero-width interval.
    """
    data = np.asarray(values, dtype=float)
    point = iqm(data)
    if data.size < 2 or np.ptp(data) == 0:
        return point, point, point
    result = stats.bootstrap(
        (data,),
        lambda sample, axis: stats.trim_mean(sample, 0.25, axis=axis),
        confidence_level=confidence,
        n_resamples=BOOTSTRAP_REPS,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return point, float(result.confidence_interval.low), float(result.confidence_interval.high)


def stratified_iqm_interval(
    scores: np.ndarray, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """``(IQM, low, high)`` of a ``(runs, tasks)`` score matrix, as rliable computes it.

    The IQM is over every entry; the interval is the percentile interval of the IQM over
    bootstrap samples that resample the runs of each task independently (stratified).
    """
    scores = np.asarray(scores, dtype=float)
    runs, tasks = scores.shape
    point = iqm(scores)
    rng = np.random.default_rng(seed)
    picks = rng.integers(runs, size=(BOOTSTRAP_REPS, runs, tasks))
    samples = np.take_along_axis(scores[None, :, :], picks, axis=1)
    values = stats.trim_mean(samples.reshape(BOOTSTRAP_REPS, -1), 0.25, axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return point, float(low), float(high)


@dataclass(frozen=True)
class Paired:
    """A paired comparison of a model with a baseline over the same scenarios.

    Attributes:
        model_mean: the model's mean of per-scenario mean latencies.
        baseline_mean: the baseline's.
        relative: ``(model - baseline) / baseline`` (negative: the model is better).
        low: lower end of the 95% Student-t interval of the mean difference, relative.
        high: its upper end, relative.
        n: scenarios paired.
    """

    model_mean: float
    baseline_mean: float
    relative: float
    low: float
    high: float
    n: int


def paired(model: Mapping[int, float], baseline: Mapping[int, float]) -> Paired:
    """Pair two ``{scenario seed: mean latency}`` maps over the same seeds.

    Raises:
        ValueError: if the seeds differ (the comparison would not be paired).
    """
    from evaluation.stats import mean_ci

    if set(model) != set(baseline):
        missing = sorted(set(model) ^ set(baseline))[:5]
        raise ValueError(f"model and baseline were not run on the same scenarios: {missing}")
    seeds = sorted(model)
    m = np.array([model[s] for s in seeds])
    b = np.array([baseline[s] for s in seeds])
    mean, low, high = mean_ci(m - b) if len(seeds) > 1 else (float(m[0] - b[0]),) * 3
    scale = float(b.mean())
    return Paired(float(m.mean()), scale, mean / scale, low / scale, high / scale, len(seeds))


def verdict(comparison: Paired) -> str:
    """How a paired comparison stands against the goal: ``"better"``, ``"worse"`` or ``"within"``.

    ``"better"``: at least ``GOAL_BETTER`` better with the interval below zero; ``"worse"``:
    more than ``GOAL_WORSE`` worse.
    """
    if comparison.relative <= -GOAL_BETTER and comparison.high < 0:
        return "better"
    if comparison.relative > GOAL_WORSE:
        return "worse"
    return "within"


def read_scenarios(path: str, agents: Sequence[str] | None = None) -> dict[str, dict[str, dict]]:
    """``{agent: {task: {seed: mean latency}}}`` from a per-scenario CSV (``evaluation`` rows)."""
    table: dict[str, dict[str, dict[int, float]]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if agents is not None and row["agent"] not in agents:
                continue
            by_task = table.setdefault(row["agent"], {}).setdefault(row["task"], {})
            by_task[int(row["seed"])] = float(row["mean_latency"])
    return table


def best_heuristic(
    heuristics: Mapping[str, Mapping[str, Mapping[int, float]]], task: str, seeds: Sequence[int]
) -> str:
    """The heuristic with the lowest mean latency on ``task`` among those run on all ``seeds``.

    Raises:
        ValueError: if none was run on every seed of the task.
    """
    complete = {
        agent: float(np.mean([tasks[task][s] for s in seeds]))
        for agent, tasks in heuristics.items()
        if task in tasks and set(seeds) <= set(tasks[task])
    }
    if not complete:
        raise ValueError(f"no heuristic has results on every evaluation scenario of {task}")
    return min(sorted(complete), key=complete.__getitem__)


def task_rows(
    models: Mapping[int, Mapping[str, Mapping[int, float]]],
    heuristics: Mapping[str, Mapping[str, Mapping[int, float]]],
    eval_seeds: Mapping[str, Sequence[int]],
    shipped: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The per-task summary rows and the shipped model's rows against every heuristic.

    Args:
        models: ``{training seed: {task: {scenario seed: mean latency}}}``.
        heuristics: ``{agent: {task: {scenario seed: mean latency}}}``.
        eval_seeds: the evaluation seeds of every task.
        shipped: the training seed of the shipped model.
    """
    summaries, pairs = [], []
    for task, seeds in eval_seeds.items():
        best = best_heuristic(heuristics, task, seeds)
        best_mean = float(np.mean([heuristics[best][task][s] for s in seeds]))
        seed_means = {
            run: float(np.mean([models[run][task][s] for s in seeds])) for run in sorted(models)
        }
        ratio, low, high = iqm_interval([m / best_mean for m in seed_means.values()])
        ship = paired(
            {s: models[shipped][task][s] for s in seeds},
            {s: heuristics[best][task][s] for s in seeds},
        )
        summaries.append(
            {
                "task": task,
                "scenarios": len(seeds),
                "best_heuristic": best,
                "best_heuristic_mean_latency": best_mean,
                **{f"seed_{run}_mean_latency": mean for run, mean in seed_means.items()},
                "iqm_ratio_to_best_heuristic": ratio,
                "iqm_low": low,
                "iqm_high": high,
                "shipped_seed": shipped,
                "shipped_mean_latency": ship.model_mean,
                "shipped_vs_best": ship.relative,
                "shipped_vs_best_low": ship.low,
                "shipped_vs_best_high": ship.high,
                "verdict": verdict(ship),
            }
        )
        for agent in sorted(heuristics):
            if task not in heuristics[agent] or not set(seeds) <= set(heuristics[agent][task]):
                continue
            comparison = paired(
                {s: models[shipped][task][s] for s in seeds},
                {s: heuristics[agent][task][s] for s in seeds},
            )
            pairs.append(
                {
                    "task": task,
                    "heuristic": agent,
                    "heuristic_mean_latency": comparison.baseline_mean,
                    "model_mean_latency": comparison.model_mean,
                    "relative": comparison.relative,
                    "low": comparison.low,
                    "high": comparison.high,
                }
            )
    return summaries, pairs


def goal(summaries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Whether issue 13's goal holds for the shipped model (see the module docstring)."""
    better = [row["task"] for row in summaries if row["verdict"] == "better"]
    worse = [row["task"] for row in summaries if row["verdict"] == "worse"]
    return {
        "better_tasks": better,
        "worse_tasks": worse,
        "met": len(better) >= GOAL_TASKS and not worse,
        "rule": (
            f">= {GOAL_BETTER:.0%} better than the task's best heuristic (paired 95% interval "
            f"below zero) on >= {GOAL_TASKS} tasks, never > {GOAL_WORSE:.0%} worse"
        ),
    }


def aggregate(
    models: Mapping[int, Mapping[str, Mapping[int, float]]],
    summaries: Sequence[Mapping[str, Any]],
) -> dict[str, float]:
    """IQM over seeds and tasks of the ratio to each task's best heuristic (stratified)."""
    runs = sorted(models)
    scores = np.array(
        [
            [
                row[f"seed_{run}_mean_latency"] / row["best_heuristic_mean_latency"]
                for row in summaries
            ]
            for run in runs
        ]
    )
    point, low, high = stratified_iqm_interval(scores)
    geomean = float(np.exp(np.log(scores).mean(axis=1)).mean()) if scores.size else math.nan
    return {"iqm_ratio": point, "iqm_low": low, "iqm_high": high, "mean_seed_geomean": geomean}
