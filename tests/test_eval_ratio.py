"""``mcsf-eval ratio`` and ``compare --optimum`` with the real hindsight solver, on tiny instances.

The stand-in-solver tests in test_eval_cli.py pin the harness's arithmetic; these check that
the real solver's answers pass through it consistently.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evaluation.cli import main

pytest.importorskip("ortools", reason="the hindsight solver needs mcsf-gym[solvers]")


def test_ratio_against_the_real_optimum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["ratio", "--workloads", "paper-model1:n=6", "paper-model2:n=6", "--agents", "mcsf",
         "vllm-fcfs", "--instances", "3", "--time-limit", "20", "--workers", "1",
         "--no-progress", "--out", str(tmp_path)]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert len(rows) == 2 * 3 * 2
    assert rows["proven_optimal"].all()  # six requests solve at once
    assert rows["replay_exact"].all()  # the solver's schedule replays to its value
    assert (rows["bound"] <= rows["optimum"] + 1e-6).all()
    assert (rows["ratio"] >= 1 - 1e-9).all()  # no online agent beats the optimum
    assert (rows["ratio_upper"] >= rows["ratio"] - 1e-9).all()


def test_compare_with_the_real_optimum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["compare", "--agents", "mcsf", "sf-no-lookahead", "--workload", "paper-model2:n=6",
         "--seeds", "3", "--optimum", "--time-limit", "20", "--workers", "1", "--no-progress",
         "--out", str(tmp_path)]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert rows["proven_optimal"].all()
    assert (rows["total_latency"] >= rows["optimum"] - 1e-6).all()
    assert (rows["ratio_to_optimum"] >= 1 - 1e-9).all()
