"""The scorecard: evaluate() on every kind of policy, mcsf-eval bench, bad input, yardsticks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from agents import MCSF, run_agent
from evaluation import evaluate
from evaluation.bench_reference import default_agents
from evaluation.cli import main
from mcsf_gym.suites import load_reference, load_suite

SMALL = ["heavy-prompt-v1", "lmsys-rate50-v1"]
SUITE = load_suite("core-v1")


def test_mcsf_scorecard_columns_and_ratio_to_itself() -> None:
    card = evaluate("mcsf", tasks=["heavy-prompt-v1"])
    row = card["heavy-prompt-v1"]
    assert row["scenarios"] == 50
    assert row["ratio_to_mcsf"] == 1.0
    keys = ("mean_latency", "p50_latency", "p99_latency", "ttft_mean",
            "throughput_tokens_per_s", "evictions", "ratio_to_best", "ratio_to_bound")  # fmt: skip
    for key in keys:
        assert np.isfinite(row[key]), key
    # the competitive-ratio interval: best known <= TEL and bound <= best known
    assert 1.0 <= row["ratio_to_best"] <= row["ratio_to_bound"]
    assert card.aggregate["geomean_ratio_to_best"] == pytest.approx(row["ratio_to_best"])


def test_scenario_rows_are_hand_checkable() -> None:
    card = evaluate("mc-benchmark", tasks=["heavy-prompt-v1"])
    task = SUITE.task("heavy-prompt-v1")
    reference = load_reference(task)
    row = card.scenarios[0]
    scenario = task.scenario(row["seed"])
    result = run_agent(scenario.instance, "mc-benchmark", memory=scenario.memory,
                       time_model="linear", seed=row["seed"])  # fmt: skip
    assert row["total_latency"] == result.total_latency
    record = reference[row["seed"]]
    assert row["ratio_to_best"] == result.total_latency / record.best_known
    assert row["ratio_to_mcsf"] == result.total_latency / record.values["mcsf"]
    summary = card["heavy-prompt-v1"]
    ratios = [r["ratio_to_mcsf"] for r in card.scenarios]
    assert summary["ratio_to_mcsf"] == pytest.approx(np.mean(ratios))
    assert summary["ratio_to_mcsf_low"] < summary["ratio_to_mcsf"] < summary["ratio_to_mcsf_high"]


def test_agent_object_and_callable_policy() -> None:
    by_object = evaluate(MCSF(), tasks=["heavy-prompt-v1"], name="mcsf-object")
    assert by_object.agent == "mcsf-object"
    assert by_object["heavy-prompt-v1"]["ratio_to_mcsf"] == 1.0

    def first_fitting(observation: object, mask: np.ndarray) -> int:  # MC-SF in admit mode
        return 0 if mask[0] else len(mask) - 1

    card = evaluate(first_fitting, tasks=["heavy-prompt-v1"])
    assert card.agent == "first_fitting"
    assert np.isfinite(card["heavy-prompt-v1"]["ratio_to_best"])


class _FakeModel:
    """An object shaped like an SB3 model, trained with another window."""

    observation_space = spaces.Box(-np.inf, np.inf, shape=(7,), dtype=np.float32)
    action_space = spaces.Discrete(5)

    def predict(self, observation: object, **kwargs: object) -> tuple[int, None]:
        return 0, None


def test_mismatched_policy_space_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"does not fit suite 'core-v1'.*observation shape"):
        evaluate(_FakeModel(), tasks=["heavy-prompt-v1"])


def test_bad_input_errors() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        evaluate("mcsf", tasks=["nope-v1"])
    with pytest.raises(ValueError, match="unknown suite"):
        evaluate("mcsf", suite="core-v9")
    with pytest.raises(ValueError, match="unknown agent"):
        evaluate("mcfs")
    with pytest.raises(ValueError, match="policy must be"):
        evaluate(42)


def _files(folder: Path) -> dict[str, bytes]:
    names = ("scorecard.csv", "scenarios.csv", "scorecard.json", "scorecard.md", "config.json")
    return {name: (folder / name).read_bytes() for name in names}


def test_bench_cli_outputs_resume_and_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bench", "--agents", "mcsf", "mc-benchmark", "--tasks", *SMALL, "--no-progress",
            "--workers", "1"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert "TEL/best" in capsys.readouterr().out
    first = _files(tmp_path / "a")
    assert (tmp_path / "a" / "scorecard.png").stat().st_size > 1000
    assert b"[TEL / best, TEL / bound]" in first["scorecard.md"]
    # a fresh run elsewhere gives byte-identical files
    assert main([*args, "--out", str(tmp_path / "b"), "--no-plot"]) == 0
    assert _files(tmp_path / "b") == first
    # resuming reuses the saved runs (not rewritten) ...
    saved = tmp_path / "a" / "runs" / "mcsf" / "heavy-prompt-v1.json"
    before = saved.stat().st_mtime_ns
    assert main([*args, "--out", str(tmp_path / "a"), "--no-plot"]) == 0
    assert saved.stat().st_mtime_ns == before
    # ... and the saved config repeats the run
    config = tmp_path / "a" / "config.json"
    assert main(["bench", "--config", str(config), "--out", str(tmp_path / "c"),
                 "--no-progress", "--no-plot", "--workers", "1"]) == 0  # fmt: skip
    assert _files(tmp_path / "c") == first


def test_bench_cli_bad_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--agents", "mcsf", "--tasks", "nope-v1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcsf-eval: error: unknown task 'nope-v1'") and err.count("\n") == 1
    assert main(["bench", "--no-progress"]) == 2
    assert "needs --agents" in capsys.readouterr().err


def test_bench_cli_missing_trace_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mcsf_gym import datasets

    monkeypatch.setenv("MCSF_GYM_DATA", str(tmp_path))

    def offline(*args: object, **kwargs: object) -> None:
        raise datasets.urllib.error.URLError("no network")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", offline)
    status = main(["bench", "--agents", "mcsf", "--tasks", "azure-code-v1", "--no-progress",
                   "--out", str(tmp_path / "out")])  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err
    assert "dataset 'azure-code-2023'" in err and "curl -L -o" in err and err.count("\n") == 1


def _check_bounds(tasks: list, agents: list[str], seeds: int | None) -> None:
    for task in tasks:
        reference = load_reference(task)
        for seed in task.eval_seeds[:seeds]:
            scenario = task.scenario(seed)
            record = reference[seed]
            for spec in agents:
                try:
                    result = run_agent(scenario.instance, spec, memory=scenario.memory,
                                       time_model=task.time_model, eviction=task.eviction,
                                       seed=seed)  # fmt: skip
                except ValueError as error:  # interval-aware agents refuse other predictions
                    assert "interval" in str(error), (task.name, spec, error)
                    continue
                assert record.bound <= result.total_latency * (1 + 1e-12), (task.name, seed, spec)
                assert record.best_known <= result.total_latency * (1 + 1e-9) or (
                    spec not in record.values
                ), (task.name, seed, spec)


@pytest.mark.skipif(not os.environ.get("MCSF_GYM_DATA"), reason="shared trace data not present")
def test_every_bound_below_every_agent_on_a_subset() -> None:
    tasks = ["paper-model2-v1", "heavy-prompt-v1", "lmsys-interval-v1"]
    _check_bounds([SUITE.task(name) for name in tasks], default_agents(), seeds=1)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("MCSF_GYM_DATA"), reason="shared trace data not present")
def test_every_bound_below_every_agent_on_every_scenario() -> None:
    _check_bounds(list(SUITE.tasks), default_agents(), seeds=None)
