"""The learned-policy scorecard's arithmetic on tiny hand-computed inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training import scorecard


def test_iqm_is_the_mean_of_the_middle_half() -> None:
    assert scorecard.iqm([1.0, 2.0, 3.0, 10.0]) == pytest.approx(2.5)
    assert scorecard.iqm([8, 1, 7, 2, 6, 3, 5, 4]) == pytest.approx(4.5)


def test_iqm_interval_brackets_the_point_and_is_empty_for_equal_values() -> None:
    point, low, high = scorecard.iqm_interval([0.9, 1.0, 1.1, 1.3])
    assert point == pytest.approx(1.05)
    assert 0.9 <= low <= point <= high <= 1.3
    assert low < high
    assert scorecard.iqm_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)


def test_stratified_interval_resamples_runs_within_tasks() -> None:
    # Every task's runs agree: no resample can change the IQM.
    scores = np.array([[1.0, 2.0, 3.0, 4.0]] * 3)
    assert scorecard.stratified_iqm_interval(scores) == pytest.approx((2.5, 2.5, 2.5))
    noisy = np.array([[1.0, 2.0], [1.2, 2.4], [0.8, 1.6]])
    point, low, high = scorecard.stratified_iqm_interval(noisy)
    assert point == pytest.approx(scorecard.iqm(noisy.ravel()))
    assert low < point < high


def test_paired_difference_and_its_student_t_interval() -> None:
    model = {0: 10.0, 1: 12.0, 2: 14.0}
    base = {0: 11.0, 1: 12.0, 2: 16.0}
    result = scorecard.paired(model, base)
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2) * sd (1) / sqrt(n)
    assert result.relative == pytest.approx(-1 / 13)
    assert result.low == pytest.approx((-1 - half) / 13)
    assert result.high == pytest.approx((-1 + half) / 13)
    assert (result.model_mean, result.baseline_mean, result.n) == (12.0, 13.0, 3)
    with pytest.raises(ValueError, match="same scenarios"):
        scorecard.paired(model, {0: 1.0, 1: 1.0, 5: 1.0})


def test_verdicts_follow_the_goal_thresholds() -> None:
    def comparison(relative: float, high: float) -> scorecard.Paired:
        return scorecard.Paired(1.0, 1.0, relative, relative - 0.01, high, 30)

    assert scorecard.verdict(comparison(-0.06, -0.01)) == "better"
    assert scorecard.verdict(comparison(-0.06, 0.01)) == "within"  # interval reaches zero
    assert scorecard.verdict(comparison(-0.04, -0.01)) == "within"  # less than 5% better
    assert scorecard.verdict(comparison(0.021, 0.05)) == "worse"
    assert scorecard.verdict(comparison(0.019, 0.05)) == "within"


def _table(values: dict[str, list[float]]) -> dict[str, dict[int, float]]:
    return {task: dict(enumerate(v)) for task, v in values.items()}


def test_task_rows_pick_the_best_heuristic_and_judge_the_shipped_seed() -> None:
    heuristics = {
        "slow": _table({"a": [20, 20, 20], "b": [20, 20, 20]}),
        "fast": _table({"a": [10, 11, 12], "b": [10, 10, 10]}),
        "partial": _table({"a": [1, 1]}),  # not run on every scenario: never the best
    }
    models = {
        0: _table({"a": [8, 9.5, 10.5], "b": [10.5, 10.5, 10.5]}),
        1: _table({"a": [12, 12, 12], "b": [10, 10, 10]}),
    }
    seeds = {"a": [0, 1, 2], "b": [0, 1, 2]}
    tasks, pairs = scorecard.task_rows(models, heuristics, seeds, shipped=0)
    a, b = tasks
    assert (a["best_heuristic"], b["best_heuristic"]) == ("fast", "fast")
    assert a["seed_0_mean_latency"] == pytest.approx(28 / 3)
    assert a["shipped_vs_best"] == pytest.approx((28 / 3 - 11) / 11)
    assert a["iqm_ratio_to_best_heuristic"] == pytest.approx((28 / 33 + 12 / 11) / 2)
    assert a["verdict"] == "better"  # 15% better, every scenario better
    assert b["verdict"] == "worse"  # 5% worse
    assert {(row["task"], row["heuristic"]) for row in pairs} == {
        ("a", "fast"),
        ("a", "slow"),
        ("b", "fast"),
        ("b", "slow"),
    }
    result = scorecard.goal(tasks)
    assert result["better_tasks"] == ["a"] and result["worse_tasks"] == ["b"]
    assert not result["met"]


def test_goal_needs_three_better_tasks_and_none_worse() -> None:
    rows = [{"task": name, "verdict": "better"} for name in "abc"]
    assert scorecard.goal(rows)["met"]
    assert not scorecard.goal([*rows[:2], {"task": "c", "verdict": "within"}])["met"]
