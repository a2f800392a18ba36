"""Summaries, intervals and configurations of ``compare``, pinned on hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from evaluation.compare import (
    CompareConfig,
    latency_key,
    parse_latency_key,
    summarize,
    summary_table,
)
from evaluation.io import format_number, read_config, read_rows, write_json, write_rows
from evaluation.stats import mean_ci


def test_mean_ci_by_hand() -> None:
    mean, low, high = mean_ci([1.0, 2.0, 3.0], 0.95)
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2) * sd(=1) / sqrt(3)
    assert mean == 2.0
    assert low == pytest.approx(2.0 - half) and high == pytest.approx(2.0 + half)
    single = mean_ci([5.0])
    assert single[0] == 5.0 and math.isnan(single[1]) and math.isnan(single[2])
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], 1.5)


def row(agent: str, seed: int, mean_latency: float, rate: float | None = None) -> dict:
    metrics = dict.fromkeys(
        ("p50_latency", "p99_latency", "ttft_mean", "throughput_tokens_per_s", "evictions",
         "peak_memory", "mean_memory"), 1.0,
    )  # fmt: skip
    return {"agent": agent, "seed": seed, "rate": rate, "time_model": "unit",
            "mean_latency": mean_latency, **metrics}  # fmt: skip


def test_paired_ratio_is_the_mean_of_per_seed_ratios() -> None:
    rows = [row("mcsf", 0, 10.0), row("mcsf", 1, 20.0), row("fcfs", 0, 15.0), row("fcfs", 1, 50.0)]
    summary = {entry["agent"]: entry for entry in summarize(rows, "mcsf")}
    # (15/10 + 50/20) / 2 = 2.0, not (15+50)/(10+20)
    assert summary["fcfs"]["ratio_to_mcsf"] == pytest.approx(2.0)
    assert summary["fcfs"]["mean_latency"] == pytest.approx(32.5)
    assert summary["mcsf"]["ratio_to_mcsf"] == 1.0
    half = 12.706204736174703 * 0.7071067811865476 / math.sqrt(2)  # t(0.975,1)*sd/sqrt(2)
    assert summary["fcfs"]["ratio_to_mcsf_high"] == pytest.approx(2.0 + half)
    assert summary["fcfs"]["seeds"] == 2


def test_rates_are_summarised_separately() -> None:
    rows = [row("mcsf", 0, 4.0, 1.0), row("mcsf", 0, 8.0, 2.0), row("x", 0, 6.0, 2.0)]
    summary = summarize(rows, "mcsf")
    assert [(e["rate"], e["agent"]) for e in summary] == [(1.0, "mcsf"), (2.0, "mcsf"), (2.0, "x")]
    assert summary[2]["ratio_to_mcsf"] == pytest.approx(0.75)
    table = summary_table(summary, "mcsf")
    assert "requests/round" in table and "rounds" in table
    assert "0.7500" in table


def test_compare_config_validates_and_round_trips() -> None:
    config = CompareConfig(agents=("mcsf",), workload="lmsys", seeds=(1, 2), rates=(5.0,))
    assert CompareConfig.from_dict(config.to_dict()) == config
    assert config.all_agents == ("mcsf",)
    assert CompareConfig(("x",), "lmsys", (0,)).all_agents == ("x", "mcsf")
    assert len(config.jobs()) == 2
    for bad, match in (
        ({"seeds": ()}, "seeds"),
        ({"seeds": (1, 1)}, "distinct"),
        ({"rates": (0.0,)}, "positive"),
        ({"confidence": 1.0}, "confidence"),
        ({"optimum_time_limit": -1.0}, "optimum_time_limit"),
        ({"agents": ()}, "agents"),
    ):
        with pytest.raises(ValueError, match=match):
            CompareConfig(**{**config.to_dict(), **bad})
    with pytest.raises(ValueError, match="unknown compare configuration keys"):
        CompareConfig.from_dict({**config.to_dict(), "agent": "mcsf"})


def test_latency_keys_survive_specs_with_punctuation() -> None:
    key = latency_key("ppo:models/a=b,c.zip", 2.5, 3)
    assert parse_latency_key(key) == ("ppo:models/a=b,c.zip", 2.5, 3)
    assert parse_latency_key(latency_key("mcsf", None, 0)) == ("mcsf", None, 0)


def test_rows_round_trip_through_csv(tmp_path: Path) -> None:
    rows = [{"agent": "mcsf", "value": 1.5, "flag": True, "missing": math.nan, "n": 3}]
    path = write_rows(rows, tmp_path / "rows", "csv")
    assert path.name == "rows.csv"
    back = read_rows(path)
    assert back == [{"agent": "mcsf", "value": 1.5, "flag": True, "missing": None, "n": 3}]
    with pytest.raises(ValueError, match="unknown format"):
        write_rows(rows, tmp_path / "rows", "xlsx")


def test_read_config_checks_the_command(tmp_path: Path) -> None:
    path = write_json({"command": "ratio", "config": {"seeds": [1]}}, tmp_path / "summary.json")
    assert read_config(path, "ratio") == {"seeds": [1]}
    with pytest.raises(ValueError, match="'mcsf-eval ratio', not 'mcsf-eval compare'"):
        read_config(path, "compare")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_config(broken, "compare")


def test_numbers_in_tables() -> None:
    assert format_number(16492.0) == "16492"
    assert format_number(1.23456) == "1.235"
    assert format_number(None) == ""
    assert format_number(np.float64(0.5)) == "0.5"
