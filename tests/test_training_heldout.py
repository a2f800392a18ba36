"""The held-out report: paired table, and the competitive ratio against the hindsight optimum."""

import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from training.heldout import build_parser, main, markdown, paired_table

WORKLOAD = "paper-model2:n=6"
SEEDS = (20_000, 20_001, 20_002)
TIME_LIMIT = 5.0
AGENTS = ["mcsf", "mc-benchmark"]
if importlib.util.find_spec("sb3_contrib") is not None:
    # The shipped model, found from this file (the tests may run from any working directory).
    AGENTS.insert(0, f"maskable-ppo:{Path(__file__).resolve().parents[1] / 'models/mixed-prompt'}")
LINEAR = "heavy-tail:n=10"


@pytest.fixture(scope="module")
def solved() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Comparison rows with the optimum, and the paired table built from them."""
    from evaluation.compare import CompareConfig, compare

    config = CompareConfig(
        agents=tuple(AGENTS), workload=WORKLOAD, seeds=SEEDS, optimum_time_limit=TIME_LIMIT
    )
    rows = compare(config, workers=1, progress=False).rows
    return rows, paired_table(rows, AGENTS, "mcsf")


def test_optimum_ratios_bracket_the_true_ratio(solved: tuple[list, list]) -> None:
    rows, table = solved
    assert [entry["agent"] for entry in table] == AGENTS
    for row in rows:
        assert row["ratio_to_bound"] >= row["ratio_to_optimum"] - 1e-12
        assert row["ratio_to_optimum"] >= 1 - 1e-9
    proven = {entry["proven_optimal"] for entry in table}
    assert len(proven) == 1  # a property of the scenarios, the same for every agent
    for entry in table:
        assert entry["ratio_to_bound"] >= entry["ratio_to_optimum"] >= 1 - 1e-9
        assert 0 <= entry["proven_optimal"] <= len(SEEDS)
        for key in ("ratio_to_optimum", "ratio_to_bound"):
            mine = [row[key] for row in rows if row["agent"] == entry["agent"]]
            assert entry[key] == pytest.approx(np.mean(mine))
            assert entry[f"{key}_low"] <= entry[key] <= entry[f"{key}_high"]
            assert entry[f"{key}_scenarios"] == len(SEEDS)


def test_mcsf_never_beats_the_best_schedule_found(solved: tuple[list, list]) -> None:
    # The solver starts from MC-SF's schedule, so its best schedule is never worse.
    rows, _ = solved
    for row in rows:
        if row["agent"] == "mcsf":
            assert row["total_latency"] >= row["optimum"] - 1e-9
            assert row["optimum"] >= row["bound"] - 1e-9


def test_paired_table_optimum_columns_by_hand() -> None:
    def row(agent: str, seed: int, latency: float, to_opt: float, to_bound: float) -> dict:
        return {
            "agent": agent,
            "seed": seed,
            "mean_latency": latency,
            "ratio_to_optimum": to_opt,
            "ratio_to_bound": to_bound,
            "proven_optimal": seed == 1,
        }

    rows = [
        row("mcsf", 1, 10.0, 1.0, 1.0),
        row("mcsf", 2, 20.0, 1.0, 1.25),
        row("mcsf", 3, 30.0, 1.0, 1.5),
        row("x", 1, 12.0, 1.2, 1.2),
        row("x", 2, 22.0, 1.1, 1.375),
        row("x", 3, 33.0, math.nan, 1.65),
    ]
    x, base = paired_table(rows, ["x", "mcsf"], "mcsf")
    assert x["ratio_to_optimum"] == pytest.approx(1.15)
    assert x["ratio_to_optimum_scenarios"] == 2  # the scenario without a schedule is left out
    assert x["ratio_to_bound"] == pytest.approx((1.2 + 1.375 + 1.65) / 3)
    assert x["ratio_to_bound_scenarios"] == 3
    assert base["ratio_to_bound"] == pytest.approx(1.25)
    assert x["proven_optimal"] == base["proven_optimal"] == 1
    text = markdown([x, base], "mcsf")
    assert "1.150 [" in text and "(over 2 scenarios)" in text and "| 1/3 |" in text


def test_table_without_optimum_is_unchanged() -> None:
    rows = [
        {"agent": "mcsf", "seed": 1, "mean_latency": 10.0},
        {"agent": "mcsf", "seed": 2, "mean_latency": 20.0},
        {"agent": "x", "seed": 1, "mean_latency": 9.0},
        {"agent": "x", "seed": 2, "mean_latency": 17.0},
    ]
    table = paired_table(rows, ["x", "mcsf"], "mcsf")
    assert not any("ratio_to_optimum" in entry or "proven_optimal" in entry for entry in table)
    lines = markdown(table, "mcsf").splitlines()
    assert lines[0] == (
        "| agent | mean latency [95% CI] | difference to mcsf [95% CI] | difference / mcsf | "
        "ratio of means | mean per-scenario ratio [95% CI] |"
    )
    assert lines[1] == "|---|---|---|---|---|---|"
    assert lines[2].startswith("| `x` | 13.000 [") and lines[2].count("|") == 7


def test_cli_prints_optimum_columns(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--agents", "mcsf", "mc-benchmark", "--workload", WORKLOAD, "--seeds", "2"]
    argv += ["--seed", "20000", "--workers", "1", "--optimum-time-limit", "5"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "ratio to best schedule found [95% CI]" in lines[0]
    assert "ratio to proven bound (upper bound on the true ratio) [95% CI]" in lines[0]
    assert lines[0].endswith("| proven optimal |")
    assert [line.split("|")[1].strip() for line in lines[2:4]] == ["`mcsf`", "`mc-benchmark`"]
    assert all(line.count("|") == 10 for line in lines[:4])
    assert lines[4] == "" and "upper bound on the true ratio" in lines[5]


def test_cli_rejects_optimum_on_linear_workload(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--agents", "mcsf", "--workload", LINEAR, "--seeds", "2", "--workers", "1"]
    assert main([*argv, "--optimum-time-limit", "5"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    error = captured.err.strip()
    assert len(error.splitlines()) == 1
    assert "not defined (linear time)" in error and repr(LINEAR) in error
    assert "time model 'linear'" in error


def test_cli_rejects_bad_optimum_time_limit(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--agents", "mcsf", "--workload", WORKLOAD, "--seeds", "2", "--workers", "1"]
    assert main([*argv, "--optimum-time-limit", "0"]) == 2
    assert "optimum_time_limit must be positive, got 0" in capsys.readouterr().err
    assert main([*argv, "--optimum-time-limit", "5", "--threads", "0"]) == 2
    assert "threads must be >= 1, got 0" in capsys.readouterr().err


def test_every_option_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for action in parser._actions:
        assert action.help, f"{action.option_strings} has no help text"
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    text = capsys.readouterr().out
    assert "--optimum-time-limit SECONDS" in text and "--threads" in text
