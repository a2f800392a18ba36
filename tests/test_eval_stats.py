"""Intervals of non-negative quantities stay non-negative; throughput is labelled in its unit."""

import math

import pytest

pytest.importorskip("scipy")

from evaluation.compare import summarize, summary_table
from evaluation.stats import mean_ci


def test_lower_end_raised_to_the_minimum():
    skewed = [0, 0, 0, 0, 92]  # mean 18.4, half-width about 51: the plain interval goes negative
    mean, low, high = mean_ci(skewed)
    assert low < 0
    clipped = mean_ci(skewed, minimum=0.0)
    assert clipped == (mean, 0.0, high)
    assert mean_ci([5.0, 6.0, 7.0], minimum=0.0) == mean_ci([5.0, 6.0, 7.0])  # no effect
    assert math.isnan(mean_ci([3.0], minimum=0.0)[1])


def _rows(time_model):
    rows = []
    for seed, evictions in enumerate([0, 0, 0, 0, 92]):
        for agent in ("mcsf", "other"):
            rows.append(
                {
                    "agent": agent, "seed": seed, "rate": None, "time_model": time_model,
                    "mean_latency": 10.0 + seed, "p50_latency": 9.0, "p99_latency": 20.0,
                    "ttft_mean": 1.0, "throughput_tokens_per_s": 3.0, "evictions": evictions,
                    "tokens_discarded": 0, "peak_memory": 7, "mean_memory": 5.0, "rounds": 30,
                }
            )  # fmt: skip
    return rows


def test_summaries_never_report_negative_lower_ends():
    summary = summarize(_rows("unit"), "mcsf")
    for entry in summary:
        assert entry["evictions"] == pytest.approx(18.4)
        lows = [value for key, value in entry.items() if key.endswith("_low")]
        assert lows and all(low >= 0 for low in lows)


def test_throughput_label_follows_the_time_model():
    unit = summary_table(summarize(_rows("unit"), "mcsf"), "mcsf")
    assert "tokens/round" in unit and "tokens/s" not in unit
    linear = summary_table(summarize(_rows("linear"), "mcsf"), "mcsf")
    assert "tokens/s" in linear and "tokens/round" not in linear
