"""The scorecard: any scheduler on every task of a suite, against the suite's yardsticks.

``evaluate(policy, suite="core-v1")`` runs ``policy`` on every evaluation scenario of every
task (through :func:`agents.run_agent`, under the task's predictions and eviction policy,
seeded with the scenario's seed) and compares it with the reference data committed with the
suite, so no solver runs. Per task the scorecard holds the means over scenarios of the mean,
p50 and p99 latency, the mean time to first token, throughput and evictions; the paired ratio
of total latency to MC-SF's (mean and 95% Student-t interval over scenarios); and the
competitive-ratio interval ``[TEL / best known, TEL / bound]`` (means over scenarios): the
first is a lower estimate of the true competitive ratio (the best known schedule may not be
optimal), the second an upper bound on it (the bound is proven). The suite aggregate is the
geometric mean over tasks of the task's mean ``TEL / best known`` (``docs/benchmark.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluation.stats import mean_ci
from mcsf_gym.suites import Suite, Task, TaskReference, load_reference, load_suite

#: Per-scenario metrics taken from the simulator (means over scenarios in the scorecard).
METRICS = (
    "mean_latency",
    "p50_latency",
    "p99_latency",
    "ttft_mean",
    "throughput_tokens_per_s",
    "evictions",
)
#: The baseline of the paired ratio.
BASELINE = "mcsf"


@dataclass
class Scorecard:
    """The scorecard of one policy on one suite.

    Attributes:
        agent: the policy's label.
        suite: the suite name.
        tasks: one row per task (see the module docstring for the columns).
        aggregate: ``tasks``, ``scenarios`` and ``geomean_ratio_to_best`` /
            ``geomean_ratio_to_bound`` over tasks.
        scenarios: one row per (task, scenario).
    """

    agent: str
    suite: str
    tasks: list[dict[str, Any]]
    aggregate: dict[str, Any]
    scenarios: list[dict[str, Any]] = field(default_factory=list)

    def __getitem__(self, task: str) -> dict[str, Any]:
        for row in self.tasks:
            if row["task"] == task:
                return row
        raise KeyError(task)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "agent": self.agent,
            "suite": self.suite,
            "aggregate": self.aggregate,
            "tasks": self.tasks,
        }


class NotApplicable(ValueError):
    """A policy refuses a task's scenarios (e.g. an interval-aware agent without intervals)."""


def _is_sb3_model(policy: Any) -> bool:
    return hasattr(policy, "predict") and hasattr(policy, "observation_space")


def resolve_policy(policy: Any, suite: Suite, name: str | None = None) -> tuple[str, Any]:
    """``(label, scheduler or spec)`` for a registry spec, agent, SB3 model or callable.

    A spec string is checked by building it and returned as the string (so it can travel to
    worker processes). An SB3 model or a ``callable(observation, mask)`` becomes a
    :class:`~mcsf_gym.env.policy.PolicyScheduler` with the suite's environment settings
    (``Suite.env``); an SB3 model's spaces must be those of these settings.

    Raises:
        ValueError: for an unknown spec, or a model whose observation or action space does
            not match the suite's environment (one line naming both and the likely setting).
    """
    from agents import make_agent

    if isinstance(policy, str):
        make_agent(policy)
        return name or policy, policy
    if hasattr(policy, "schedule") and hasattr(policy, "reset"):
        return name or getattr(policy, "name", type(policy).__name__), policy
    from mcsf_gym.env.policy import PolicyScheduler

    if _is_sb3_model(policy):
        from agents.learned import ModelPolicy

        masked = type(policy).__name__.startswith("Maskable")
        scheduler = PolicyScheduler(ModelPolicy(policy, masked=masked), suite.env)
        try:
            scheduler.check_spaces(policy.observation_space, policy.action_space)
        except ValueError as error:
            raise ValueError(
                f"the policy does not fit suite {suite.name!r}'s environment "
                f"(env settings {suite.env}): {error}"
            ) from None
        return name or type(policy).__name__, scheduler
    if callable(policy):
        return name or getattr(policy, "__name__", "policy"), PolicyScheduler(policy, suite.env)
    raise ValueError(
        "policy must be an agent spec (e.g. 'mcsf'), a scheduler with reset/schedule, an SB3 "
        f"model or a callable(observation, mask), got {policy!r}"
    )


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def run_task(
    task: Task,
    agent: Any,
    reference: TaskReference,
    label: str,
    seeds: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """One row per evaluation scenario of ``task``: metrics and ratios to the yardsticks.

    Args:
        task: the task.
        agent: an agent spec or scheduler object.
        reference: the task's reference data.
        label: the agent's name in the rows.
        seeds: a subset of the evaluation seeds (default: all).
    """
    from agents import make_agent, run_agent

    agent = make_agent(agent)  # built once (a learned model loads once); reset per scenario
    rows = []
    for seed in task.eval_seeds if seeds is None else seeds:
        scenario = task.scenario(seed)
        try:
            result = run_agent(
                scenario.instance,
                agent,
                memory=scenario.memory,
                time_model=task.time_model,
                eviction=task.eviction,
                seed=seed,
            )
        except ValueError as error:
            raise NotApplicable(f"{label} on {task.name}: {error}") from error
        record = reference[seed]
        value = result.total_latency
        rows.append(
            {
                "task": task.name,
                "seed": seed,
                "agent": label,
                "n": scenario.instance.n,
                "total_latency": value,
                **{metric: float(result.metrics[metric]) for metric in METRICS},
                f"ratio_to_{BASELINE}": _ratio(value, record.values[BASELINE]),
                "ratio_to_best": _ratio(value, record.best_known),
                "ratio_to_bound": _ratio(value, record.bound),
            }
        )
    return rows


def summarize_task(
    task: Task, rows: Sequence[dict[str, Any]], label: str, note: str = ""
) -> dict[str, Any]:
    """The scorecard row of one task from its scenario rows (NaN and ``note`` when none)."""
    entry: dict[str, Any] = {
        "task": task.name,
        "agent": label,
        "time_model": task.time_model,
        "scenarios": len(rows),
        "note": note,
    }
    if not rows:
        for key in (*METRICS, f"ratio_to_{BASELINE}", f"ratio_to_{BASELINE}_low",
                    f"ratio_to_{BASELINE}_high", "ratio_to_best", "ratio_to_bound",
                    "worst_ratio_to_best"):  # fmt: skip
            entry[key] = math.nan
        return entry
    for metric in METRICS:
        entry[metric] = float(np.mean([row[metric] for row in rows]))
    key = f"ratio_to_{BASELINE}"
    ratios = [row[key] for row in rows]
    if np.allclose(ratios, ratios[0], rtol=0, atol=1e-12):
        entry[key], entry[f"{key}_low"], entry[f"{key}_high"] = ratios[0], ratios[0], ratios[0]
    else:
        entry[key], entry[f"{key}_low"], entry[f"{key}_high"] = mean_ci(ratios, 0.95)
    entry["ratio_to_best"] = float(np.mean([row["ratio_to_best"] for row in rows]))
    entry["ratio_to_bound"] = float(np.mean([row["ratio_to_bound"] for row in rows]))
    entry["worst_ratio_to_best"] = float(np.max([row["ratio_to_best"] for row in rows]))
    return entry


def aggregate(tasks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The suite aggregate: geometric means over tasks of the mean ratios to best and bound.

    Tasks the policy does not apply to (no scenario rows) are left out and counted in
    ``not_applicable``; aggregates over different task sets are not comparable.
    """
    scored = [row for row in tasks if row["scenarios"]]

    def geomean(key: str) -> float:
        if not scored:
            return math.nan
        return float(np.exp(np.mean(np.log([row[key] for row in scored]))))

    return {
        "tasks": len(scored),
        "not_applicable": len(tasks) - len(scored),
        "scenarios": int(sum(row["scenarios"] for row in scored)),
        "geomean_ratio_to_best": geomean("ratio_to_best"),
        "geomean_ratio_to_bound": geomean("ratio_to_bound"),
        f"geomean_ratio_to_{BASELINE}": geomean(f"ratio_to_{BASELINE}"),
    }


def build_scorecard(
    label: str,
    suite: Suite,
    tasks: Sequence[Task],
    rows_by_task: dict[str, list[dict[str, Any]]],
    notes: dict[str, str] | None = None,
) -> Scorecard:
    """A :class:`Scorecard` from the scenario rows of every task (``notes``: why none)."""
    notes = notes or {}
    summaries = [
        summarize_task(task, rows_by_task[task.name], label, notes.get(task.name, ""))
        for task in tasks
    ]
    scenarios = [row for task in tasks for row in rows_by_task[task.name]]
    return Scorecard(label, suite.name, summaries, aggregate(summaries), scenarios)


def evaluate(
    policy: Any,
    suite: str = "core-v1",
    *,
    tasks: Sequence[str] | None = None,
    name: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Scorecard:
    """The scorecard of ``policy`` on ``suite`` (see the module docstring).

    Args:
        policy: an agent spec (``"mcsf"``, ``"maskable-ppo:models/mixed-prompt"``), a scheduler
            object, an SB3 model, or a ``callable(observation, mask) -> action`` (the last two
            with the suite's environment settings).
        suite: a suite name or a suite TOML file.
        tasks: task names (default: every task of the suite).
        name: the policy's label in the scorecard.
        progress: called with each task's name before it runs.

    Returns:
        The :class:`Scorecard`. A task whose scenarios the policy refuses with a
        ``ValueError`` (an interval-aware agent without interval predictions) gets a row of
        NaN with the reason in ``note`` and is left out of the aggregate.

    Raises:
        ValueError: for an unknown suite or task, a bad policy, a policy whose spaces do not
            fit the suite, or missing reference data.
        FileNotFoundError: for a missing trace file (saying how to get it).

    Example:
        >>> card = evaluate("mcsf", tasks=["heavy-prompt-v1"])
        >>> round(card["heavy-prompt-v1"]["ratio_to_mcsf"], 3)
        1.0
    """
    loaded = load_suite(suite)
    selected = loaded.select(tasks)
    label, agent = resolve_policy(policy, loaded, name)
    references = {task.name: load_reference(task) for task in selected}
    rows_by_task: dict[str, list[dict[str, Any]]] = {}
    notes: dict[str, str] = {}
    for task in selected:
        if progress is not None:
            progress(task.name)
        try:
            rows_by_task[task.name] = run_task(task, agent, references[task.name], label)
        except NotApplicable as error:
            rows_by_task[task.name], notes[task.name] = [], str(error)
    return build_scorecard(label, loaded, selected, rows_by_task, notes)
